"""Scaled-dot-product attention that skips padding *keys*: exact, and cheaper on short texts.

A mean-all model pools over all positions, so every padding position must stay a *query*. But the
attention mask hides padding *keys* from every query: a trailing run of keys that no row and no
query may see gets softmax weight exactly 0, so cutting it before the kernel changes nothing
except the time (attention is quadratic in the keys; IMDB reviews fill about half of 512).

Used through `trimmed_padding_keys(module)`, which switches a model whose config says "sdpa" to
this variant for the duration of a forward/backward pass and restores it afterwards. Where
transformers has no attention registry (older versions), it does nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

NAME = "reportgen-sdpa"


class _VisibleKeys:
    """Keys [0, n) that at least one row and query may attend to, computed once per mask.

    Every layer of one forward pass receives the same mask object, and finding n needs one
    host-device sync, so the answer is kept for that object only.
    """

    def __init__(self) -> None:
        self._mask: weakref.ref | None = None
        self._count = 0

    def __call__(self, mask: torch.Tensor) -> int:
        if self._mask is not None and self._mask() is mask:
            return self._count
        visible = mask.any(dim=-2).reshape(-1, mask.shape[-1]).any(dim=0)
        indices = visible.nonzero()
        count = int(indices[-1]) + 1 if len(indices) else mask.shape[-1]
        self._mask, self._count = weakref.ref(mask), count
        return count


_visible_keys = _VisibleKeys()


def trimmed_sdpa(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                 attention_mask: torch.Tensor | None, **kwargs):
    """transformers' SDPA attention on keys cut to the last one any query can see."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if attention_mask is not None and attention_mask.dtype == torch.bool \
            and attention_mask.shape[-1] == key.shape[-2]:
        count = _visible_keys(attention_mask)
        if count < key.shape[-2]:
            key, value, attention_mask = key[..., :count, :], value[..., :count, :], attention_mask[..., :count]
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def _register() -> bool:
    """Make NAME a valid attention implementation; False where this transformers cannot."""
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    except ImportError:
        return False
    AttentionInterface.register(NAME, trimmed_sdpa)
    AttentionMaskInterface.register(NAME, sdpa_mask)  # the same boolean mask plain SDPA gets
    return True


AVAILABLE = _register()


@contextmanager
def trimmed_padding_keys(module: nn.Module) -> Iterator[None]:
    """Run `module` with padding keys trimmed wherever it uses transformers' SDPA attention."""
    configs = {id(config): config for sub in module.modules()
               if getattr(config := getattr(sub, "config", None), "_attn_implementation", None) == "sdpa"}
    if not AVAILABLE or not configs:
        yield
        return
    for config in configs.values():
        config._attn_implementation = NAME
    try:
        yield
    finally:
        for config in configs.values():
            config._attn_implementation = "sdpa"
