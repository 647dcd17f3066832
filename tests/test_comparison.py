"""Normalised differences between the two models' scores, hand-computed."""

from __future__ import annotations

import math

import pytest

from reportgen.comparison import common_class, difference, most_changed, normalise, strongest


def test_normalise_divides_by_the_total_absolute_score():
    assert normalise([1.0, -3.0, 0.0, 4.0]) == [0.125, -0.375, 0.0, 0.5]  # Σ|s| = 8
    assert math.fsum(abs(s) for s in normalise([0.2, -0.7, 1e-3])) == pytest.approx(1.0)
    assert normalise([5.0]) == [1.0] and normalise([-5.0]) == [-1.0]


def test_normalise_is_zero_safe():
    assert normalise([0.0, 0.0, -0.0]) == [0.0, 0.0, 0.0]
    assert normalise([]) == []
    assert normalise([math.inf, 1.0]) == [0.0, 0.0]  # no meaningful share of an infinite total


def test_logit_scale_does_not_dominate():
    """The same pattern at ten times the scale has the same normalised scores: no difference."""
    base = [0.5, -0.25, 0.25]
    assert difference(base, [10 * s for s in base]) == pytest.approx([0.0, 0.0, 0.0])


def test_difference_by_hand():
    base = [1.0, 1.0, -2.0, 0.0]  # Σ|s| = 4 → 0.25, 0.25, -0.5, 0
    finetuned = [3.0, 0.0, -1.0, 1.0]  # Σ|s| = 5 → 0.6, 0, -0.2, 0.2
    assert difference(base, finetuned) == pytest.approx([0.35, -0.25, 0.3, 0.2])
    assert difference([0.0, 0.0], [0.0, 2.0]) == [0.0, 1.0]
    assert difference([0.0, 0.0], [0.0, 0.0]) == [0.0, 0.0]
    with pytest.raises(ValueError, match="align"):
        difference([1.0], [1.0, 2.0])


def test_most_changed_gained_and_lost():
    labels = ["[CLS]", "the", "film", "was", "great", "but", "dull", "[SEP]"]
    diff = [0.0, 0.01, 0.2, -0.05, 0.4, 0.0, -0.3, 0.0]
    gained, lost = most_changed(labels, diff, k=2)
    assert gained == [(4, 0.4), (2, 0.2)]
    assert lost == [(6, -0.3), (3, -0.05)]
    gained, lost = most_changed(labels, diff)  # k = 5: all non-zero ones, zeros on neither side
    assert [i for i, _ in gained] == [4, 2, 1] and [i for i, _ in lost] == [6, 3]


def test_most_changed_ties_keep_text_order():
    labels = ["a", "b", "c", "d", "e"]
    gained, lost = most_changed(labels, [0.1, -0.2, 0.1, -0.2, 0.1], k=2)
    assert gained == [(0, 0.1), (2, 0.1)] and lost == [(1, -0.2), (3, -0.2)]


def test_most_changed_zero_vector_and_skipped_labels():
    assert most_changed(["a", "b"], [0.0, 0.0]) == ([], [])
    assert most_changed([], []) == ([], [])
    labels = ["[CLS]", "good", "[SEP]"]
    assert most_changed(labels, [0.5, 0.1, -0.4], skip_labels={"[CLS]", "[SEP]"}) == ([(1, 0.1)], [])
    with pytest.raises(ValueError, match="align"):
        most_changed(["a"], [0.1, 0.2])


def test_strongest_ignores_non_finite_values():
    assert strongest([math.nan, 1.0, -math.inf, -1.0], k=3) == ([(1, 1.0)], [(3, -1.0)])


def test_common_class():
    assert common_class(0, {"base": 1, "finetuned": 1}) == (0, "the true label")
    assert common_class(None, {"base": 0, "finetuned": 1}) == (
        1, "the fine-tuned model's prediction, as the text has no label")
    with pytest.raises(ValueError, match="finetuned"):
        common_class(None, {"base": 0})
