"""The pieces a column shades (words or wordpieces) and what each shows: its shade, hover, place; the top
lists beside a column, a column's colour scale, and the labels that number a repeated word. `TokenView` is
what the report and the corpus page both print for a shaded piece."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from reportgen.comparison import normalise, strongest
from reportgen.rendering.colors import css_class, level_of
from reportgen.rendering.numbers import fixed, fmt
from reportgen.rendering.pieces import (
    LegendView,
    legend,
)
from reportgen.results import (
    SampleResult,
    Word,
)
from reportgen.words import special_positions, word_scores

TOP_K = 5


@dataclass
class Unit:
    """What is shaded: a word (its wordpieces summed) or a single wordpiece."""

    text: str
    raw: str  # the wordpieces as the tokenizer wrote them, space-separated
    first_token: int
    last_token: int
    special: bool
    continuation: bool  # a "##" wordpiece shown glued to the one before
    lead: str  # " " before it, or "" (glued)
    new_segment: bool = False  # a sentence pair's second text starts here: shown on a line of its own


@dataclass
class TokenView:
    text: str
    score: str  # repr-exact float for data-score, equal to the JSON value (the sum, for words)
    title: str  # hover text
    css: str  # shade class plus "cont"/"special" markers
    lead: str
    new_segment: bool = False  # start a new line: the second text of a sentence pair
    marked: bool = False  # inside the human rationale: underlined, and said in the hover


@dataclass
class TopToken:
    token: str
    position: str  # "@12" (wordpiece position) or "@12–14" (a word's wordpieces)
    score: str
    css: str
    shares: str = ""  # the difference view's "−1.6 % → −6.7 %": base → fine-tuned signed shares


def units(sample: SampleResult, granularity: str) -> list[Unit]:
    """The pieces a column shades. Words keep the text's spelling and spacing (from the offsets).
    A sentence pair's second text starts on a line of its own (`Unit.new_segment`)."""
    out = []
    specials = special_positions(sample)
    second = next((w.first_token for w in sample.words if w.segment == 1), None) if sample.text_pair is not None \
        else None
    if granularity == "wordpiece":
        for position, token in enumerate(sample.tokens):
            continuation = token.startswith("##") and len(token) > 2
            out.append(Unit(token[2:] if continuation else token, token, position, position + 1,
                            position in specials, continuation, "" if continuation or position == 0 else " ",
                            position == second))
        return out
    previous_end: int | None = None
    for number, word in enumerate(sample.words):
        pieces = sample.tokens[word.first_token:word.last_token]
        starts = word.first_token == second
        glued = word.start is not None and previous_end is not None and word.start == previous_end and not starts
        out.append(Unit(word.text, " ".join(pieces), word.first_token, word.last_token,
                        word.start is None and word.first_token in specials, False,
                        "" if number == 0 or glued or starts else " ", starts))
        previous_end = word.end if word.end is not None else previous_end
    return out


def unit_scores(pieces: list[Unit], scores: list[float]) -> list[float]:
    """Each unit's score: the sum of its wordpieces' `scores` (one per token), in the units' order."""
    words = [Word(p.text, None, None, p.first_token, p.last_token) for p in pieces]
    return word_scores(words, scores)


def position(unit: Unit) -> str:
    """Where a unit sits: "@12" (one wordpiece) or "@12–14" (a word's wordpieces, inclusive)."""
    return f"@{unit.first_token}" if unit.last_token - unit.first_token == 1 else \
        f"@{unit.first_token}–{unit.last_token - 1}"


def unit_marks(sample: SampleResult, pieces: list[Unit]) -> list[bool]:
    """Which units lie in the human rationale (`SampleResult.rationale`): a unit whose word has a character inside
    a marked span (a wordpiece goes with its word, as the report keeps no wordpiece offsets); all False without."""
    if not sample.rationale:
        return [False] * len(pieces)
    marked_tokens = set()
    for word in sample.words:
        if word.start is not None and word.end is not None and word.segment == 0 and any(
                word.start < end and start < word.end for start, end in sample.rationale):
            marked_tokens.update(range(word.first_token, word.last_token))
    return [piece.first_token in marked_tokens for piece in pieces]


def token_views(pieces: list[Unit], values: list[float], token_scores: list[float], scale_max: float,
                kind: str, tokens: list[str], shades: list[float] | None = None,
                marked: list[bool] | None = None) -> list[TokenView]:
    """`values` are the units' raw scores (data-score and hover); `shades`, when given, what is shaded
    (their shares), shown in the hover before the raw score; `marked` (`unit_marks`): units in the human
    rationale, underlined (class "rationale") and said so in the hover."""
    marked = marked or [False] * len(pieces)
    views = []
    for number, (unit, value) in enumerate(zip(pieces, values)):
        shaded = value if shades is None else shades[number]
        level = level_of(shaded if kind != "unsigned" else abs(shaded), scale_max)
        classes = [css_class(level, kind)] + (["cont"] if unit.continuation else []) + \
            (["special"] if unit.special else []) + (["rationale"] if marked[number] else [])
        share = "" if shades is None else f" {fixed(100 * shaded, 1, signed=True)}%"  # the shaded share after the score
        title = f"{unit.raw} {fmt(value)}{share} {position(unit)}"  # short: a 512-token column has 512 of them
        if unit.last_token - unit.first_token > 1:
            parts = ", ".join(f"{tokens[i]} {fmt(token_scores[i])}" for i in range(unit.first_token, unit.last_token))
            title = f"{unit.text} {fmt(value)}{share} = {parts}"
        if marked[number]:
            title += " · marked by annotators"
        views.append(TokenView(unit.text, repr(float(value)), title, " ".join(classes), unit.lead, unit.new_segment,
                               marked[number]))
    return views


def top_tokens(pieces: list[Unit], values: list[float], scale_max: float, sign: int, kind: str,
               number: Callable[[float], str] = fmt) -> list[TopToken]:
    """The TOP_K strongest units for (`sign` +1) or against (−1), specials skipped, each shaded on `scale_max`."""
    positive, negative = strongest(values, TOP_K, {i for i, piece in enumerate(pieces) if piece.special})
    return [TopToken(pieces[i].text, position(pieces[i]), number(value),
                     css_class(level_of(value if kind != "unsigned" else abs(value), scale_max), kind))
            for i, value in (positive if sign > 0 else negative)]


def scale_legend(caption: str, scale_max: float, kind: str, words: tuple[str, str],
                 number: Callable[[float], str] = fmt) -> LegendView:
    """A colour scale's legend from −`scale_max` to +`scale_max`, its ends printed by `number`."""
    return legend(caption, kind, number(-scale_max), number(scale_max), words)


def unit_shares(pieces: list[Unit], scores: list[float]) -> list[float]:
    """Each unit's signed share of the model's Σ|score| over the text's tokens (`comparison.normalise`)."""
    return unit_scores(pieces, normalise(scores))


def max_abs(values: list[float]) -> float:
    """The largest |value| (0.0 for none): the top of a colour scale."""
    return max((abs(v) for v in values), default=0.0)


def occurrence_labels(pieces: list[Unit]) -> list[str]:
    """A unit that occurs more than once in the text (a sentence pair: in either text) is labelled with
    which occurrence it is ("great (3)": the third "great"; ". (2)": the second full stop), so a chart's
    or a list's repeated entries read as different places, not a glitch. One rule for words and
    punctuation alike; special tokens ([CLS], [SEP]) are never listed, so never numbered."""
    shown = [piece for piece in pieces if not piece.special]
    total = Counter(piece.text.lower() for piece in shown)
    seen: Counter[str] = Counter()
    labels = []
    for piece in pieces:
        key = piece.text.lower()
        if piece.special or total[key] < 2:
            labels.append(piece.text)
            continue
        seen[key] += 1
        labels.append(f"{piece.text} ({seen[key]})")
    return labels
