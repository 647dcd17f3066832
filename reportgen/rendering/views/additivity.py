"""How far a method's scores can be trusted, in words: integrated gradients' estimated score error and convergence
delta (with the steps it took and, in files without a score error, when the scores cancel along the path), the
Shapley values' (sampled or KernelSHAP's) gap to f(x) − f(no words), or LIME's surrogate fit."""

from __future__ import annotations

import math

from reportgen.choices import (
    DELTA_FLOOR,
    ESTIMATOR,
    LIME_FIT,
    ScoreErrorEstimator,
    budgets,
    kernel_shap_gap_allowed,
    shapley_gap_allowed,
    too_few_samples,
)
from reportgen.methods import REGISTRY
from reportgen.rendering.numbers import fixed, pct, share, signed_figure
from reportgen.rendering.sentences import word_count
from reportgen.results import (
    MethodResult,
)


def errs_high(estimator: ScoreErrorEstimator) -> str:
    """What the scores' estimated error is worth, measured against dense references on the tests' tiny models and
    the demo's base model (docs/benchmarks.md, "How far to trust the score error"), for the estimator that made it."""
    return f"an estimate that errs high: {estimator.errs_high}"


def converged_by(result: MethodResult, tolerance: float | None) -> str | None:
    """Which condition of the rule (`choices.convergence_rule`) made an IG sample converge: "scores" (their
    estimated error within tolerance of Σ|score|, with the delta's floor; the first the refinement checks) or
    "delta" (the other, by elimination); None for a sample that did not converge or whose score error was not
    estimated (fixed steps, files from before it)."""
    if not result.converged or result.score_error is None or tolerance is None:
        return None
    mass = sum(abs(score) for score in result.scores)
    accurate = budgets(0.0, mass, tolerance).accurate / mass if mass > 0 else math.inf
    return "scores" if result.score_error <= accurate * (1 + 1e-6) else "delta"  # 1e-6: the stored rounding


def delta_text(result: MethodResult, tolerance: float | None,
               estimator: ScoreErrorEstimator = ESTIMATOR) -> tuple[str | None, str | None]:
    """IG's two accuracy numbers in words, the steps it took, and a warning when the sample did not converge;
    `estimator`: the one that estimated the score error (the report's, `ReportMeta.estimator`), whose guard and
    measured over-statement the note names.

    With auto steps (`tolerance` set) the note says after how many steps and by which condition the sample
    converged (`converged_by`):
    its scores' estimated error ("at most about 0.2 %": the estimated Σ|error| of the scores over Σ|score|, an
    estimate that errs high) or its completeness delta (as a share of F(x) − F(x′) and of Σ|score|), then the
    other number (after a delta, with the guard it passed: `guard_text`). A sample is flagged only when it did
    not converge (`MethodResult.converged`: neither condition at --max-steps; fixed steps: its delta above 5 % of
    F(x) − F(x′)); its warning says to raise --max-steps, or, in a file without a score error (the delta alone
    decided) on a path whose scores cancel, how they cancel (`cancelling_text`).
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
        of_mass = f"{share(abs(result.convergence_delta) / mass)} of Σ|score|" if mass > 0 else ""
        change = f"F(x)−F(x′) = {signed_figure(result.target_logit_change)}"
        error = f"at most about {share(result.score_error)} ({errs_high(estimator)})"
        by = converged_by(result, tolerance)
        on = "its scores" if by == "scores" else "its completeness delta"
        converged = f"Converged{steps} on {on}, within the {100 * (tolerance or 0):g} % tolerance"  # with `by`
        if by == "scores":
            delta = (f"{converged}: their estimated error is {error}; completeness delta "
                     f"{signed_figure(result.convergence_delta)} ({of_mass}{', ' if of_mass else ''}"
                     f"{share(relative)} of {change})")
        elif by == "delta":
            delta = (f"{converged}: {signed_figure(result.convergence_delta)} is {share(relative)} of {change}"
                     f"{f' ({of_mass})' if of_mass else ''}; "
                     f"{guard_text(result.score_error, mass, tolerance, estimator)}")
        else:
            delta = (f"Scores' estimated error {error}; completeness delta {signed_figure(result.convergence_delta)} "
                     f"({of_mass}{', ' if of_mass else ''}{share(relative)} of {change}){steps}")
    if result.adds_up(tolerance):
        return delta, None
    if tolerance is None:
        return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change. "
                       "Raise --steps for trustworthy scores.")
    advice = "Raise --max-steps for trustworthy scores."
    if result.score_error is None:  # the delta alone decided (a file from before the score error)
        return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change, "
                       f"above the {100 * tolerance:g}% tolerance after {result.steps} steps (the --max-steps cap). "
                       + (cancelling_text(result, tolerance) or advice))
    cap = f"Not converged after {result.steps} steps (the --max-steps cap): "
    if abs(result.convergence_delta) <= budgets(result.target_logit_change or 0.0, 0.0, tolerance).allowed:
        return delta, (cap + f"the completeness delta is within the {100 * tolerance:g} % tolerance, but the scores' "
                       f"estimated error, {share(result.score_error)} of Σ|score|, is above "
                       f"{estimator.guard} × it, so single scores may still be off. " + advice)
    return delta, (cap + f"the scores' estimated error is {share(result.score_error)} of Σ|score| and the "
                   f"completeness delta {share(relative)} of the logit change, both above the {100 * tolerance:g} % "
                   "tolerance. " + advice)


def guard_text(score_error: float, mass: float, tolerance: float | None,
               estimator: ScoreErrorEstimator = ESTIMATOR) -> str:
    """For a sample converged on its delta: its scores' estimated error (a share of Σ|score| = `mass` > 0) and the
    guard it is within, the `estimator`'s guard in tolerances of Σ|score| (a Σ|score| below DELTA_FLOOR counts as
    it), so an error above the tolerance next to "Converged" reads as the rule and not as a contradiction."""
    guard = budgets(0.0, mass, tolerance or 0.0, estimator).token_budget / mass
    floor = f", with Σ|score| below {DELTA_FLOOR:g} counted as {DELTA_FLOOR:g}" if mass < DELTA_FLOOR else ""
    return (f"the scores' estimated error, at most about {share(score_error)}, is within the {share(guard)} guard "
            f"({estimator.guard} × the tolerance{floor}; {errs_high(estimator)})")


CANCELLING = 10
"""A path's scores cancel when Σ|score| is at least this many times |F(x) − F(x′)| (with DELTA_FLOOR)."""


def cancelling_text(result: MethodResult, tolerance: float) -> str:
    """For a delta above tolerance on a path whose scores cancel, the sizes a reader needs to judge it:
    there a share of a small F(x) − F(x′) is a far smaller share of the scores themselves, and more
    steps shrink the delta slowly (docs/benchmarks.md, "Why these four"). "" otherwise. Only for results
    without a score error (the delta alone decided): where the score error was estimated, a flagged sample's
    scores were not shown accurate, so the delta's small share of Σ|score| says nothing in their favour."""
    mass = sum(abs(score) for score in result.scores)
    change = max(abs(result.target_logit_change or 0.0), DELTA_FLOOR)
    if result.convergence_delta is None or mass < CANCELLING * change:
        return ""
    share = abs(result.convergence_delta) / mass
    return (f"The scores cancel along this path: their total size Σ|score| = {mass:.3g} is {mass / change:.0f}× the "
            f"logit change, so the delta is only {100 * share:.2g}% of Σ|score|. On such a path the "
            f"{100 * tolerance:g}% tolerance asks far more than elsewhere and more steps shrink the delta slowly; "
            "raise --max-steps if the sum itself must match.")


def additivity_text(result: MethodResult, method: str, tolerance: float | None,
                    fitted: tuple[int | None, int] = (None, 0),
                    estimator: ScoreErrorEstimator = ESTIMATOR) -> tuple[str | None, str | None]:
    """The fact that says how far a method's scores can be trusted, and a warning when they cannot: integrated
    gradients' score error (by the report's `estimator`) and convergence delta, the Shapley values' (sampled or
    KernelSHAP's) gap to f(x) − f(no words), or LIME's fit (`fitted`: the coalitions drawn per text, None where
    unknown, and the sample's words)."""
    info = REGISTRY.get(method)
    if info is not None and info.states_fit:
        return fit_text(result, *fitted)
    if info is None or info.gap is None or result.convergence_delta is None:
        return delta_text(result, tolerance, estimator)
    change = result.target_logit_change or 0.0
    gap = (f"Additivity gap {signed_figure(result.convergence_delta, 2)} (Σ word values − f(x) + f(no words), "
           f"where f(x) − f(no words) = {signed_figure(change)} is the target logit's drop when every word is removed)")
    if info.gap == "fitted":
        samples, words = fitted
        if too_few_samples(samples, words):
            return gap, (f"KernelSHAP's values are not determined by its samples: {samples:,} sampled coalitions of "
                         f"its {word_count(words)} are fewer than {words + 2:,} (words + 2), so a linear model fits "
                         "them whatever the model does, and the weight on the two end coalitions keeps the gap near "
                         "zero all the same. "
                         "Raise --surrogate-samples (several times the text's words).")
        if abs(result.convergence_delta) <= kernel_shap_gap_allowed(change):
            return gap, None
        return gap, ("The KernelSHAP values miss f(x) − f(no words) by more than the fit's hold on it allows: the "
                     "samples pull hard against the two ends (a model far from additive on this text); raise "
                     "--surrogate-samples, and treat the scores with care.")
    if abs(result.convergence_delta) <= shapley_gap_allowed(change):
        return gap, None
    return gap, ("The Shapley values do not add up beyond fp32 rounding: the model gave different logits for "
                 "the same text (dropout left on, or non-deterministic kernels); treat the scores with care.")


def fit_text(result: MethodResult, samples: int | None, words: int) -> tuple[str | None, str | None]:
    """LIME's surrogate fit: its adjusted R² (`choices.adjusted_fit`) over the `samples` coalitions of the text's
    `words` (0: not known, as in files whose words were guessed), and a warning below LIME_FIT; where it could not
    be measured (fewer samples than words + 2), a note and a warning that say so. Nothing for a text without words
    (nothing was fitted)."""
    of = f"of its {word_count(words)}" if words else "of its words"
    drawn = f"{samples:,} sampled coalitions {of}" if samples is not None else f"the sampled coalitions {of}"
    if result.surrogate_fit is None:
        if not words:
            return None, None
        return (f"Surrogate fit not measurable: {drawn}, fewer samples than words + 2",
                "LIME's fit cannot be measured here: with fewer samples than words + 2 a linear model fits its "
                "samples whatever the model does, so nothing says whether its coefficients describe the model. "
                "Raise --surrogate-samples (several times the text's words).")
    coefficients = "its coefficients" if not words else "1 coefficient" if words == 1 else f"{words} coefficients"
    value = fixed(result.surrogate_fit, 2)
    fit = (f"Surrogate fit: adjusted R² {value} (the share of the target logit's variation over "
           f"{drawn} that the linear model reproduces, less what {coefficients} would fit by chance)")
    if result.surrogate_fit >= LIME_FIT:
        return fit, None
    return fit, (f"The linear surrogate fits badly (adjusted R² {value}, below {LIME_FIT:g}): the "
                 "model does not act like a sum of word effects near this text, so LIME's coefficients describe it "
                 "poorly.")
