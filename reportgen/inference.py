"""Forward passes without autograd: predictions for reports and scans."""

from __future__ import annotations

from collections.abc import Callable

import torch

from reportgen.batching import ChunkRunner, autocast
from reportgen.loading.attention import trimmed_padding_keys
from reportgen.loading.inputs import EncodedTexts, rows_of
from reportgen.loading.models import LoadedModel


@torch.inference_mode()
def predict_logits(model: LoadedModel, inputs: EncodedTexts, *, batch_size: int, precision: str = "fp32",
                   on_progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """Class logits, (batch, classes) as fp32 on the model's device."""
    device = model.device
    out = torch.empty(len(inputs), model.info.num_classes, dtype=torch.float32, device=device)
    types = model.token_types(inputs)

    def work(start: int, stop: int) -> None:
        with autocast(device, precision), trimmed_padding_keys(model.module):
            logits = model.logits(inputs.attention_mask[start:stop].to(device),
                                  input_ids=inputs.input_ids[start:stop].to(device),
                                  token_type_ids=rows_of(types, slice(start, stop)))
        out[start:stop] = logits.float()

    ChunkRunner(batch_size, on_progress).run(len(inputs), work)
    return out
