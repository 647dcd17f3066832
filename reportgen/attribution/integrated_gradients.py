"""Integrated gradients (Sundararajan et al., 2017) over the word embeddings.

IG_t = Σ_h (x − x′)_t,h · ∫₀¹ ∂F(x′ + α(x − x′)) / ∂x_t,h dα, with the integral taken by a
quadrature rule. The baseline x′ is the [PAD] embedding at every position except [CLS]/[SEP]
(which keep their own), with the same attention mask. Completeness says Σ_t IG_t = F(x) − F(x′);
the difference is the convergence delta.
"""

from __future__ import annotations

import torch

from reportgen.attribution.attention import trimmed_padding_keys
from reportgen.attribution.base import (AttributionSettings, Attributor, TokenScores, check_finite,
                                        target_logit_gradient, word_embeddings)
from reportgen.attribution.quadrature import nodes_and_weights
from reportgen.batching import ChunkRunner, autocast
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel


def baseline_ids(inputs: EncodedTexts, pad_token_id: int) -> torch.Tensor:
    """[PAD] everywhere except real special tokens ([CLS], [SEP]), which are kept."""
    keep = inputs.special_tokens_mask.bool() & inputs.attention_mask.bool()
    return torch.where(keep, inputs.input_ids, torch.full_like(inputs.input_ids, pad_token_id))


class IntegratedGradients(Attributor):
    name = "integrated-gradients"

    def __init__(self, settings: AttributionSettings, steps: int = 50, quadrature: str = "gauss-legendre") -> None:
        super().__init__(settings)
        self.alphas, self.weights = nodes_and_weights(quadrature, steps)
        self.steps, self.quadrature = steps, quadrature

    def rows(self, num_texts: int) -> int:
        return num_texts * self.steps

    def attribute(self, model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor) -> TokenScores:
        device = model.device
        x = word_embeddings(model, inputs.input_ids)
        x_base = word_embeddings(model, baseline_ids(inputs, model.tokenizer.pad_token_id))
        mask, targets = inputs.attention_mask.to(device), targets.to(device)
        alphas = torch.tensor(self.alphas, dtype=torch.float32, device=device)
        weights = torch.tensor(self.weights, dtype=torch.float32, device=device)
        path_gradient = torch.zeros_like(x)  # Σ_k w_k ∂F/∂x at α_k, per text

        def work(start: int, stop: int) -> None:
            # Row r is text r // steps at path step r % steps: chunks may span several texts.
            row = torch.arange(start, stop, device=device)
            text, step = row // self.steps, row % self.steps
            alpha = alphas[step].view(-1, 1, 1)
            points = x_base[text] + alpha * (x[text] - x_base[text])
            gradient, _ = target_logit_gradient(model, points, mask[text], targets[text], self.settings.precision)
            path_gradient.index_add_(0, text, gradient * weights[step].view(-1, 1, 1))

        self.runner.run(len(inputs) * self.steps, work)
        scores = ((x - x_base) * path_gradient).sum(dim=-1)
        check_finite(scores, self.name)
        change = self._endpoint_logits(model, x, x_base, mask, targets)
        return TokenScores(scores, convergence_delta=scores.sum(dim=1) - change, logit_change=change)

    def _endpoint_logits(self, model: LoadedModel, x: torch.Tensor, x_base: torch.Tensor,
                         mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """F(x) − F(x′) for the target logit, in the same precision as the path (forward only)."""
        change = torch.empty(x.shape[0], dtype=torch.float32, device=x.device)

        def work(start: int, stop: int) -> None:
            both = torch.cat([x[start:stop], x_base[start:stop]])
            with torch.inference_mode(), autocast(x.device, self.settings.precision), \
                    trimmed_padding_keys(model.module):
                logits = model.logits(mask[start:stop].repeat(2, 1), inputs_embeds=both).float()
            chosen = logits.gather(1, targets[start:stop].repeat(2).view(-1, 1)).squeeze(1)
            change[start:stop] = chosen[: stop - start] - chosen[stop - start:]

        ChunkRunner(self.runner.batch_size).run(x.shape[0], work)
        return change
