"""Saliency from the gradient at the input itself: one backward pass per text."""

from __future__ import annotations

import torch

from reportgen.attribution.base import Attributor, TokenScores, check_finite, target_logit_gradient, word_embeddings
from reportgen.loading.inputs import EncodedTexts, rows_of
from reportgen.loading.models import LoadedModel


class _GradientAtInput(Attributor):
    """Shared loop: ∂ logit / ∂ x per text, reduced over the hidden dimension by `reduce`."""

    def rows(self, num_texts: int) -> int:
        return num_texts

    @staticmethod
    def reduce(gradient: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def attribute(self, model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor) -> TokenScores:
        device = model.device
        embeds = word_embeddings(model, inputs.input_ids)
        mask, targets = inputs.attention_mask.to(device), targets.to(device)
        types = model.token_types(inputs)
        scores = torch.empty(embeds.shape[:2], dtype=torch.float32, device=device)

        def work(start: int, stop: int) -> None:
            gradient, _ = target_logit_gradient(model, embeds[start:stop], mask[start:stop],
                                                targets[start:stop], self.settings.precision,
                                                rows_of(types, slice(start, stop)))
            scores[start:stop] = self.reduce(gradient, embeds[start:stop])

        self.runner.run(len(inputs), work)
        check_finite(scores, self.name)
        return TokenScores(scores)


class Gradient(_GradientAtInput):
    """‖∂ logit / ∂ x_t‖₂ per token: how sensitive the logit is to that token (unsigned)."""

    name = "gradient"

    @staticmethod
    def reduce(gradient: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        return gradient.norm(dim=-1)


class GradientXInput(_GradientAtInput):
    """Σ_h (∂ logit / ∂ x_t)_h · x_t,h per token: first-order contribution of the token (signed)."""

    name = "gradient-x-input"

    @staticmethod
    def reduce(gradient: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        return (gradient * embeds).sum(dim=-1)
