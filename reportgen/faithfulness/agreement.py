"""Do two methods rank the tokens alike? Spearman rank correlation between their scores.

Methods that disagree cannot both be faithful; the report puts this next to the ERASER numbers.
Ties get their average rank (the standard Spearman correction), so zeros do not count as order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reportgen.methods import is_signed
from reportgen.results import ModelAttribution


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 0…n−1, tied values sharing the mean of the ranks they span."""
    array = np.asarray(values, dtype=np.float64)
    order = np.argsort(array, kind="stable")
    ranks = np.empty(len(array), dtype=np.float64)
    sorted_values = array[order]
    start = 0
    while start < len(array):
        stop = start
        while stop + 1 < len(array) and sorted_values[stop + 1] == sorted_values[start]:
            stop += 1
        ranks[order[start:stop + 1]] = (start + stop) / 2
        start = stop + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """ρ in [−1, 1]; NaN when either side is constant (no order to compare) or has < 2 values."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} and {len(b)} scores: they must align")
    if len(a) < 2:
        return math.nan
    ra, rb = average_ranks(a), average_ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = math.sqrt(float((ra * ra).sum() * (rb * rb).sum()))
    return math.nan if denominator == 0 else float((ra * rb).sum() / denominator)


def rank_agreement(score_lists: Sequence[Sequence[float]]) -> list[list[float]]:
    """The symmetric matrix of Spearman ρ between every pair of score lists (1 on the diagonal)."""
    n = len(score_lists)
    matrix = [[1.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            matrix[i][j] = matrix[j][i] = spearman(score_lists[i], score_lists[j])
    return matrix


def method_agreement(model: ModelAttribution, methods: Sequence[str], positions: Sequence[int]) -> list[list[float]]:
    """Spearman ρ between every pair of `methods` of one model over the token `positions`; unsigned
    methods rank by magnitude, signed ones by evidence for the target."""
    return rank_agreement([[model.methods[m].scores[i] if is_signed(m) else abs(model.methods[m].scores[i])
                            for i in positions] for m in methods])
