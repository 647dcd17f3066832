"""Plausibility measures of one ranking against one human mask (ERASER, DeYoung et al. 2020), in numpy.

`auprc`: the area under the precision-recall curve as ERASER's `_auprc` computes it (scikit-learn's
`precision_recall_curve` — one point per distinct score, from the highest down, then (recall 0,
precision 1) — integrated by the trapezoidal rule, `sklearn.metrics.auc`); `top_k_f1`: precision, recall and
F1 of the k highest-scored items, k the number of marked items; `evidence`: what a method's scores say *for*
the explained class. Definitions and worked cases: docs/maths.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def evidence(scores: Sequence[float], signed: bool) -> np.ndarray:
    """The evidence for the explained class in each score: a signed method's positive part (a negative score
    is evidence against it, ranked with the neutral ones), an unsigned method's magnitude. Shape (n,)."""
    values = np.asarray(scores, dtype=np.float64)
    return np.maximum(values, 0.0) if signed else np.abs(values)


def auprc(scores: Sequence[float], marked: Sequence[bool]) -> float:
    """The area under the precision-recall curve of `scores` (n,) against the mask `marked` (n,), in [0, 1].

    Thresholds at each distinct score, highest first: items scored alike enter together (ties are one
    point, so their order does not matter); precision and recall there, then the point (recall 0,
    precision 1), joined by straight lines (trapezoids), as ERASER's `_auprc` (scikit-learn's
    `precision_recall_curve` and `auc`). All scores equal: one point (recall 1, precision = the marked
    share), so the area is (1 + share) / 2. ValueError when nothing is marked (recall is undefined) or the
    lengths differ.
    """
    values, truth = np.asarray(scores, dtype=np.float64), np.asarray(marked, dtype=bool)
    if values.shape != truth.shape or values.ndim != 1:
        raise ValueError(f"{values.shape} scores against a mask of {truth.shape}: one score per item")
    if not truth.any():
        raise ValueError("nothing is marked: the precision-recall curve needs at least one marked item")
    order = np.argsort(-values, kind="stable")
    values, truth = values[order], truth[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(values) != 0), values.size - 1]
    hits = np.cumsum(truth)[last_of_each]
    taken = last_of_each + 1
    precision = np.r_[1.0, hits / taken]
    recall = np.r_[0.0, hits / hits[-1]]
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))


def top_k_f1(scores: Sequence[float], marked: Sequence[bool]) -> float:
    """F1 of the k highest scores (n,) against the mask (n,), k the number marked: with k items taken and
    k marked, precision = recall = F1 = the share of the k taken that are marked. Items tied at the cut
    share its remaining places evenly (the expected overlap over every order of the tie), so ties never
    depend on position; all scores equal gives the marked share. ValueError when nothing is marked."""
    values, truth = np.asarray(scores, dtype=np.float64), np.asarray(marked, dtype=bool)
    if values.shape != truth.shape or values.ndim != 1:
        raise ValueError(f"{values.shape} scores against a mask of {truth.shape}: one score per item")
    k = int(truth.sum())
    if k == 0:
        raise ValueError("nothing is marked: top-k F1 needs at least one marked item (k = 0)")
    cut = np.sort(values)[::-1][k - 1]
    above, tied = values > cut, values == cut
    places = k - int(above.sum())
    hits = float(truth[above].sum()) + places * float(truth[tied].sum()) / int(tied.sum())
    return hits / k
