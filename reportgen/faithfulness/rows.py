"""One model's rows with tokens removed, each distinct row computed once per text and shared by
every forward-only measure of a report: the ERASER metrics (`eraser`), the flip test (`flip`) and
the normalised AOPC's bounds (`naopc`).

A row is identified by what the model sees: the ids, attention mask and token type ids that
`perturbation.remove_tokens` makes of a text and the positions of it that stay. Two measures that
remove the same tokens of the same text ask for the same row (the unperturbed text, asked for by
all three; a flip search's first words and the ERASER metrics' top tokens; a bound's single
deletions and a flip that removes one one-piece word), as do removals that leave the same ids
(either of two equal tokens deleted; every token of any text deleted), and it runs once.

Every row is padded to the input's width whatever batch it runs in, so a row's logits do not depend
on which rows share its pass, up to the last bits of fp32 sums (the padding keys a pass trims,
`trimmed_padding_keys`, and the kernels' blocking follow the batch). Counts, words and verdicts
are the same as when each measure ran its own rows; probabilities agree to fp32 rounding
(`tests/test_shared_rows.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch

from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.perturbation import removal_logits, remove_tokens

Key = bytes


class RemovedRows:
    """Logits (classes,) fp32 of every (text, kept positions) row asked for so far, kept on the CPU and
    given back on the model's device.

    `inputs` are the texts that `text` indices refer to; `batch_size` and `precision` as for
    `perturbation.removal_logits`. `rows` counts the rows actually run, `asked` those asked for.
    """

    def __init__(self, model: LoadedModel, inputs: EncodedTexts, *, batch_size: int,
                 precision: str = "fp32") -> None:
        self.model, self.inputs = model, inputs
        self.batch_size, self.precision = batch_size, precision
        self.real = inputs.attention_mask.bool()
        self.pad_token_id = model.tokenizer.pad_token_id
        self.token_types = None if model.token_types(inputs) is None else inputs.token_type_ids
        self._logits: dict[Key, torch.Tensor] = {}
        self.rows = 0
        self.asked = 0

    def logits(self, text: torch.Tensor, kept: torch.Tensor, *,
               on_progress: Callable[[int], None] | None = None) -> torch.Tensor:
        """(rows, classes) logits of text[j] with only kept[j] (seq,) bool staying (padding never stays).

        Progress: the caller's stage counted every row it asks for in its bound, so the rows already
        known are counted done at once and the others as they run.
        """
        text, kept = text.cpu().long(), kept.cpu().bool() & self.real[text.cpu().long()]
        keys = self._keys(text, kept)
        self.asked += len(keys)
        first: dict[Key, int] = {}
        for j, key in enumerate(keys):
            if key not in self._logits and key not in first:
                first[key] = j
        missing = list(first.values())
        if on_progress is not None and len(keys) > len(missing):
            on_progress(len(keys) - len(missing))
        if missing:
            device = self.model.device
            which = torch.tensor(missing)
            text_d, kept_d = text[which].to(device), kept[which].to(device)
            computed = removal_logits(self.model, self.inputs, lambda r: (text_d[r], kept_d[r]),
                                      kept[which].sum(dim=1), batch_size=self.batch_size,
                                      precision=self.precision, on_progress=on_progress).cpu()
            for j, row in zip(missing, computed):
                self._logits[keys[j]] = row
            self.rows += len(missing)
        found = torch.stack([self._logits[key] for key in keys]) if keys else \
            torch.empty(0, self.model.info.num_classes)
        return found.to(self.model.device)

    def _keys(self, text: torch.Tensor, kept: torch.Tensor) -> list[Key]:
        """What the model sees of each row (its ids, attention mask and token type ids), as a 16-byte digest."""
        ids, mask, types = remove_tokens(self.inputs.input_ids[text], kept, self.pad_token_id,
                                         None if self.token_types is None else self.token_types[text])
        parts = [mask.sum(dim=1, keepdim=True), ids] + ([] if types is None else [types])
        whole = torch.cat([part.to(torch.int64) for part in parts], dim=1).numpy()
        return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in whole]

    def unperturbed(self, on_progress: Callable[[int], None] | None = None) -> torch.Tensor:
        """(texts, classes) logits of every text as it is."""
        return self.logits(torch.arange(len(self.inputs)), self.real, on_progress=on_progress)
