"""How far LIME can be trusted over a corpus: per model, how many rows' surrogates fit poorly or could not be
measured — the rule a report's LIME note flags a sample by (`choices.LIME_FIT`, `choices.adjusted_fit`).

As for integrated gradients' convergence (`convergence.py`), a corpus averages thousands of rows, so the header
states counts per model instead of one flag per row. The numbers come from the stored rows (`{role}_fit`), so a
resumed or sharded run states them for every row; memory stays flat in the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.choices import LIME_FIT, ROLES
from reportgen.corpus.aggregate import StoredRows


@dataclass
class FitSummary:
    """One model's LIME surrogates over the selected rows."""

    threshold: float  # a fit below this is poor (choices.LIME_FIT)
    rows: int
    poor: int  # rows whose adjusted R² is below `threshold`
    not_measurable: int  # rows with fewer samples than words + 2: no adjusted R² (null in the rows)
    mean_fit: float | None  # over the measured rows; None where none was measured
    lowest_fit: float | None


def summarise_fits(rows: StoredRows, selected: np.ndarray) -> dict[str, FitSummary]:
    """Per model: how many rows' LIME fits are poor or not measurable, their mean and lowest (one pass)."""
    columns = ["index"] + [f"{role}_fit" for role in ROLES]
    counts = {role: [0, 0, 0] for role in ROLES}  # rows, poor, not measurable
    total = dict.fromkeys(ROLES, 0.0)
    lowest: dict[str, float | None] = dict.fromkeys(ROLES)
    for batch in rows(columns):
        for row in batch:
            if not selected[row["index"]]:
                continue
            for role in ROLES:
                fit, count = row[f"{role}_fit"], counts[role]
                count[0] += 1
                if fit is None:
                    count[2] += 1
                    continue
                count[1] += fit < LIME_FIT
                total[role] += fit
                lowest[role] = fit if lowest[role] is None else min(lowest[role], fit)
    summaries = {}
    for role in ROLES:
        rows_seen, poor, missing = counts[role]
        measured = rows_seen - missing
        summaries[role] = FitSummary(LIME_FIT, rows_seen, poor, missing,
                                     total[role] / measured if measured else None, lowest[role])
    return summaries
