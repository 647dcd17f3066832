"""The corpus page's plausibility section: per measure, each model's mean over the rows with a human rationale,
the paired fine-tuned − base difference, each with its bootstrap interval (`corpus.plausibility`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from reportgen.corpus.aggregate import CONFIDENCE, Estimate
from reportgen.corpus.plausibility import PlausibilityStats
from reportgen.rendering.numbers import fixed, pct, signed_figure

TITLES = {"auprc": "AUPRC (tokens)", "token_f1": "Top-k F1 (tokens)", "word_auprc": "AUPRC (words)",
          "word_f1": "Top-k F1 (words)"}


@dataclass
class MeasureRow:
    measure: str
    base: str  # "0.42 [0.38, 0.46]"
    finetuned: str
    difference: str  # "+0.05 [+0.01, +0.09]"
    clear: bool  # the difference's interval excludes zero


@dataclass
class CorpusPlausibilityView:
    rows: list[MeasureRow]
    note: str


def _ends(estimate: Estimate, signed: bool) -> str:
    if math.isnan(estimate.low) or math.isnan(estimate.high):
        return "—"
    number = (lambda v: signed_figure(v, 2)) if signed else (lambda v: fixed(v, 2))
    return f"[{number(estimate.low)}, {number(estimate.high)}]"


def corpus_plausibility(stats: PlausibilityStats | None, rows: int, bootstrap: int,
                        method: str) -> CorpusPlausibilityView | None:
    """The section's rows and its note; None without plausibility."""
    if stats is None:
        return None
    table = [MeasureRow(TITLES[name], f"{fixed(m.base.mean, 2)} {_ends(m.base, False)}",
                        f"{fixed(m.finetuned.mean, 2)} {_ends(m.finetuned, False)}",
                        f"{signed_figure(m.difference.mean, 2)} {_ends(m.difference, True)}",
                        m.difference.excludes_zero)
             for name, m in stats.measures.items()]
    note = (f"Plausibility of the {method} scores for each row's true label against the words people marked as "
            f"its reason (human rationales; ERASER's AUPRC and top-k F1, k = the marked tokens), on the "
            f"{stats.rows:,} of {rows:,} rows whose rationale marks something the models saw. A random ranking's "
            f"AUPRC is {fixed(stats.random.mean, 2)} on these rows (the marked share of the tokens). "
            f"{pct(stats.cut)} of the marked characters lay past the models' max length (scored on the part seen). "
            f"Intervals: {100 * CONFIDENCE:.0f} % percentile intervals from {bootstrap:,} Poisson-bootstrap "
            "replicates over rows; the difference is paired (both models on the same rows).")
    return CorpusPlausibilityView(table, note)
