"""Whether a method's scores add up, in words: integrated gradients' convergence delta (with the steps it
took and when the scores cancel along the path), or the Shapley values' gap to f(x) − f(no words)."""

from __future__ import annotations

from reportgen.choices import DELTA_FLOOR, shapley_gap_allowed
from reportgen.methods import REGISTRY
from reportgen.rendering.numbers import pct, signed_figure
from reportgen.results import (
    MethodResult,
)


def delta_text(result: MethodResult, tolerance: float | None) -> tuple[str | None, str | None]:
    """IG's convergence delta, the steps it took, and a warning when it is too large to trust.

    With auto steps (`tolerance` set) a sample is flagged when it stopped at --max-steps with its
    delta above the tolerance, by the rule the refinement used; with fixed steps, above 5 %.
    """
    if result.convergence_delta is None:
        return None, None
    relative = result.relative_delta or 0.0
    delta = (f"Convergence delta {signed_figure(result.convergence_delta)} ({pct(relative)} of F(x)−F(x′) = "
             f"{signed_figure(result.target_logit_change)})")
    if result.steps is not None:
        delta += f" after {result.steps} path steps"
    if result.adds_up(tolerance):
        return delta, None
    if tolerance is None:
        return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change. "
                       "Raise --steps for trustworthy scores.")
    return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change, "
                   f"above the {100 * tolerance:g}% tolerance after {result.steps} steps (the --max-steps cap). "
                   + (cancelling_text(result, tolerance) or "Raise --max-steps for trustworthy scores."))


CANCELLING = 10
"""A path's scores cancel when Σ|score| is at least this many times |F(x) − F(x′)| (with DELTA_FLOOR)."""


def cancelling_text(result: MethodResult, tolerance: float) -> str:
    """For a delta above tolerance on a path whose scores cancel, the sizes a reader needs to judge it:
    there a share of a small F(x) − F(x′) is a far smaller share of the scores themselves, and more
    steps shrink the delta slowly (docs/benchmarks.md, "Why these four"). "" otherwise."""
    mass = sum(abs(score) for score in result.scores)
    change = max(abs(result.target_logit_change or 0.0), DELTA_FLOOR)
    if result.convergence_delta is None or mass < CANCELLING * change:
        return ""
    share = abs(result.convergence_delta) / mass
    return (f"The scores cancel along this path: their total size Σ|score| = {mass:.3g} is {mass / change:.0f}× the "
            f"logit change, so the delta is only {100 * share:.2g}% of Σ|score|. On such a path the "
            f"{100 * tolerance:g}% tolerance asks far more than elsewhere and more steps shrink the delta slowly; "
            "raise --max-steps if the sum itself must match.")


def additivity_text(result: MethodResult, method: str, tolerance: float | None) -> tuple[str | None, str | None]:
    """The fact that says whether a method's scores add up, and a warning when they do not: integrated
    gradients' convergence delta, or the Shapley values' gap to f(x) − f(no words)."""
    if not REGISTRY.get(method) or not REGISTRY[method].samples or result.convergence_delta is None:
        return delta_text(result, tolerance)
    change = result.target_logit_change or 0.0
    gap = (f"Additivity gap {signed_figure(result.convergence_delta, 2)} (Σ word values − f(x) + f(no words), "
           f"where f(x) − f(no words) = {signed_figure(change)} is the target logit's drop when every word is removed)")
    if abs(result.convergence_delta) <= shapley_gap_allowed(change):
        return gap, None
    return gap, ("The Shapley values do not add up beyond fp32 rounding: the model gave different logits for "
                 "the same text (dropout left on, or non-deterministic kernels); treat the scores with care.")
