"""The names and defaults a user can choose (poolings, precisions, views, steps), importable without torch.

`reportgen render` and `reportgen --help` must answer in a second, so the CLI and the rendering
layer read these names here; the modules that implement them take their names from here too, so
the list exists once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

DEFAULT_METHODS = ("integrated-gradients", "attention-gradient")
"""Measured on the demo's models (docs/faithfulness.md): integrated gradients (signed, complete) and
gradient-weighted attention were the two methods that beat random orders on almost every review, the
latter at about 1/100 of IG's cost; gradient × input did worse than random, attention rollout little
better. Any method stays available with --method."""

CORPUS_METHOD = "gradient"
"""`reportgen corpus` attributes every row with one method, so cost matters. The gradient norm beat
random orders on 15–16 of 20 of the demo's reviews (docs/faithfulness.md), and over 200 held-out
reviews its words that fine-tuning changed most agreed with integrated gradients' (awful, boring,
great, entertaining, good) at 1/12 of the cost of 16 IG steps. Gradient-weighted attention, as
faithful per review and as cheap, aggregates badly: its residual path gives every wordpiece a
floor of ~1/max-length, and on the words whose change IG was sure of its changes ranked unlike
IG's (Spearman −0.13, gradient norm +0.42; docs/corpus.md). Gradient × input did worse than random."""

QUADRATURES = ("gauss-legendre", "riemann-left", "riemann-right", "riemann-middle", "riemann-trapezoid")
AUTO_STEPS = "auto"
"""--steps auto: each text's integrated gradients refined where the trapezoid error is large until its delta is within
--tolerance; measured against fixed steps and Captum in docs/benchmarks.md ("Adaptive steps")."""
DEFAULT_TOLERANCE = 0.01
DEFAULT_MAX_STEPS = 257
ROLES = ("base", "finetuned")
"""The two models every command compares, in the order they are shown."""
ROLE_TITLES = {"base": "Base", "finetuned": "Fine-tuned"}
"""How pages and messages name each role: "the fine-tuned model", never the option's spelling "finetuned"."""


def role_title(role: str) -> str:
    """A role's title where a sentence or heading starts: "Base", "Fine-tuned" (an unknown role as given)."""
    return ROLE_TITLES.get(role, role)


def role_word(role: str) -> str:
    """A role's title inside a sentence: "base", "fine-tuned", as in "the fine-tuned model's tokenizer …"."""
    return role_title(role).lower()


DELTA_FLOOR = 0.01
"""Logits: a text whose F(x) − F(x′) is smaller is held to tolerance × DELTA_FLOOR, not to a share of ~0."""


FIXED_STEPS_DELTA = 0.05
"""Fixed --steps: a text's integrated gradients do not add up when |delta| exceeds 5 % of |F(x) − F(x′)|."""


def allowed_delta(logit_change: float, tolerance: float) -> float:
    """The largest |convergence delta| that --tolerance accepts for a text with this F(x) − F(x′)."""
    return tolerance * max(abs(logit_change), DELTA_FLOOR)


class ScoreErrorEstimator(NamedTuple):
    """One way of estimating IG's score error (`MethodResult.score_error`: Σ_t |error of score_t| / Σ_t |score_t|)
    under --steps auto, with the facts that go with it; a report (`ReportMeta.score_error_estimator`) and a corpus
    (its `path`) name the one their numbers were made with, so a file is read by its own rule and words."""

    name: str  # stored in the JSON (`ReportMeta.score_error_estimator`, a corpus's meta.path)
    guard: float  # the delta condition's cap on the score error, in tolerances of Σ|score| (`budgets`)
    errs_high: str  # how high it errs, measured: the words the IG notes quote ("an estimate that errs high: …")


ESTIMATORS = {estimator.name: estimator for estimator in (
    ScoreErrorEstimator("interval-sum", 5, "2–14 × the true error on the models measured"),
    ScoreErrorEstimator("per-token", 1.5, "1.6–6.4 × the true error on the models measured"),
)}
"""Every estimator a file may name (`AdaptiveTrapezoid.score_error` computes today's). "interval-sum" (report schemas
7–9, corpus stores before format 5): the sum of every interval's L1 estimate, which can only over-state the L1 norm
of their sum; "per-token": each token's error from its intervals' shares, summed over the tokens — tighter, so its
guard is smaller."""

ESTIMATOR = ESTIMATORS["per-token"]
"""The estimator --steps auto computes now.

A text whose delta is within tolerance also keeps refining while its estimated score error (L1 over tokens) is
above `ESTIMATOR.guard` tolerances of its Σ|score| (with the delta's floor of 0.01 logits): "the guard". The delta
checks only the *sum* of the scores, which can land within tolerance by cancellation while single tokens are still
far off (docs/benchmarks.md, "Which nested rule").

A text has converged when its scores are accurate — estimated score error within one tolerance of its
Σ|score| — or its delta is within tolerance (and the guard holds); it is flagged only when neither holds
at `max_steps` (`convergence_rule` says so in words). On a path whose scores cancel (Σ|score| ≫
|F(x) − F(x′)|) the first settles it where the delta alone would ask 13–260× more (docs/benchmarks.md, "Why
these four")."""


UNNAMED = ESTIMATORS["interval-sum"]
"""The estimator of files written before one was named: report schemas 7–9 (`results.upgrades.upgrade_v9`) and corpus
JSON whose meta.path has no score_error_estimator (`CorpusFacts.estimator`), where their rows have score errors."""


def estimator_named(name: str | None) -> ScoreErrorEstimator:
    """The estimator a report or corpus names; None (fixed steps, a report built without one) is `ESTIMATOR`.
    KeyError for a name not in ESTIMATORS (the validation refuses one before anything is drawn)."""
    return ESTIMATOR if name is None else ESTIMATORS[name]


class Budgets(NamedTuple):
    """A text's limits under the convergence rule, in logits (`budgets`); unpacks as `AdaptiveTrapezoid.refine`'s
    (allowed, token_budget, accurate)."""

    allowed: float  # |delta| within tolerance of |F(x) − F(x′)|
    token_budget: float  # the guard: the estimator's `guard` tolerances of Σ|score|
    accurate: float  # the score error within one tolerance of Σ|score|


def budgets(logit_change: float, mass: float, tolerance: float,
            estimator: ScoreErrorEstimator = ESTIMATOR) -> Budgets:
    """A text's limits under the convergence rule (`convergence_rule`): (allowed |delta|, token budget, accurate),
    from its F(x) − F(x′), its Σ|score| (`mass`) and the tolerance — the delta within tolerance of |F(x) − F(x′)|
    with the score error within the `estimator`'s guard (tolerances of Σ|score|), or the score error within one
    tolerance of it (each with the floor of `allowed_delta`). Used by the refinement (`AdaptiveTrapezoid.refine`,
    `settled`) and by the IG note that says which condition held (with the estimator its report names)."""
    accurate = allowed_delta(mass, tolerance)
    return Budgets(allowed_delta(logit_change, tolerance), estimator.guard * accurate, accurate)


def convergence_rule(tolerance: float | None = None, max_steps: int | None = None,
                     estimator: ScoreErrorEstimator = ESTIMATOR) -> str:
    """The one wording of when integrated gradients' `--steps auto` stops refining a sample, shared by the report's
    header, the corpus page's, `--help` and docs/maths.md: with a `tolerance` (0.01) and `max_steps` (257) as a
    page states them ("within 1 %", "at 257 steps"), without them as `--help` names the options ("within
    --tolerance", "at --max-steps"); the guard is the `estimator`'s (a page's: the one its file names). Lower
    case, no full stop: the caller places it in its sentence."""
    if tolerance is None:
        within, guard = "--tolerance", f"{estimator.guard} × --tolerance"
    else:
        within, guard = f"{100 * tolerance:g} %", f"{100 * estimator.guard * tolerance:g} %"
    cap = "--max-steps" if max_steps is None else f"{max_steps} steps"
    return (f"a sample has converged when its scores' estimated error (Σ|error of a score| / Σ|score|, an estimate "
            f"that errs high) is within {within}, or when its completeness delta is within {within} of "
            f"|F(x)−F(x′)| and that error within {guard} — it is flagged only when neither holds at {cap}")


DEFAULT_SHAPLEY_SAMPLES = 10
"""--shapley-samples: Captum's ShapleyValueSampling permutations per text (1 + samples × words forward rows).
Each permutation's values add up exactly (see SHAPLEY_GAP), so more permutations lower the sampling
noise of single words, not the additivity gap."""

DEFAULT_SURROGATE_SAMPLES = 500
"""--surrogate-samples: coalitions of words LIME and KernelSHAP draw per text (Captum's `n_samples`), one forward
row each. A surrogate with about as many samples as words fits its own samples whatever it says, so the
default is a few times a review's words; KernelSHAP's values add up whatever the count (see KERNEL_SHAP_GAP)."""

KERNEL_SHAP_GAP = 1e-3
"""KernelSHAP: Captum holds the fit to f(x) and f(no words) by weighting those two coalitions 10⁶ times the
others, so Σ word values − (f(x) − f(no words)) is small but, unlike Shapley value sampling's, not only fp32
rounding; a gap above KERNEL_SHAP_GAP × max(|f(x) − f(no words)|, 1 logit) is flagged."""

def kernel_shap_gap_allowed(logit_change: float) -> float:
    """The largest |additivity gap| of KernelSHAP that its fit's hold on f(x) and f(no words) explains."""
    return KERNEL_SHAP_GAP * max(abs(logit_change), 1.0)


LIME_FIT = 0.5
"""LIME: a surrogate whose adjusted R² (`adjusted_fit`) is below this reproduces less than half of what the target
logit does over its samples, once what its free coefficients would fit by chance is taken off; the page says its
coefficients describe the model poorly there. A fit that cannot be measured (`adjusted_fit` None) is flagged
alike."""


def too_few_samples(samples: int | None, words: int) -> bool:
    """Fewer sampled coalitions than words + 2 (`samples` None or `words` 0: not known, False): a linear surrogate
    over the words (LIME's, KernelSHAP's) then fits its samples whatever the model does, so its coefficients are not
    determined by the model, and LIME's `adjusted_fit` is not defined (n − p − 1 ≤ 0)."""
    return samples is not None and words > 0 and samples < words + 2


def adjusted_fit(r2: float, samples: int, words: int) -> float | None:
    """LIME's fit as reportgen states it: the weighted R² of its surrogate on its own samples, adjusted for the
    words it fits, 1 − (1 − R²)(n − 1)/(n − p − 1) with n = `samples` (coalitions drawn) and p = `words` (the
    features); None ("not measurable") where n − p − 1 ≤ 0.

    The in-sample R² alone rewards too few samples: with about as many samples as words a linear model fits
    anything, so R² → 1. The adjustment takes off what p free coefficients fit by chance, and is at most R²
    (below 0 for a fit no better than chance). n is the samples drawn, not Kish's effective size (Σw)²/Σw²:
    LIME's weights exp(−d²) of a cosine distance d ∈ [0, 1] lie in [e⁻¹, 1] (about 0.92 for the typical
    coalition, half the words kept), so the effective size is at least 0.83 n and about 0.99 n in practice; n − p − 1
    is the residual degrees of freedom of weighted least squares (statsmodels' WLS uses it too); and with n the
    fit is a function of what a report stores (--surrogate-samples and the sample's words), so a page says why a
    fit is not measurable and an older file's R² is brought to this one exactly (`results.upgrades`). p counts every
    word although the ridge penalty (α = 1) fits fewer effective parameters: the adjustment errs strict."""
    if samples - words - 1 <= 0:
        return None
    return 1.0 - (1.0 - r2) * (samples - 1) / (samples - words - 1)

SHAPLEY_GAP = 1e-4
"""Shapley value sampling: Σ word values − (f(x) − f(no words)) is 0 but for fp32 rounding (every
permutation's marginal contributions telescope); a gap above SHAPLEY_GAP × max(|f(x) − f(no words)|, 1
logit) means the model is not deterministic (dropout left on, non-deterministic kernels) and is flagged."""


def shapley_gap_allowed(logit_change: float) -> float:
    """The largest |additivity gap| of Shapley value sampling that counts as fp32 rounding."""
    return SHAPLEY_GAP * max(abs(logit_change), 1.0)


PRECISIONS = ("fp32", "bf16", "fp16")
POOLINGS = ("mean-all", "masked-mean", "cls")
"""mean-all: mean over every position, padding included (the mean-pooled BERT state dict of
docs/models.md); masked-mean: mean over real tokens only; cls: the [CLS] position's hidden state."""
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")
"""File endings of a state-dict checkpoint; anything else is a Hugging Face model directory or a hub id."""
SCALES = ("share", "shared", "per-column")
"""share: each model's signed share of its own Σ|attribution| (%), one scale for both columns (the
default: a model with smaller logits does not look blank); shared: raw scores on one scale; per-column:
raw scores, each column on its own scale."""
DEFAULT_SCALE = "share"
DEFAULT_TARGET = "common"
LABEL_THRESHOLD = 0.5
"""A multi-label model predicts every label whose sigmoid probability is above this."""


def class_position(name: str, class_names: Sequence[str]) -> int | None:
    """The index of the class `name` names (--target, --target-class, a label written as a name): the class spelt
    exactly so, else the only one equal to it case aside ("Insult" → insult), else an index below the number of
    classes written as digits ("1"); None otherwise."""
    if name in class_names:
        return list(class_names).index(name)
    folded = [i for i, known in enumerate(class_names) if known.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    return int(name) if name.isdigit() and int(name) < len(class_names) else None

GRANULARITIES = ("word", "wordpiece")

