"""The scaled fp32 tolerance itself: it must accept rounding of the sums compared and refuse real faults."""

from __future__ import annotations

import math

import pytest
import torch

from tests.tolerances import EPS32, assert_close_fp32, assert_same_numbers, delta_magnitude, row_magnitude


def test_a_difference_of_sums_carries_the_rounding_of_the_sums():
    """Two fp32 orders of one sum of ~1 differ in the last bits; their difference with a near-equal
    number (a convergence delta of ~1e-4) then differs by ~eps32, far more than eps32 × 1e-4."""
    generator = torch.Generator().manual_seed(0)
    terms = torch.randn(512, generator=generator) * 0.01
    forward, backward = terms.sum(), terms.flip(0).sum()
    target = forward.double() - 1.8e-4
    deltas = torch.stack([forward - target.float(), backward - target.float()])
    scale = delta_magnitude(terms.view(1, -1), target.float().view(1), torch.zeros(1)).expand(2)
    assert_close_fp32(deltas[0], deltas[1], scale[0])  # the sums' rounding passes
    with pytest.raises(AssertionError, match="differ by"):
        assert_close_fp32(deltas[0], deltas[0] + 1e-3 * scale[0], scale[0])  # a real fault does not


def test_the_tolerance_follows_each_rows_own_magnitude():
    scores = torch.tensor([[1.0, -3.0], [1e-3, 1e-3]])
    assert row_magnitude(scores).flatten().tolist() == pytest.approx([4.0, 2e-3])
    small_row_moved = scores.clone()
    small_row_moved[1, 0] += 100 * EPS32  # within 64 ulps of the large row, not of the small one
    assert_close_fp32(small_row_moved[0], scores[0], row_magnitude(scores)[0])
    with pytest.raises(AssertionError):
        assert_close_fp32(small_row_moved, scores, row_magnitude(scores))


def test_a_difference_of_two_logits_rounds_at_the_size_of_the_logits():
    """F(x) − F(x′) = 1.469 − 1.430 (a text of test_attribution): F(x) 7 ulps off, as another batch size left it on
    an AMD EPYC, is ~270 ulps of the change, beyond a scale of the change alone, within that of the logits; a real
    fault (1e-4 off) is not."""
    logit, baseline = torch.tensor([1.469]), torch.tensor([1.430])
    nudged = logit + 7 * EPS32  # 7 ulps of a number in [1, 2)
    scale = delta_magnitude(torch.zeros(1, 3), logit, baseline)
    assert_close_fp32(nudged - baseline, logit - baseline, scale)
    with pytest.raises(AssertionError):
        assert_close_fp32(nudged - baseline, logit - baseline, (logit - baseline).abs())
    with pytest.raises(AssertionError, match="differ by"):
        assert_close_fp32(logit - baseline + 1e-4, logit - baseline, scale)


def test_same_numbers_compares_structure_exactly_and_floats_within_rounding():
    expected = {"words": ["good", "bad"], "count": 3, "values": (0.25, None), "nan": math.nan}
    assert_same_numbers({"words": ["good", "bad"], "count": 3, "values": (0.25 + 2e-7, None), "nan": math.nan},
                        expected)
    for wrong in ({**expected, "count": 4}, {**expected, "words": ["good", "dull"]},
                  {**expected, "values": (0.25 + 1e-4, None)}, {**expected, "values": [0.25, None]}):
        with pytest.raises(AssertionError):
            assert_same_numbers(wrong, expected)
