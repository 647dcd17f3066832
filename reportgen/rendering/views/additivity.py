"""How far a method's scores can be trusted, in words: integrated gradients' estimated score error and convergence
delta (with the steps it took and when the scores cancel along the path), the Shapley values' (sampled or
KernelSHAP's) gap to f(x) − f(no words), or LIME's surrogate fit."""

from __future__ import annotations

from reportgen.choices import DELTA_FLOOR, LIME_FIT, kernel_shap_gap_allowed, shapley_gap_allowed
from reportgen.methods import REGISTRY
from reportgen.rendering.numbers import pct, share, signed_figure
from reportgen.results import (
    MethodResult,
)


def delta_text(result: MethodResult, tolerance: float | None) -> tuple[str | None, str | None]:
    """IG's two accuracy numbers in words, the steps it took, and a warning when the sample did not converge.

    With auto steps (`tolerance` set) the scores' estimated error ("accurate to about 0.2 %": the estimated
    Σ|error| of the scores over Σ|score|) comes first, then the completeness delta as a share of Σ|score| and of
    F(x) − F(x′). A sample is flagged only when it did not converge (`MethodResult.converged`: neither its
    scores nor its delta within tolerance at --max-steps; fixed steps: its delta above 5 % of F(x) − F(x′)).
    """
    if result.convergence_delta is None:
        return None, None
    relative = result.relative_delta or 0.0
    steps = f" after {result.steps} path steps" if result.steps is not None else ""
    if result.score_error is None:  # fixed steps, or a file from before the score error: the delta alone
        delta = (f"Convergence delta {signed_figure(result.convergence_delta)} ({pct(relative)} of F(x)−F(x′) = "
                 f"{signed_figure(result.target_logit_change)}){steps}")
    else:
        mass = sum(abs(score) for score in result.scores)
        of_mass = f"{share(abs(result.convergence_delta) / mass)} of Σ|score|, " if mass > 0 else ""
        delta = (f"Scores accurate to about {share(result.score_error)} (their estimated error, which errs high); "
                 f"completeness delta {signed_figure(result.convergence_delta)} ({of_mass}{share(relative)} of "
                 f"F(x)−F(x′) = {signed_figure(result.target_logit_change)}){steps}")
    if result.adds_up(tolerance):
        return delta, None
    if tolerance is None:
        return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change. "
                       "Raise --steps for trustworthy scores.")
    advice = cancelling_text(result, tolerance) or "Raise --max-steps for trustworthy scores."
    if result.score_error is None:
        return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change, "
                       f"above the {100 * tolerance:g}% tolerance after {result.steps} steps (the --max-steps cap). "
                       + advice)
    return delta, (f"Not converged after {result.steps} steps (the --max-steps cap): the scores' estimated error is "
                   f"{share(result.score_error)} of Σ|score| and the completeness delta {share(relative)} of the logit "
                   f"change, both above the {100 * tolerance:g} % tolerance. " + advice)


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
    """The fact that says how far a method's scores can be trusted, and a warning when they cannot: integrated
    gradients' score error and convergence delta, the Shapley values' (sampled or KernelSHAP's) gap to
    f(x) − f(no words), or LIME's fit."""
    info = REGISTRY.get(method)
    if info is not None and info.surrogate and info.gap is None:
        return fit_text(result)
    if info is None or info.gap is None or result.convergence_delta is None:
        return delta_text(result, tolerance)
    change = result.target_logit_change or 0.0
    gap = (f"Additivity gap {signed_figure(result.convergence_delta, 2)} (Σ word values − f(x) + f(no words), "
           f"where f(x) − f(no words) = {signed_figure(change)} is the target logit's drop when every word is removed)")
    if info.gap == "fitted":
        if abs(result.convergence_delta) <= kernel_shap_gap_allowed(change):
            return gap, None
        return gap, ("The KernelSHAP values miss f(x) − f(no words) by more than the fit's hold on it allows: the "
                     "samples pull hard against the two ends (a model far from additive on this text); raise "
                     "--surrogate-samples, and treat the scores with care.")
    if abs(result.convergence_delta) <= shapley_gap_allowed(change):
        return gap, None
    return gap, ("The Shapley values do not add up beyond fp32 rounding: the model gave different logits for "
                 "the same text (dropout left on, or non-deterministic kernels); treat the scores with care.")


def fit_text(result: MethodResult) -> tuple[str | None, str | None]:
    """LIME's surrogate fit: its weighted R² on the coalitions it was fitted to, and a warning below LIME_FIT."""
    if result.surrogate_fit is None:
        return None, None
    fit = (f"Surrogate fit: weighted R² {result.surrogate_fit:.2f} (the share of the target logit's variation over "
           "the sampled coalitions of words that the linear model reproduces)")
    if result.surrogate_fit >= LIME_FIT:
        return fit, None
    return fit, (f"The linear surrogate fits badly (weighted R² {result.surrogate_fit:.2f}, below {LIME_FIT:g}): the "
                 "model does not act like a sum of word effects near this text, so LIME's coefficients describe it "
                 "poorly.")
