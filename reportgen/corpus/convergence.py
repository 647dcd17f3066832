"""How far integrated gradients can be trusted over a corpus: the steps each row took, and the rows that did
not converge — neither their scores' estimated error nor their attributions' sum (against F(x) − F(x′)) within
the tolerance, the rule a report flags a sample by (`MethodResult.converged`).

A corpus report averages thousands of rows, so one flag per row (as a report gives) would be lost;
instead the header states the spread of steps and how many rows missed the tolerance, per model.
The numbers come from the stored rows, so a resumed or sharded run states them for every row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from reportgen.choices import ROLES, allowed_delta
from reportgen.corpus.aggregate import StoredRows


@dataclass
class PathSummary:
    """One model's integrated-gradients paths over the selected rows."""

    tolerance: float  # what "adds up" meant: --tolerance (with fixed --steps too)
    rows: int
    fewest_steps: int
    median_steps: int
    most_steps: int
    mean_steps: float
    above_tolerance: int  # rows that did not converge: auto steps the stored `converged` (neither the scores'
    # estimated error nor the delta within tolerance); fixed steps |Σ scores − (F(x) − F(x′))| above `allowed_delta`
    worst_relative_delta: float  # the largest |delta| / max(|F(x) − F(x′)|, the floor)
    # True: the rows were judged by the rule of `choices.convergence_rule` (their scores' estimated error, or their
    # delta); False: by the delta alone (fixed steps, and corpus files written before the score error)
    on_scores: bool = False


def summarise_paths(rows: StoredRows, selected: np.ndarray, tolerance: float) -> dict[str, PathSummary]:
    """Per model: the steps its rows took and how many missed `tolerance` (one pass, memory flat in rows)."""
    columns = ["index"] + [f"{role}_{name}" for role in ROLES
                           for name in ("steps", "delta", "logit_change", "converged")]
    steps = {role: Counter() for role in ROLES}
    above = dict.fromkeys(ROLES, 0)
    worst = dict.fromkeys(ROLES, 0.0)
    on_scores = False
    for batch in rows(columns):
        for row in batch:
            if not selected[row["index"]]:
                continue
            for role in ROLES:
                delta, change = row[f"{role}_delta"], row[f"{role}_logit_change"]
                steps[role][row[f"{role}_steps"]] += 1
                converged = row.get(f"{role}_converged")  # auto steps; fixed steps: the delta
                on_scores = on_scores or converged is not None
                above[role] += not converged if converged is not None else abs(delta) > allowed_delta(change, tolerance)
                worst[role] = max(worst[role], abs(delta) / allowed_delta(change, 1.0))
    return {role: _summary(tolerance, steps[role], above[role], worst[role], on_scores) for role in ROLES}


def _summary(tolerance: float, steps: Counter, above: int, worst: float, on_scores: bool) -> PathSummary:
    rows = sum(steps.values())
    ordered = sorted(steps)
    seen, median = 0, ordered[0]
    for value in ordered:  # the lower median, from the counts
        seen += steps[value]
        if 2 * seen >= rows:
            median = value
            break
    mean = sum(value * count for value, count in steps.items()) / rows
    return PathSummary(tolerance, rows, ordered[0], median, ordered[-1], mean, above, worst, on_scores)
