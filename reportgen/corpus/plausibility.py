"""Plausibility over a corpus: per model, the mean AUPRC and top-k F1 (on tokens and on words) over the rows
with a human rationale, with the same Poisson bootstrap over rows as the word statistics (`aggregate`:
`replicate_weights`, seeded by row index, so a sharded run gives the same intervals), and the paired
fine-tuned − base difference with its interval (both models scored on the same rows against the same marks)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from reportgen.choices import ROLES
from reportgen.corpus.aggregate import StoredRows, replicate_weights
from reportgen.corpus.statistics import CONFIDENCE, Estimate

MEASURES = ("auprc", "auprc_random", "token_f1", "word_auprc", "word_f1")
"""The plausibility columns of each model in the stored rows (`{role}_{measure}`; `corpus.rationales` fills
them), as `results.Plausibility` names them."""
COLUMNS = ["rationale_cut"] + [f"{role}_{measure}" for role in ROLES for measure in MEASURES]
SHOWN = ("auprc", "token_f1", "word_auprc", "word_f1")
"""The measures the corpus page compares (the random reference is one, `PlausibilityStats.random`)."""


@dataclass
class MeasureStats:
    """One measure's mean per model and the mean paired difference fine-tuned − base, each with its interval."""

    base: Estimate
    finetuned: Estimate
    difference: Estimate


@dataclass
class PlausibilityStats:
    rows: int  # rows with plausibility for both models (a rationale that marks something the models saw)
    cut: float  # the mean share of those rows' rationale characters past what the models saw
    random: Estimate  # AUPRC's random reference (the marked share of the tokens), the same for both models
    measures: dict[str, MeasureStats]  # by name, SHOWN

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlausibilityStats:
        def estimate(part: dict[str, Any]) -> Estimate:
            return Estimate(part["mean"], *(float("nan") if part[k] is None else part[k] for k in ("low", "high")))

        return cls(rows=data["rows"], cut=data["cut"], random=estimate(data["random"]),
                   measures={name: MeasureStats(**{key: estimate(value) for key, value in measure.items()})
                             for name, measure in data["measures"].items()})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plausibility_stats(rows: StoredRows, selected: np.ndarray, replicates: int, seed: int) -> PlausibilityStats | None:
    """The corpus's plausibility from its stored rows of the selection; None where no row has any (no rationale
    column, or no rationale marks anything the models saw)."""
    names = [f"{role}_{measure}" for measure in SHOWN for role in ROLES] + ["base_auprc_random"]
    values: list[list[float]] = []
    weights: list[np.ndarray] = []
    cut = 0.0
    for batch in rows(["index", *COLUMNS]):
        for row in batch:
            if not selected[row["index"]] or any(row[name] is None for name in names):
                continue
            values.append([row[name] for name in names])
            weights.append(replicate_weights(seed, row["index"], replicates))
            cut += row["rationale_cut"] or 0.0
    if not values:
        return None
    table, drawn = np.asarray(values), np.asarray(weights)  # (rows, columns), (rows, replicates)
    count = drawn.sum(axis=0)
    column = {name: i for i, name in enumerate(names)}
    tail = 100 * (1 - CONFIDENCE) / 2

    def estimate(per_row: np.ndarray) -> Estimate:
        """The mean over rows and the central CONFIDENCE interval of the replicates' weighted means (a replicate
        that drew no row skipped)."""
        drawn_means = (per_row @ drawn)[count > 0] / count[count > 0]
        low, high = np.percentile(drawn_means, [tail, 100 - tail]) if drawn_means.size else (np.nan, np.nan)
        return Estimate(float(per_row.mean()), float(low), float(high))

    measures = {}
    for measure in SHOWN:
        base, finetuned = table[:, column[f"base_{measure}"]], table[:, column[f"finetuned_{measure}"]]
        measures[measure] = MeasureStats(estimate(base), estimate(finetuned), estimate(finetuned - base))
    random = estimate(table[:, column["base_auprc_random"]])
    return PlausibilityStats(rows=len(values), cut=cut / len(values), random=random, measures=measures)
