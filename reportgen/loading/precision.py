"""The precision of a model's weights, and the one precision reportgen computes with.

Weights may be stored in bfloat16 or float16 (a Hugging Face directory with `dtype: bfloat16`, a
half-precision state dict, a module in memory after `.half()`), but every attribution method feeds
fp32 word embeddings to the model and takes fp32 gradients: a half-precision layer norm then stops
with "mixed dtype". So every model is computed in fp32, its weights upcast once when it is loaded
(bfloat16 and float16 → float32 is exact), and the stored precision is recorded (`ModelInfo.weights_dtype`)
for the report's header. `--precision bf16/fp16` still runs the forward passes under autocast.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn

from reportgen.choices import role_word
from reportgen.errors import ReportgenError

COMPUTE_DTYPE = torch.float32
"""Every model's floating parameters and buffers, while reportgen works with it."""


def dtype_name(dtype: torch.dtype) -> str:
    """'bfloat16' for torch.bfloat16: the name a report records."""
    return str(dtype).removeprefix("torch.")


def weights_dtype(tensors: Iterable[torch.Tensor]) -> str:
    """The floating dtype that holds most of `tensors`' elements ('float32', 'bfloat16', 'float16', …);
    'float32' when none is floating. A half-precision model that keeps a few layers in fp32 (transformers'
    `_keep_in_fp32_modules`) is still named by its half precision."""
    elements: Counter[torch.dtype] = Counter()
    for tensor in tensors:
        if tensor.is_floating_point():
            elements[tensor.dtype] += tensor.numel()
    return dtype_name(elements.most_common(1)[0][0]) if elements else dtype_name(COMPUTE_DTYPE)


def for_computation(module: nn.Module, role: str, device: torch.device,
                    dtype: torch.dtype = COMPUTE_DTYPE) -> nn.Module:
    """`module` ready for attribution, in place: eval mode (dropout off), frozen parameters (methods take
    gradients at the inputs only), on `device`, floating parameters and buffers in fp32 (or `dtype`: a large
    model's half precision on a GPU, `memory.computation_dtype`, run under `computing`).

    A module whose weights are inference tensors (made under `torch.inference_mode()`) is a ReportgenError:
    no gradient can pass through them, and they cannot be changed outside inference mode.
    """
    if any(t.is_inference() for t in (*module.parameters(), *module.buffers())):
        raise ReportgenError(f"the {role_word(role)} module's weights were created under torch.inference_mode(), so "
                             "no gradient can pass through them; create or load it outside inference mode "
                             "(torch.no_grad() is fine)")
    module.eval().requires_grad_(False)
    return module.to(device=device, dtype=dtype)


def computing(module: nn.Module) -> AbstractContextManager:
    """Autocast in the module's own half precision where its weights are kept in one (a large model on a GPU),
    so that fp32 inputs (integrated gradients' word embeddings) meet half-precision weights; else nothing."""
    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), COMPUTE_DTYPE)
    if dtype == COMPUTE_DTYPE:
        return nullcontext()
    return torch.autocast(device_type=next(module.parameters()).device.type, dtype=dtype)
