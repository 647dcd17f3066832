"""Turn texts into model inputs exactly as the user's pipeline did.

The user's model averages over every position, padding included, so padding is part of the
input: models that need it are padded to `max_length`, the others only to the longest text.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase


@dataclass
class EncodedTexts:
    input_ids: torch.Tensor  # (batch, seq)
    attention_mask: torch.Tensor  # 1 for real tokens, 0 for padding
    special_tokens_mask: torch.Tensor  # 1 for [CLS], [SEP] and padding
    truncated: list[bool]

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def lengths(self) -> list[int]:
        return self.attention_mask.sum(dim=1).tolist()

    def tokens(self, tokenizer: PreTrainedTokenizerBase) -> list[list[str]]:
        """Wordpieces of each text without its padding."""
        return [tokenizer.convert_ids_to_tokens(ids[:n].tolist())
                for ids, n in zip(self.input_ids, self.lengths())]

    def select(self, rows: slice | list[int]) -> EncodedTexts:
        index = rows if isinstance(rows, slice) else torch.as_tensor(rows, dtype=torch.long)
        flags = self.truncated[rows] if isinstance(rows, slice) else [self.truncated[i] for i in rows]
        return EncodedTexts(self.input_ids[index], self.attention_mask[index],
                            self.special_tokens_mask[index], flags)


def encode(tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int,
           pad_to_max_length: bool) -> EncodedTexts:
    """`tokenizer(text, max_length=…, truncation=True, padding=…)`, plus which texts were cut."""
    batch = tokenizer(texts, max_length=max_length, truncation=True,
                      padding="max_length" if pad_to_max_length else "longest",
                      return_special_tokens_mask=True, return_tensors="pt")
    room = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    full_lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]
    return EncodedTexts(batch["input_ids"], batch["attention_mask"], batch["special_tokens_mask"],
                        [n > room for n in full_lengths])
