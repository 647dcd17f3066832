"""Compare two models' attributions on the same text.

Raw scores do not compare across models: the fine-tuned model's logits can be ten times larger, so
every one of its scores would look "more important". Dividing each model's scores by its total
|attribution| turns them into shares of that model's influence, and shares do compare.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

FINETUNED = "finetuned"


def normalise(scores: Sequence[float]) -> list[float]:
    """Each score as a signed share of Σ|score|; all zeros stay zeros (nothing to share out)."""
    total = math.fsum(abs(s) for s in scores)
    if total == 0 or not math.isfinite(total):
        return [0.0] * len(scores)
    return [s / total for s in scores]


def difference(base: Sequence[float], finetuned: Sequence[float]) -> list[float]:
    """normalise(finetuned) − normalise(base): > 0 where fine-tuning gave a token more of the say."""
    if len(base) != len(finetuned):
        raise ValueError(f"{len(base)} base scores but {len(finetuned)} fine-tuned scores: they must align")
    return [f - b for b, f in zip(normalise(base), normalise(finetuned))]


def strongest(values: Sequence[float], k: int = 5,
              skip: Collection[int] = ()) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """The k largest positive and the k most negative values as (index, value), strongest first.

    Zeros belong to neither side; ties keep text order (the earlier position first), so the result
    does not depend on sorting details. Indices in `skip` are left out.
    """
    candidates = [(i, v) for i, v in enumerate(values) if i not in skip and math.isfinite(v)]
    positive = sorted((p for p in candidates if p[1] > 0), key=lambda p: (-p[1], p[0]))
    negative = sorted((p for p in candidates if p[1] < 0), key=lambda p: (p[1], p[0]))
    return positive[:k], negative[:k]


def most_changed(labels: Sequence[str], diff: Sequence[float], k: int = 5,
                 skip_labels: Collection[str] = ()) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(index, diff) of the words that gained most and lost most share of the say, k of each.

    `labels` name the entries of `diff` (words or wordpieces); those in `skip_labels` (e.g. "[CLS]",
    "[SEP]") are left out.
    """
    if len(labels) != len(diff):
        raise ValueError(f"{len(labels)} labels but {len(diff)} differences: they must align")
    return strongest(diff, k, skip={i for i, label in enumerate(labels) if label in skip_labels})


def common_class(label: int | None, predicted: Mapping[str, int]) -> tuple[int, str]:
    """The one class both models are explained for, so their scores mean the same thing, and why.

    The true label when it is known; otherwise the fine-tuned model's prediction, the better guess.
    """
    if label is not None:
        return label, "the true label"
    if FINETUNED not in predicted:
        raise ValueError(f"no label and no '{FINETUNED}' prediction (roles: {', '.join(predicted) or 'none'})")
    return predicted[FINETUNED], "the fine-tuned model's prediction, as the text has no label"
