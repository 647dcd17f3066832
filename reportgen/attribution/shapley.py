"""Shapley values of the words, estimated by Captum's ShapleyValueSampling (Castro et al. 2009,
"Polynomial calculation of the Shapley value based on sampling"; Štrumbelj & Kononenko 2010).

A player is a word of the report (`reportgen.attribution.perturbation.word_features`); the value of a
coalition is the target logit of the text with only those words (the others removed as the
faithfulness metrics remove them). For each of `samples` random orders of the words, Captum adds the
words one at a time to the empty text and credits each with the logit change it causes; a word's
value is the mean over the orders. Captum sees a "word present" vector (1 per word; baseline 0) with
one feature per word, and a forward function that builds the shortened rows through
`reportgen.perturbation`; it batches `perturbations_per_eval` = --batch-size coalitions of one order
per pass.

Additivity: every order's credits telescope to f(x) − f(no words), so the values add up to it
exactly in exact arithmetic; the report shows Σ values − (f(x) − f(no words)), the rounding left,
as the additivity gap (`reportgen.choices.SHAPLEY_GAP` bounds it). The orders are seeded (seed 0 per
text), so a report is reproducible and both models see the same orders of a text. Cost per text:
1 + samples × words rows for Captum and 2 for the gap's f(x) and f(no words). Captum is imported
only when the method runs.
"""

from __future__ import annotations

import torch

from reportgen.attribution.base import AttributionSettings
from reportgen.attribution.options import MethodOptions
from reportgen.attribution.perturbation import Coalitions, PerturbationAttributor, WordValues
from reportgen.attribution.shapley_options import ShapleyOptions

SEED = 0


class ShapleySampling(PerturbationAttributor):
    name = "shapley-sampling"

    def __init__(self, settings: AttributionSettings, options: ShapleyOptions | None = None) -> None:
        """`options`: its own (`shapley_options.ShapleyOptions`: random orders of the words per text, Captum's
        `n_samples`); None: the default. Options that do not hold: ReportgenError."""
        super().__init__(settings)
        options = options or ShapleyOptions()
        options.check()
        self.samples = options.samples

    @classmethod
    def from_options(cls, settings: AttributionSettings, options: MethodOptions) -> ShapleySampling:
        return cls(settings, options.shapley)

    def planned_rows(self, words: list[int]) -> int:
        return sum(2 + (1 + self.samples * n if n else 0) for n in words)

    def word_values(self, coalitions: Coalitions) -> WordValues:
        from captum.attr import ShapleyValueSampling

        words = coalitions.words
        values = torch.zeros(len(words), max(words, default=0))
        for text, count in enumerate(words):
            if not count:
                continue

            def forward(present: torch.Tensor, text: int = text) -> torch.Tensor:
                return coalitions.logits(torch.full((len(present),), text), present > 0.5)

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(SEED)
                found = ShapleyValueSampling(forward).attribute(
                    torch.ones(1, count), baselines=0.0, feature_mask=torch.arange(count).view(1, -1),
                    n_samples=self.samples, perturbations_per_eval=self.settings.batch_size)
            values[text, :count] = found[0].float().cpu()
        full, empty = coalitions.ends()
        change = (full - empty).cpu()
        gap = (values.double().sum(dim=1) - change.double()).float()
        return WordValues(values, gap=gap, change=change)
