"""Decoder-only sequence classifiers (GPT-2, Llama, Qwen2/3, Mistral, Gemma, Phi-3 `*ForSequenceClassification`),
read out exactly as they pool: the score head on the hidden state of each row's last real token.

Their own `forward` finds that token from `input_ids` (the rightmost id that is not `pad_token_id`); given
`inputs_embeds` alone, as every gradient method calls it, it reads the last *position*, which is padding
in a padded row. And models with rotary positions number positions 0, 1, … whatever the attention mask
says, so a left-padded row is not the text alone. reportgen therefore runs the decoder body itself and
takes the read-out from the attention mask, the same way for every pass (predictions, gradients, word
removal, attention):

- position ids count the real tokens only: cumsum(mask) − 1 (0 on padding), so any padding gives each
  token the position it has in the text alone;
- the read-out is each row's last position whose mask is 1, gathered before the score head (a linear
  map per position, so this equals the model's own pooled logits);
- texts are padded on the right (`prepared` sets the tokenizer's side): under causal attention no real
  token ever attends to a padding position, so a padded row's read-out is the unpadded text's;
- a row without any real token (an empty text where the tokenizer adds no BOS; all words removed) reads its
  pad token alone at position 0 (`readable`), as the model's own forward does for a row of pad ids.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

RIGHT_PADDING_NOTE = "decoder: padded on the right and read out at each text's last real token"


def right_padded(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """`tokenizer` if it pads on the right, else a copy that does (the one passed in is never changed)."""
    if tokenizer.padding_side == "right":
        return tokenizer
    padded = copy.deepcopy(tokenizer)
    padded.padding_side = "right"
    return padded


def network_of(module: nn.Module) -> nn.Module:
    """The transformers model that computes: a PEFT model's underlying model (its adapter layers stay in
    place and active), any other module itself."""
    get_base = getattr(module, "get_base_model", None)
    return get_base() if callable(get_base) and type(module).__module__.startswith("peft") else module


def is_decoder_classifier(module: nn.Module) -> bool:
    """Whether `module` (or the model a PEFT model wraps) is a decoder-only sequence classifier: a body under
    its `base_model_prefix` and a per-position `score` head read at the last token, not an encoder-decoder."""
    network = network_of(module)
    config = getattr(network, "config", None)
    prefix = getattr(network, "base_model_prefix", None)
    return (config is not None and not getattr(config, "is_encoder_decoder", False)
            and isinstance(getattr(network, "score", None), nn.Module)
            and isinstance(prefix, str) and isinstance(getattr(network, prefix, None), nn.Module))


def last_real_token(attention_mask: torch.Tensor) -> torch.Tensor:
    """(batch,) long: each row's last position whose mask is 1 (right or left padding alike; 0 for a row
    without any real token)."""
    positions = torch.arange(attention_mask.shape[-1], device=attention_mask.device)
    return (positions * (attention_mask != 0).long()).argmax(dim=-1)


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """(batch, seq) long: each real token's position in its text alone (cumsum of the mask − 1), 0 on padding."""
    real = (attention_mask != 0).long()
    return (real.cumsum(dim=-1) - 1).clamp(min=0) * real


def readable(attention_mask: torch.Tensor) -> torch.Tensor:
    """The mask with the first position of every row that has no real token (an empty text of a tokenizer that adds
    no BOS, GPT-2's; every word removed) made real: such a row reads its pad token alone, as the model's own forward
    reads a row of pad ids, instead of attending to nothing."""
    empty = (attention_mask != 0).sum(dim=-1, keepdim=True) == 0
    first = torch.zeros_like(attention_mask, dtype=torch.bool)
    first[..., 0] = True
    return torch.where(empty & first, torch.ones_like(attention_mask), attention_mask)


def decoder_forward(module: nn.Module, attention_mask: torch.Tensor, *, input_ids: torch.Tensor | None = None,
                    inputs_embeds: torch.Tensor | None = None,
                    output_attentions: bool = False) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
    """(class logits (batch, classes), per-layer attention probabilities or None) of a decoder classifier:
    its body on ids or word embeddings with the positions of each text alone, then its score head on the
    hidden state of each row's last real token."""
    network = network_of(module)
    body = getattr(network, network.base_model_prefix)
    attention_mask = readable(attention_mask)
    extra = {"output_attentions": True} if output_attentions else {}
    out = body(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask,
               position_ids=position_ids(attention_mask), use_cache=False, **extra)
    hidden = out.last_hidden_state
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    pooled = hidden[rows, last_real_token(attention_mask).to(hidden.device)]
    return network.score(pooled), (out.attentions if output_attentions else None)
