"""Turn texts into model inputs exactly as the models' own training pipeline did.

A mean-all model averages over every position, padding included, so padding is part of the
input: models that need it are padded to `max_length`, the others only to the longest text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import TypeVar

import torch
from transformers import PreTrainedTokenizerBase

from reportgen.errors import ReportgenError

T = TypeVar("T")


def _pick(items: list[T], rows: slice | list[int]) -> list[T]:
    """The rows of a per-text list; an empty list (fields not computed) stays empty."""
    if not items:
        return []
    return items[rows] if isinstance(rows, slice) else [items[i] for i in rows]


def rows_of(tensor: torch.Tensor | None, rows: slice | torch.Tensor) -> torch.Tensor | None:
    """`tensor[rows]`, or None for a field that is absent (token type ids of a model without them)."""
    return None if tensor is None else tensor[rows]


@dataclass
class EncodedTexts:
    input_ids: torch.Tensor  # (batch, seq)
    attention_mask: torch.Tensor  # 1 for real tokens, 0 for padding
    special_tokens_mask: torch.Tensor  # 1 for [CLS], [SEP] and padding
    truncated: list[bool]
    # Per text, per non-padding token (aligned with `tokens()`): which word of the text it belongs to
    # (None for [CLS]/[SEP]) and its character span in the text ((0, 0) when it has none).
    word_ids: list[list[int | None]] = field(default_factory=list)
    offsets: list[list[tuple[int, int]]] = field(default_factory=list)
    # False when the tokenizer is a slow (Python) one: no offsets exist, so every token is its own
    # word and spans are (0, 0).
    words_exact: bool = False
    # (batch, seq) segment of each position as the tokenizer gives it (0 for a single text; 0/1 for a
    # sentence pair); None where the tokenizer has none (RoBERTa). Position-aligned like input_ids.
    token_type_ids: torch.Tensor | None = None
    # Per text, per non-padding token: which input sequence it came from (0, or 1 for the second text
    # of a pair; None for special tokens), aligned with `tokens()` like word_ids.
    sequence_ids: list[list[int | None]] = field(default_factory=list)
    # Per text of a sentence pair: which segments truncation cut (0 the first text, 1 the second);
    # empty lists for single texts (`truncated` says whether they were cut).
    cut_segments: list[list[int]] = field(default_factory=list)
    # The texts themselves (empty where the inputs were built by hand): with word_ids and offsets they
    # give the report's words (`reportgen.words.group_words`), the features of word-removal methods.
    texts: list[str] = field(default_factory=list)
    pairs: list[str] = field(default_factory=list)  # a sentence pair's second texts (empty for single texts)

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
        return EncodedTexts(self.input_ids[index], self.attention_mask[index],
                            self.special_tokens_mask[index], _pick(self.truncated, rows),
                            _pick(self.word_ids, rows), _pick(self.offsets, rows), self.words_exact,
                            None if self.token_type_ids is None else self.token_type_ids[index],
                            _pick(self.sequence_ids, rows), _pick(self.cut_segments, rows), _pick(self.texts, rows),
                            _pick(self.pairs, rows))


def encode(tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int,
           pad_to_max_length: bool, rows: Sequence[int | None] | None = None, *,
           pairs: list[str] | None = None) -> EncodedTexts:
    """`tokenizer(text, max_length=…, truncation=True, padding=…)`, plus which texts were cut and
    which word and characters of the text each kept token stands for.

    A text with characters besides whitespace that the tokenizer turns into no token at all is a
    ReportgenError naming its dataset row (`rows`, aligned with `texts`) or its place among `texts`:
    the models would see an empty text. Empty and whitespace-only texts are allowed (reports say so).

    pairs: the second text of each sentence pair, encoded as the tokenizer pairs them
    (`tokenizer(text, pair)`: [CLS] a [SEP] b [SEP] for BERT, with token type ids 0 then 1 where
    the tokenizer has them); truncation takes tokens from the longer segment first, and
    `cut_segments` says which segments lost tokens. Word ids and offsets are per segment.
    """
    if pairs is not None and len(pairs) != len(texts):
        raise ValueError(f"{len(texts)} texts and {len(pairs)} second texts: a sentence pair needs both")
    batch = tokenizer(texts, pairs, max_length=max_length, truncation=True,
                      padding="max_length" if pad_to_max_length else "longest",
                      return_special_tokens_mask=True, return_tensors="pt")
    if batch["input_ids"].shape[1] == 0:  # only empty texts and no special tokens (GPT-2's tokenizer adds none)
        _one_pad_wide(batch, tokenizer.pad_token_id)
    # Only fast (Rust) tokenizers know words and offsets. Their per-text encodings hold the same
    # offsets as `return_offsets_mapping=True` without a round trip through a tensor (0.1 s instead
    # of 2 s for 2,000 texts of 512 tokens).
    exact = bool(tokenizer.is_fast) and batch.encodings is not None
    room = max_length - tokenizer.num_special_tokens_to_add(pair=pairs is not None)
    segments = [texts] if pairs is None else [texts, pairs]
    full = [[len(ids) for ids in tokenizer(part, add_special_tokens=False, verbose=False)["input_ids"]]
            for part in segments]
    for part, lengths in zip(segments, full):
        for i, (text, length) in enumerate(zip(part, lengths)):
            if length == 0 and text.strip():
                where = f"row {rows[i]}" if rows is not None and rows[i] is not None else f"text {i + 1}"
                characters = f"{len(text):,} character" + ("s" if len(text) > 1 else "")
                raise ReportgenError(f"{where} has {characters} but the tokenizer turns them into no tokens, so the "
                                     "models would see an empty text; check the text's encoding, or leave it out")
    width = batch["input_ids"].shape[1]
    special = [] if exact else batch["special_tokens_mask"].tolist()
    word_ids: list[list[int | None]] = []
    offsets: list[list[tuple[int, int]]] = []
    sequence_ids: list[list[int | None]] = []
    cut: list[list[int]] = []
    for i, n in enumerate(batch["attention_mask"].sum(dim=1).tolist()):
        kept = slice(0, n) if tokenizer.padding_side == "right" else slice(width - n, width)  # padding left out
        if exact:
            word_ids.append(batch.word_ids(i)[kept])
            offsets.append(batch.encodings[i].offsets[kept])
            sequence_ids.append(batch.sequence_ids(i)[kept])
        else:
            words = count()  # no word boundaries known: each token is a word of its own
            word_ids.append([None if flag else next(words) for flag in special[i][kept]])
            offsets.append([(0, 0)] * n)
            sequence_ids.append(_slow_sequence_ids(special[i][kept]) if pairs is not None
                                else [None if flag else 0 for flag in special[i][kept]])
        if pairs is not None:
            seen = [sum(1 for s in sequence_ids[-1] if s == segment) for segment in (0, 1)]
            cut.append([segment for segment in (0, 1) if seen[segment] < full[segment][i]])
    truncated = [bool(c) for c in cut] if pairs is not None else [n > room for n in full[0]]
    return EncodedTexts(batch["input_ids"], batch["attention_mask"], batch["special_tokens_mask"],
                        truncated, word_ids, offsets, exact, batch.get("token_type_ids"), sequence_ids,
                        cut if pairs is not None else [[] for _ in texts], list(texts), list(pairs or []))


def _slow_sequence_ids(special: list[int]) -> list[int | None]:
    """A slow tokenizer's pair without sequence ids: tokens before the first run of special tokens
    after the text are segment 0, the rest segment 1."""
    out: list[int | None] = []
    segment, started = 0, False
    for flag in special:
        if flag:
            segment = 1 if started else segment
            out.append(None)
        else:
            started = True
            out.append(segment)
    return out


def _one_pad_wide(batch: dict[str, torch.Tensor], pad_token_id: int | None) -> None:
    """Widen a batch of zero-width rows to one padding position (id `pad_token_id`, mask 0, special), in place.

    A model cannot run on a row of no positions; a decoder reads a row without real tokens at its pad token alone
    (`reportgen.loading.decoder.readable`), as its own forward reads a row of pad ids, and every method then sees the
    empty text as it sees one padded beside longer texts in a batch.
    """
    fill = {"input_ids": 0 if pad_token_id is None else pad_token_id, "special_tokens_mask": 1}
    for key, tensor in list(batch.items()):
        if isinstance(tensor, torch.Tensor) and tensor.dim() == 2:
            batch[key] = torch.full((tensor.shape[0], 1), fill.get(key, 0), dtype=tensor.dtype)
