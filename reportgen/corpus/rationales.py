"""A corpus row's plausibility against its human rationale (--rationale-column): for each model, the AUPRC,
its random reference and the top-k F1 of its scores for the row's true label on the tokens it saw, and on its
words (`reportgen.plausibility`); the columns are null where the row has no rationale (or an empty one) or is
explained toward another class than its label (--target-class)."""

from __future__ import annotations

from typing import Any

from reportgen.choices import ROLES
from reportgen.corpus.plausibility import COLUMNS, MEASURES
from reportgen.loading.inputs import EncodedTexts
from reportgen.methods import REGISTRY
from reportgen.plausibility import cut_share, marks, plausibility, rationale_spans
from reportgen.words import group_words


def empty_columns() -> dict[str, Any]:
    return dict.fromkeys(COLUMNS)


def plausibility_columns(value: Any, text: str, index: int, label: int | None, target: int, method: str,
                         inputs: EncodedTexts, row: int, token_scores: dict[str, list[float]]) -> dict[str, Any]:
    """Row `index`'s plausibility columns from its rationale as the column holds it (`value`; a malformed one is
    a one-line ReportgenError naming the row), its text, its encoding (`inputs`, batch position `row`) and each
    model's token scores toward `target` (no padding)."""
    spans = rationale_spans(value, text, f"row {index}")
    out = empty_columns()
    if not spans or label is None or target != label:
        return out
    words = group_words(inputs.word_ids[row], inputs.offsets[row], text)
    found = marks(spans, inputs.offsets[row], inputs.word_ids[row], words, inputs.truncated[row])
    out["rationale_cut"] = cut_share(spans, inputs.offsets[row], inputs.word_ids[row], inputs.truncated[row])
    for role in ROLES:
        result = plausibility(token_scores[role], REGISTRY[method].signed, found, words)
        if result is not None:
            out |= {f"{role}_{measure}": getattr(result, measure) for measure in MEASURES}
    return out
