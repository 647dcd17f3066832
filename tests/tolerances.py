"""fp32 tolerances scaled to the magnitudes compared, for results computed two ways.

Two fp32 computations of one quantity (another batch size, another CPU's kernels, SDPA over fewer
keys) round differently in the last bits of the *terms they add*, not of the result. A convergence
delta of 1e-4 is the difference of two sums of order 1 (Σ scores and F(x) − F(x′)), so it carries
rounding of order eps32 × 1 — on an AMD EPYC two batch sizes gave deltas 1.3e-6 apart, where a
bare `atol=1e-6` had passed on Intel. So every comparison here names the magnitude its rounding
scales with and allows `ulps` units of fp32 precision of it; a real fault (a wrong weight, a missed
row) moves results by far more than that.

The magnitude is that of the largest terms, never of the result: F(x) − F(x′) is itself a difference of
two logits (on the AMD EPYC a text with F(x) = 1.469 and F(x′) = 1.430 had its change of 0.039 move by
8.3e-7 between batch sizes: 6 ulps of the logits, 270 of the change), and a perturbation method's score
(occlusion, Shapley sampling) is a difference of logits too, however small the score.
"""

from __future__ import annotations

import math
from dataclasses import asdict, is_dataclass

import torch

EPS32 = torch.finfo(torch.float32).eps  # 1.19e-7: the spacing of fp32 numbers at 1.0
ULPS = 64
"""Units of fp32 precision allowed: a sum over a few hundred terms (sequence positions, path steps,
hidden units) in another order drifts by O(sqrt(n)) to O(n) roundings of its largest terms."""


def fp32_atol(scale: torch.Tensor | float, ulps: int = ULPS) -> torch.Tensor:
    """Absolute tolerance ulps × eps32 × scale, elementwise (scale: the magnitude the rounding follows)."""
    return ulps * EPS32 * torch.as_tensor(scale, dtype=torch.float64).abs()


def assert_close_fp32(actual: torch.Tensor, expected: torch.Tensor, scale: torch.Tensor | float,
                      ulps: int = ULPS) -> None:
    """|actual − expected| ≤ ulps × eps32 × scale, elementwise; `scale` broadcasts (e.g. a per-row
    magnitude of shape (batch, 1) against (batch, seq) scores)."""
    actual, expected = torch.as_tensor(actual).double(), torch.as_tensor(expected).double()
    difference = (actual - expected).abs()
    allowed = fp32_atol(scale, ulps).expand_as(difference)
    worst = int((difference - allowed).argmax())
    assert bool((difference <= allowed).all()), (
        f"differ by {difference.flatten()[worst].item():.3g} at flat index {worst}, "
        f"allowed {allowed.flatten()[worst].item():.3g} ({ulps} × eps32 × scale)")


def row_magnitude(scores: torch.Tensor) -> torch.Tensor:
    """Σ_t |score_t| per row, shape (batch, 1): the size of the sums a row's scores come from."""
    return scores.abs().sum(dim=-1, keepdim=True)


def delta_magnitude(scores: torch.Tensor, logits: torch.Tensor, baseline_logits: torch.Tensor) -> torch.Tensor:
    """Σ|score| + |F(x)| + |F(x′)| per row, shape (batch,): the size of the terms a convergence delta
    Σ scores − (F(x) − F(x′)) and a logit change F(x) − F(x′) are made of (`logits`, `baseline_logits`:
    the target logits at the input and at the baseline, shape (batch,); tests.builders.endpoint_logits)."""
    return scores.abs().sum(dim=-1) + torch.as_tensor(logits).abs() + torch.as_tensor(baseline_logits).abs()


def assert_same_numbers(actual: object, expected: object, scale: float = 1.0) -> None:
    """Equal structures (dataclasses, dicts, lists, tuples; every string, count, flag and None exactly); floats
    within fp32 rounding of `scale`, for results whose rows were batched differently (default 1: probabilities
    and differences of probabilities). A real fault (a missed row, a wrong word removed) moves a probability
    by far more than 64 ulps of 1, and changes a count or a word exactly."""
    if is_dataclass(expected) and not isinstance(expected, type):
        assert type(actual) is type(expected), (type(actual), type(expected))
        assert_same_numbers(asdict(actual), asdict(expected), scale)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), (actual, expected)
        for key in expected:
            assert_same_numbers(actual[key], expected[key], scale)
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected), (actual, expected)
        for a, e in zip(actual, expected):
            assert_same_numbers(a, e, scale)
    elif isinstance(expected, float):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), (actual, expected)
        if not (math.isnan(actual) and math.isnan(expected)):
            assert_close_fp32(torch.tensor(float(actual)), torch.tensor(expected), scale)
    else:
        assert actual == expected, (actual, expected)
