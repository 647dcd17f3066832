"""The corpus page's plausibility section: per measure, each model's mean over the rows with a human rationale,
the paired fine-tuned − base difference, each with its bootstrap interval (`corpus.plausibility`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from reportgen.corpus.plausibility import PlausibilityStats
from reportgen.corpus.statistics import CONFIDENCE, Estimate
from reportgen.rendering.numbers import fixed, pct

PLACES = 3  # decimals of a mean, an interval's ends and a difference (AUPRC and F1 lie in [0, 1])
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
    return f"[{fixed(estimate.low, PLACES, signed)}, {fixed(estimate.high, PLACES, signed)}]"


def corpus_plausibility(stats: PlausibilityStats | None, rows: int, bootstrap: int,
                        method: str) -> CorpusPlausibilityView | None:
    """The section's rows and its note; None without plausibility."""
    if stats is None:
        return None
    table = [MeasureRow(TITLES[name], f"{fixed(m.base.mean, PLACES)} {_ends(m.base, False)}",
                        f"{fixed(m.finetuned.mean, PLACES)} {_ends(m.finetuned, False)}",
                        f"{fixed(m.difference.mean, PLACES, signed=True)} {_ends(m.difference, True)}",
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
