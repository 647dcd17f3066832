"""Attention-based saliency: attention rollout and gradient-weighted attention.

Both follow attention from the positions the classifier reads (its pooling) back to the input
tokens through every layer. Per layer l they build a (seq, seq) matrix M_l from the attention
probabilities A_l (batch, heads, seq, seq) and score token j by column j of wᵀ M_L ⋯ M_1, where w is
the pooling's readout row: uniform over all positions (mean-all), over real tokens (masked-mean),
or one-hot on [CLS] (cls, and Hugging Face encoder classifiers, which pool their first token), or one-hot on
the last real token (decoder classifiers: causal attention, grouped-query heads repeated per query head
as the eager path returns them).

- attention rollout (Abnar & Zuidema, 2020): M_l = rownorm(½·mean_h A_l + ½·I); target-independent.
- gradient-weighted attention (Chefer et al., 2021): M_l = I + mean_h (∂F/∂A_l ⊙ A_l)⁺ with F the target
  logit, i.e. R ← R + Ā_l·R from R = I; class-specific.

Attention probabilities exist only on transformers' eager attention path, so the model runs with
`eager_attention(module)` for these methods only.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from reportgen.attribution.base import (
    Attributor,
    TokenScores,
    autograd_on,
    check_finite,
    outside_inference,
    word_embeddings,
)
from reportgen.batching import autocast
from reportgen.choices import role_word
from reportgen.errors import ReportgenError
from reportgen.loading.classifier import pool
from reportgen.loading.decoder import last_real_token
from reportgen.loading.inputs import EncodedTexts, rows_of
from reportgen.loading.models import LoadedModel


@contextmanager
def eager_attention(module: nn.Module) -> Iterator[None]:
    """Run `module` on transformers' eager attention (the only path that returns probabilities),
    restoring every config's own implementation afterwards, also on error."""
    configs = {id(config): config for sub in module.modules()
               if hasattr(config := getattr(sub, "config", None), "_attn_implementation")}
    saved = [(config, config._attn_implementation) for config in configs.values()]
    try:
        for config, _ in saved:
            config._attn_implementation = "eager"
        yield
    finally:
        for config, implementation in saved:  # parents before sub-configs, as found
            config._attn_implementation = implementation


def attention_forward(model: LoadedModel, attention_mask: torch.Tensor, *, input_ids: torch.Tensor | None = None,
                      inputs_embeds: torch.Tensor | None = None,
                      token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(class logits, per-layer attention probabilities (batch, heads, seq, seq)) from one eager pass."""
    extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
    with eager_attention(model.module):
        if model.info.format == "huggingface":
            logits, attentions = model.outputs(attention_mask, input_ids=input_ids, inputs_embeds=inputs_embeds,
                                               token_type_ids=token_type_ids, attentions=True)
        else:  # reportgen's PooledBertClassifier: encoder with attentions, then its own pooling and head
            module = model.module
            out = module.bert(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                              output_attentions=True, **extra)
            pooled = pool(out.last_hidden_state, attention_mask, module.pooling)
            logits, attentions = module.classifier(module.dropout(pooled)), out.attentions
    if not attentions or any(a is None for a in attentions):
        raise ReportgenError(f"the {role_word(model.info.role)} model returns no attention probabilities; "
                             "attention methods need a transformers model with eager attention")
    return logits, list(attentions)


def readout_weights(model: LoadedModel, attention_mask: torch.Tensor) -> torch.Tensor:
    """w (batch, seq): the rows the classifier's pooling averages, each row summing to 1."""
    pooling = model.info.pooling or _head_pooling(model)
    if model.decoder:  # a decoder classifier reads its last real token (causal attention: nothing after it)
        weights = torch.nn.functional.one_hot(last_real_token(attention_mask), attention_mask.shape[-1]).float()
    elif pooling == "mean-all":
        weights = torch.ones(attention_mask.shape, dtype=torch.float32, device=attention_mask.device)
    elif pooling == "masked-mean":
        weights = attention_mask.float()
    else:
        weights = torch.zeros(attention_mask.shape, dtype=torch.float32, device=attention_mask.device)
        weights[:, 0] = 1.0
    return weights / weights.sum(dim=1, keepdim=True).clamp(min=1.0)


def _head_pooling(model: LoadedModel) -> str:
    """What a Hugging Face classification head reads: the first token, or (ModernBERT with
    `classifier_pooling: mean`) the mean over real tokens."""
    return "masked-mean" if getattr(model.module.config, "classifier_pooling", "cls") == "mean" else "cls"


def read_out(weights: torch.Tensor, layers: list[torch.Tensor]) -> torch.Tensor:
    """wᵀ M_L ⋯ M_1 for `layers` = [M_1, …, M_L]: L vector-matrix products, never a seq³ matrix product."""
    row = weights.unsqueeze(1)
    for matrix in reversed(layers):
        row = row @ matrix
    return row.squeeze(1)


def rollout_layer(attention: torch.Tensor) -> torch.Tensor:
    """Â = rownorm(½·mean_h A + ½·I): attention with the residual connection, rows summing to 1."""
    mixed = 0.5 * attention.float().mean(dim=1)
    mixed.diagonal(dim1=-2, dim2=-1).add_(0.5)
    return mixed / mixed.sum(dim=-1, keepdim=True)


class _AttentionFlow(Attributor):
    """Shared loop: per-layer matrices from one eager pass per batch, read out through the pooling."""

    def rows(self, num_texts: int) -> int:
        return num_texts

    @abstractmethod
    def layer_matrices(self, model: LoadedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       targets: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> list[torch.Tensor]:
        """[M_1, …, M_L], each (batch, seq, seq) fp32, for one batch of texts."""

    def attribute(self, model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor) -> TokenScores:
        device = model.device
        ids, mask = inputs.input_ids.to(device), inputs.attention_mask.to(device)
        targets, types = targets.to(device), model.token_types(inputs)
        scores = torch.empty(ids.shape, dtype=torch.float32, device=device)

        def work(start: int, stop: int) -> None:
            layers = self.layer_matrices(model, ids[start:stop], mask[start:stop], targets[start:stop],
                                         rows_of(types, slice(start, stop)))
            scores[start:stop] = read_out(readout_weights(model, mask[start:stop]), layers)

        self.runner.run(len(inputs), work)
        check_finite(scores, self.name)
        return TokenScores(scores)


class AttentionRollout(_AttentionFlow):
    """Attention rollout (Abnar & Zuidema, 2020): how much each token flows into the pooled positions."""

    name = "attention-rollout"

    def layer_matrices(self, model: LoadedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       targets: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> list[torch.Tensor]:
        with torch.inference_mode(), autocast(input_ids.device, self.settings.precision):
            _, attentions = attention_forward(model, attention_mask, input_ids=input_ids, token_type_ids=token_type_ids)
        return [rollout_layer(attention) for attention in attentions]


class AttentionGradient(_AttentionFlow):
    """Gradient-weighted attention (Chefer et al., 2021): attention that raises the target logit, rolled out."""

    name = "attention-gradient"

    def layer_matrices(self, model: LoadedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       targets: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> list[torch.Tensor]:
        # Parameters are frozen: embeddings that require grad put the attentions on the autograd graph.
        with autograd_on():  # whatever the caller's grad mode
            embeds = word_embeddings(model, input_ids).requires_grad_(True)
            attention_mask, targets = outside_inference(attention_mask), outside_inference(targets)
            token_type_ids = outside_inference(token_type_ids)
            with autocast(input_ids.device, self.settings.precision):
                logits, attentions = attention_forward(model, attention_mask, inputs_embeds=embeds,
                                                       token_type_ids=token_type_ids)
            chosen = logits.float().gather(1, targets.view(-1, 1)).sum()  # rows independent: one backward
            gradients = torch.autograd.grad(chosen, attentions)
        eye = torch.eye(input_ids.shape[1], device=input_ids.device)
        return [eye + (gradient.float() * attention.detach().float()).clamp(min=0).mean(dim=1)
                for gradient, attention in zip(gradients, attentions)]
