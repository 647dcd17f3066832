"""LIME and KernelSHAP of the words, through Captum (`Lime`, `KernelShap`): a linear surrogate fitted to the target
logit of sampled coalitions of words.

A feature is a word of the report (`reportgen.attribution.perturbation.word_features`), as for occlusion and
Shapley value sampling; a coalition is the text with only some words (the others removed as the faithfulness
metrics remove them). Captum sees a "word present" vector (1 per word; baseline 0) and a forward function that
builds the shortened rows through `reportgen.perturbation`, batching `perturbations_per_eval` = --batch-size
coalitions per pass. For each text Captum draws `samples` coalitions, weighs them and fits a linear model of the
word indicators to their logits; its coefficients are the words' values.

- LIME (Ribeiro et al. 2016), Captum's defaults: each word kept with probability ½, weights exp(−d²) of the
  cosine distance d between the coalition and the whole text, surrogate ridge regression with α = 1 (the `lime`
  package's default). Its fit is kept per text (`WordValues.fit`): the weighted R² on its samples adjusted for
  the words it fits (`choices.adjusted_fit`; NaN, "not measurable", with fewer samples than words + 2): a surrogate
  that fits badly explains little, whatever its coefficients say, and the R² on its own samples alone would
  reward too few samples (with about as many samples as words it is ~1 whatever the model does).
- KernelSHAP (Lundberg & Lee 2017): coalition sizes drawn from the Shapley kernel, f(x) and f(no words) held by a
  weight 10⁶, surrogate ordinary weighted least squares: its values estimate the Shapley values and add up to
  f(x) − f(no words) up to the pull of the other samples on those two (the additivity gap, as Shapley value
  sampling's; `choices.KERNEL_SHAP_GAP` bounds it). A one-word text's value is f(x) − f(no words) exactly.

The surrogate: Captum's own linear models are trained by scikit-learn (not a dependency of reportgen) or by SGD
(`SGDLinearRegression`, …: 100 full-batch epochs at a learning rate of 0.01 from zero, far from the
least-squares solution on these problems, so the values would depend on the optimiser's stopping point). So the
surrogate is Captum's `LinearModel` with a train function of ours that solves the same weighted (ridge) least
squares in closed form with torch (float64, minimum norm when the samples do not determine every word):
deterministic and exactly the estimator each method defines.

Every draw is seeded (seed 0 per text, Captum's draws use torch's global generator inside a forked state), so a
report is reproducible and both models see the same coalitions of a text. Cost per text: `samples` rows (and 2
more for KernelSHAP's gap). Captum is imported only when a method runs.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from reportgen.attribution.base import AttributionSettings
from reportgen.attribution.options import MethodOptions
from reportgen.attribution.perturbation import Coalitions, PerturbationAttributor, WordValues
from reportgen.attribution.surrogate_options import SurrogateOptions
from reportgen.choices import adjusted_fit

SEED = 0
LIME_RIDGE = 1.0  # the `lime` package's Ridge(alpha=1)


def weighted_least_squares(model: Any, dataloader: Any, construct_kwargs: dict[str, Any], **_: Any) -> dict[str, float]:
    """Captum `LinearModel` train function: minimise Σ_i w_i (y_i − b − x_i·β)² + `model.ridge`·‖β‖² in closed form.

    dataloader: batches of (x (n, M) 0/1, y (n,), w (n,)). Sets the model's weights (1, M) and bias (1,),
    `model.fit_r2`, the weighted R² 1 − Σw(y − ŷ)² / Σw(y − ȳ_w)² on the samples (1.0 where y is constant), and
    `model.fit`, that R² adjusted for the M words (`choices.adjusted_fit` with n samples; NaN where n − M − 1 ≤ 0).
    """
    parts = list(dataloader)
    x = torch.cat([p[0] for p in parts]).double().cpu()
    y = torch.cat([p[1] for p in parts]).double().cpu().view(-1)
    w = torch.cat([p[2] for p in parts]).double().cpu().view(-1) if len(parts[0]) == 3 else torch.ones_like(y)
    rows, features = x.shape
    design = torch.cat([x, torch.ones(rows, 1, dtype=torch.float64)], dim=1) * w.sqrt().view(-1, 1)
    target = y * w.sqrt()
    if model.ridge > 0:
        penalty = torch.cat([torch.eye(features, dtype=torch.float64) * model.ridge ** 0.5,
                             torch.zeros(features, 1, dtype=torch.float64)], dim=1)
        design, target = torch.cat([design, penalty]), torch.cat([target, torch.zeros(features, dtype=torch.float64)])
    solution = torch.linalg.lstsq(design, target.view(-1, 1), driver="gelsd").solution.view(-1)
    coefficients, intercept = solution[:features], solution[features]
    fitted = x @ coefficients + intercept
    mean = (w * y).sum() / w.sum()
    spread = float((w * (y - mean) ** 2).sum())
    residual = float((w * (y - fitted) ** 2).sum())
    model.fit_r2 = 1.0 - residual / spread if spread > 0 else 1.0
    adjusted = adjusted_fit(model.fit_r2, rows, features)
    model.fit = math.nan if adjusted is None else adjusted
    model._construct_model_params(weight_values=coefficients.float().view(1, -1), bias_value=intercept.float().view(1),
                                  **construct_kwargs)
    return {"r2": model.fit_r2, "adjusted_r2": model.fit}


def least_squares_model(ridge: float) -> Any:
    """Captum's `LinearModel` trained by `weighted_least_squares` with this ridge α (0: ordinary least squares)."""
    from captum._utils.models.linear_model import LinearModel

    model = LinearModel(train_fn=weighted_least_squares)
    model.ridge = ridge
    return model


class _Surrogate(PerturbationAttributor):
    """What LIME and KernelSHAP share: the options, the seeded per-text Captum call, the rows."""


    def __init__(self, settings: AttributionSettings, options: SurrogateOptions | None = None) -> None:
        """`options`: their own (`surrogate_options.SurrogateOptions`: coalitions per text, Captum's `n_samples`);
        None: the default. Options that do not hold: ReportgenError."""
        super().__init__(settings)
        options = options or SurrogateOptions()
        options.check()
        self.samples = options.samples

    @classmethod
    def from_options(cls, settings: AttributionSettings, options: MethodOptions) -> _Surrogate:
        return cls(settings, options.surrogate)

    def planned_rows(self, words: list[int]) -> int:
        return sum(self.samples for n in words if n)

    def explainer(self, forward: Any) -> Any:
        """The Captum attribution object for one text's forward function."""
        raise NotImplementedError

    def fit_text(self, coalitions: Coalitions, text: int, count: int) -> tuple[torch.Tensor, float]:
        """One text's word values (count,) and its surrogate's fit (adjusted R², `weighted_least_squares`; NaN: not
        measurable), from Captum with the text's seed."""

        def forward(present: torch.Tensor) -> torch.Tensor:
            return coalitions.logits(torch.full((len(present),), text), present > 0.5)

        explainer = self.explainer(forward)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            found = explainer.attribute(torch.ones(1, count), baselines=0.0,
                                        feature_mask=torch.arange(count).view(1, -1), n_samples=self.samples,
                                        perturbations_per_eval=self.settings.batch_size)
        return found[0].float().cpu(), float(explainer.interpretable_model.fit)


class Lime(_Surrogate):
    name = "lime"

    def explainer(self, forward: Any) -> Any:
        from captum.attr import Lime as CaptumLime

        return CaptumLime(forward, interpretable_model=least_squares_model(LIME_RIDGE))

    def word_values(self, coalitions: Coalitions) -> WordValues:
        words = coalitions.words
        values = torch.zeros(len(words), max(words, default=0))
        fit = torch.full((len(words),), float("nan"))
        for text, count in enumerate(words):
            if count:
                values[text, :count], fit[text] = self.fit_text(coalitions, text, count)
        return WordValues(values, fit=fit)


class KernelShap(_Surrogate):
    name = "kernel-shap"

    def planned_rows(self, words: list[int]) -> int:
        """Per text f(x) and f(no words) for the gap, and the samples unless it has one word (exact from those)."""
        return sum(2 + (self.samples if n > 1 else 0) for n in words)

    def explainer(self, forward: Any) -> Any:
        from captum.attr import KernelShap as CaptumKernelShap

        explainer = CaptumKernelShap(forward)
        explainer.interpretable_model = least_squares_model(0.0)
        return explainer

    def word_values(self, coalitions: Coalitions) -> WordValues:
        words = coalitions.words
        values = torch.zeros(len(words), max(words, default=0))
        full, empty = coalitions.ends()
        change = (full - empty).cpu()
        for text, count in enumerate(words):
            if count == 1:  # Captum's size distribution is empty for one feature; its Shapley value is exact
                values[text, 0] = change[text]
            elif count:
                values[text, :count], _ = self.fit_text(coalitions, text, count)
        gap = (values.double().sum(dim=1) - change.double()).float()
        return WordValues(values, gap=gap, change=change)
