"""Texts with some of their tokens removed, run through a model in batches: logits back.

The one definition of "removed" that the faithfulness metrics (`reportgen.faithfulness.eraser`)
and the perturbation attributors (`reportgen.attribution.perturbation`) share: a removed token is
taken out of the sequence, later tokens shift left, and the row is re-padded with [PAD] to the
input's width with its attention mask, so a model that pools over padding (the user's mean-all)
still sees max_length positions. Which tokens stay is given per row as a boolean mask over the
text's positions (padding positions are never kept).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from reportgen.batching import ChunkRunner, autocast
from reportgen.loading.attention import trimmed_padding_keys
from reportgen.loading.inputs import EncodedTexts, rows_of
from reportgen.loading.models import LoadedModel

KeptRows = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""Given row numbers (on the model's device), each row's text index (rows,) and the positions of
that text that stay (rows, seq) bool."""


def remove_tokens(input_ids: torch.Tensor, kept: torch.Tensor, pad_token_id: int,
                  token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(ids, attention mask, token type ids) per row: the kept tokens shifted left in order, then
    [PAD] to the same width; each kept token takes its token type id with it (padding gets 0), so a
    sentence pair keeps its segments. None token type ids stay None.

    input_ids, token_type_ids: (rows, seq) long; kept: (rows, seq) bool.
    """
    order = (~kept).to(torch.uint8).sort(dim=1, stable=True).indices  # kept positions first, in order
    mask = torch.arange(kept.shape[1], device=kept.device) < kept.sum(dim=1, keepdim=True)
    ids = torch.where(mask, input_ids.gather(1, order), torch.full_like(input_ids, pad_token_id))
    types = None if token_type_ids is None else \
        torch.where(mask, token_type_ids.gather(1, order), torch.zeros_like(token_type_ids))
    return ids, mask.long(), types


@torch.inference_mode()
def removal_logits(model: LoadedModel, inputs: EncodedTexts, kept_rows: KeptRows, sizes: torch.Tensor, *,
                   batch_size: int, precision: str = "fp32",
                   on_progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """Class logits (rows, classes), fp32 on the model's device, of every row that `kept_rows` describes.

    `sizes` (rows,): the tokens each row keeps; the longest rows run first, so that the rows of a
    pass have similar lengths and their padding keys are trimmed (`trimmed_padding_keys`). Rows are
    built a batch at a time, so memory holds one batch of perturbed texts, never all of them.
    """
    device = model.device
    order = sizes.flatten().argsort(descending=True, stable=True)
    input_ids = inputs.input_ids.to(device)
    logits = torch.empty(len(order), model.info.num_classes, dtype=torch.float32, device=device)
    pad_token_id = model.tokenizer.pad_token_id
    token_types = model.token_types(inputs)

    def work(start: int, stop: int) -> None:
        rows = order[start:stop].to(device)
        text, kept = kept_rows(rows)
        ids, mask, types = remove_tokens(input_ids[text], kept, pad_token_id, rows_of(token_types, text))
        with autocast(device, precision), trimmed_padding_keys(model.module):
            logits[rows] = model.logits(mask, input_ids=ids, token_type_ids=types).float()

    ChunkRunner(batch_size, on_progress).run(len(order), work)
    return logits
