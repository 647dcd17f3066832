"""Character spans of a human rationale → which tokens and words the model saw are marked.

A token (a word) is marked when any of its characters lies inside a span (an annotator who marks part of
a word marks the word); special tokens ([CLS], [SEP], <s>…) have no characters and are left out of every
measure (None in the masks). A truncated text is scored on the part the model saw, and `cut` says what
share of the rationale's characters lay beyond it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportgen.plausibility.spans import Span
from reportgen.results import Word


@dataclass
class Marks:
    """One text's human marks on what the model saw.

    tokens: per token (aligned with `SampleResult.tokens`) True/False, None for a special token;
    words: the same per word (`SampleResult.words`); cut: the share of the rationale's characters past the
    last character the model saw (0 when nothing was cut), None for an empty rationale."""

    tokens: list[bool | None]
    words: list[bool | None]
    cut: float | None


def _inside(start: int, end: int, spans: Sequence[Span]) -> bool:
    return end > start and any(start < span_end and span_start < end for span_start, span_end in spans)


def marks(spans: Sequence[Span], offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None],
          words: Sequence[Word], truncated: bool) -> Marks:
    """The token and word masks of `spans` (`spans.rationale_spans`) for one text: `offsets` and `word_ids` are
    that text's `EncodedTexts` entries (no padding; a word id of None is a special token), `words` its report
    words (a word with no `start` is a special token)."""
    tokens = [None if word is None else _inside(start, end, spans)
              for (start, end), word in zip(offsets, word_ids)]
    marked_words = [None if word.start is None or word.end is None else _inside(word.start, word.end, spans)
                    for word in words]
    return Marks(tokens=tokens, words=marked_words, cut=cut_share(spans, offsets, word_ids, truncated))


def cut_share(spans: Sequence[Span], offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None],
              truncated: bool) -> float | None:
    """The share of the rationale's characters after the last one the model saw; None without any."""
    total = sum(end - start for start, end in spans)
    if total == 0:
        return None
    if not truncated:
        return 0.0
    seen = max((end for (_, end), word in zip(offsets, word_ids) if word is not None), default=0)
    beyond = sum(max(0, end - max(start, seen)) for start, end in spans)
    return beyond / total
