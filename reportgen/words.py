"""Words from wordpieces: a reader thinks in the text's own words ("Café", "well"), not in "cafe" or
"##ful", so the reading view groups a text's wordpieces back into the words they came from.

The grouping comes from the fast tokenizer itself (word ids and character offsets, see
`reportgen.loading.inputs.encode`), never from string matching: BERT lower-cases, strips accents and
splits punctuation and CJK characters, which string tricks get wrong.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from itertools import groupby

from reportgen.results import SampleResult, Word  # the data model's word: grouping here, storage there


def special_positions(sample: SampleResult) -> set[int]:
    """Token positions of the tokenizer's own markers ([CLS], [SEP], RoBERTa's <s> and </s>), found by
    position, not by spelling: with offsets known (`words_exact`), the tokens of words without characters
    of the text; otherwise (a slow tokenizer) tokens written like [CLS]."""
    if sample.words_exact:
        return {t for w in sample.words if w.start is None for t in range(w.first_token, w.last_token)}
    return {i for i, token in enumerate(sample.tokens) if token.startswith("[") and token.endswith("]")}


def is_word(text: str) -> bool:
    """A word, not punctuation: it has a letter or a digit ("," and "<" are not words)."""
    return any(character.isalnum() for character in text)


def _runs(word_ids: Sequence[object]) -> list[tuple[int, int]]:
    """(first, last) token ranges of consecutive equal word ids; each special token (None) is its own run."""
    runs: list[tuple[int, int]] = []
    for position, word in enumerate(word_ids):
        if runs and word is not None and word_ids[runs[-1][0]] == word:
            runs[-1] = (runs[-1][0], position + 1)
        else:
            runs.append((position, position + 1))
    return runs


def _span(run: tuple[int, int], word_ids: Sequence[int | None],
          offsets: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """The run's characters in the text, or None for tokens without a span ([CLS], [SEP], slow tokenizers)."""
    first, last = run
    start, end = offsets[first][0], offsets[last - 1][1]
    return None if word_ids[first] is None or end <= start else (start, end)


APOSTROPHES = ("'", "\u2019")  # ' and ’


def _joined_at_apostrophes(runs: list[tuple[int, int]], word_ids: Sequence[int | None],
                           offsets: Sequence[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Contractions and possessives as one word: BERT's pre-tokenizer splits "couldn't" into the
    words "couldn" "'" "t", which a reader (and a corpus's word counts) would see as fragments.

    Runs are joined only where an apostrophe touches letters or digits on both sides, with no space
    between, so quotes ('great') and "rock 'n' roll" stay as they are.
    """
    joined: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        first, last = runs[i]
        while i + 2 < len(runs):
            left, mark, right = (_span(run, word_ids, offsets) for run in ((first, last), runs[i + 1], runs[i + 2]))
            if not (left and mark and right and left[1] == mark[0] and mark[1] == right[0]
                    and text[mark[0]:mark[1]] in APOSTROPHES and text[left[1] - 1].isalnum()
                    and text[right[0]].isalnum()):
                break
            last = runs[i + 2][1]
            i += 2
        joined.append((first, last))
        i += 1
    return joined


def _with_accents(text: str, end: int) -> int:
    """BERT drops combining accents ("e" + U+0301) from its offsets; they belong to the letter before."""
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    return end


def _token_text(tokens: Sequence[str] | None, first: int, last: int) -> str:
    """What to show for tokens without a span: the wordpieces themselves, without "##"."""
    if tokens is None:
        return ""
    return "".join(t[2:] if t.startswith("##") and len(t) > 2 else t for t in tokens[first:last])


def _blank(run: tuple[int, int], word_ids: Sequence[int | None], offsets: Sequence[tuple[int, int]],
           text: str) -> bool:
    """A run that is no special token yet covers no character of the text but whitespace: byte-level
    BPE's "Ġ" for a double space or a trailing space, "Ċ" for a newline."""
    span = _span(run, word_ids, offsets)
    return word_ids[run[0]] is not None and (span is None or not text[span[0]:span[1]].strip())


def _with_blanks_joined(runs: list[tuple[int, int]], blank: list[bool], word_ids: Sequence[int | None]
                        ) -> list[tuple[int, int]]:
    """Blank runs are not words: each joins the word right after it (byte-level BPE puts a space on
    the word that follows), or, with none there (the end of the text), the word right before it. A
    blank run with no word beside it (a whitespace-only text) stays as it is."""
    out: list[tuple[int, int]] = []
    wordlike: list[bool] = []
    pending: tuple[int, int] | None = None  # blank runs waiting for the next word
    for run, empty in zip(runs, blank):
        if empty:
            pending = (pending[0] if pending else run[0], run[1])
            continue
        word = word_ids[run[0]] is not None
        if pending and word:
            run = (pending[0], run[1])
        elif pending and wordlike and wordlike[-1]:
            out[-1] = (out[-1][0], pending[1])
        elif pending:
            out.append(pending)
            wordlike.append(False)
        pending = None
        out.append(run)
        wordlike.append(word)
    if pending and wordlike and wordlike[-1]:
        out[-1] = (out[-1][0], pending[1])
    elif pending:
        out.append(pending)
    return out


def group_words(word_ids: Sequence[int | None], offsets: Sequence[tuple[int, int]], text: str,
                tokens: Sequence[str] | None = None, *, exact: bool = True,
                sequence_ids: Sequence[int | None] | None = None, text_pair: str | None = None) -> list[Word]:
    """The text's words, in order, each with the range of its wordpieces; together they cover every token once.

    `word_ids` and `offsets` are one text's entries of `EncodedTexts.word_ids` / `.offsets` (no
    padding). Tokens without a character span — [CLS], [SEP], and every token of a slow tokenizer
    (`exact=False`: no offsets known) — are shown as the token itself, taken from `tokens` (the
    wordpieces, e.g. `SampleResult.tokens`); without `tokens` their text is "". Tokens of whitespace
    alone are joined to a neighbouring word (`_with_blanks_joined`); a word's span never starts or
    ends with whitespace.

    A sentence pair: `sequence_ids` (`EncodedTexts.sequence_ids`) tells which text each token comes
    from; word ids and offsets count within each text, so a word of the second text (`segment` 1)
    spans characters of `text_pair`, and no word (nor a blank joined to one) crosses from one text
    to the other.
    """
    if len(word_ids) != len(offsets) or (tokens is not None and len(tokens) != len(word_ids)):
        raise ValueError(f"{len(word_ids)} word ids, {len(offsets)} offsets"
                         + (f" and {len(tokens)} tokens" if tokens is not None else "") + ": they must align")
    segments = sequence_ids if sequence_ids is not None else [None if w is None else 0 for w in word_ids]
    texts = (text, text_pair or "")
    keys = [None if w is None else (s, w) for w, s in zip(word_ids, segments)]
    words = []
    for segment, block in groupby(_runs(keys), key=lambda run: segments[run[0]]):
        source, segment = texts[segment or 0], segment or 0
        runs = _joined_at_apostrophes(list(block), word_ids, offsets, source)
        if exact:
            runs = _with_blanks_joined(runs, [_blank(run, word_ids, offsets, source) for run in runs], word_ids)
        for first, last in runs:
            span = _span((first, last), word_ids, offsets)
            if span is not None:
                span = _trimmed(source, span[0], _with_accents(source, span[1]))
            if span is not None:
                words.append(Word(source[span[0]:span[1]], span[0], span[1], first, last, segment))
            elif exact and word_ids[first] is not None:  # whitespace with no word beside it
                words.append(Word("", None, None, first, last, segment))
            else:
                words.append(Word(_token_text(tokens, first, last), None, None, first, last, segment))
    return words


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without whitespace at either end; None if nothing else is left."""
    piece = text[start:end]
    start, end = start + len(piece) - len(piece.lstrip()), start + len(piece.rstrip())
    return (start, end) if end > start else None


def word_scores(words: Sequence[Word], scores: Sequence[float]) -> list[float]:
    """A word's score is the sum of its wordpieces' scores: attributions are additive (IG's
    completeness holds for any grouping), so the words' scores add up to the tokens' total."""
    if words and words[-1].last_token > len(scores):
        raise ValueError(f"the words cover {words[-1].last_token} tokens but there are {len(scores)} scores")
    return [math.fsum(scores[w.first_token:w.last_token]) for w in words]
