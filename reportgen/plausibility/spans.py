"""Human rationales as given (character spans or evidence strings) → checked character spans of one text.

A rationale is a list of `[start, end]` character spans of its text (0 ≤ start < end ≤ len(text)) or a list
of evidence strings, each a substring of the text; `None` (no rationale given for the text) and `[]` (one
given, with nothing marked: no plausibility for that text) are allowed. A column read from a CSV holds the
list as JSON text. Anything else — a span outside the text, start ≥ end, a string not in the text, a
mixture, another type — is a one-line `ReportgenError` naming the row, raised before any work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reportgen.errors import ReportgenError

Span = tuple[int, int]

FORMS = ("a list of [start, end] character spans of the text (0 ≤ start < end ≤ its length) or of evidence "
         "strings found in it, e.g. [[0, 12], [40, 57]] or [\"a fine film\"]")


def rationale_spans(value: Any, text: str, where: str) -> list[Span] | None:
    """The character spans of `text` that `value` marks, sorted and merged where they overlap or touch;
    None where `value` is None (no rationale). `where` names the text in errors, e.g. "row 12".
    ReportgenError (one line) for anything but the two forms of `FORMS`."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ReportgenError(f"{where}'s rationale is the text {_short(value)}, not {FORMS}") from None
    if not isinstance(value, (list, tuple)):
        raise ReportgenError(f"{where}'s rationale is {type(value).__name__}, not {FORMS}")
    if not value:
        return []
    if all(isinstance(item, str) for item in value):
        return _merged(_found(value, text, where))
    spans = []
    for item in value:
        pair = isinstance(item, (list, tuple)) and len(item) == 2
        if pair and all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in item) \
                and any(isinstance(n, float) for n in item):
            raise ReportgenError(f"{where}'s rationale span {_short(item)} is written with decimals: spans are "
                                 "[start, end) character offsets written as integers, e.g. [2, 11]")
        if not pair or not all(isinstance(n, int) and not isinstance(n, bool) for n in item):
            raise ReportgenError(f"{where}'s rationale holds {_short(item)}: use {FORMS}, not a mixture")
        start, end = item
        if not 0 <= start < end <= len(text):
            raise ReportgenError(f"{where}'s rationale span [{start}, {end}] is not inside its text of {len(text)} "
                                 "characters with start < end: spans are [start, end) character offsets")
        spans.append((start, end))
    return _merged(spans)


def _found(evidence: Sequence[str], text: str, where: str) -> list[Span]:
    """Each evidence string's place in `text`: its next occurrence after the previous string's start (so a
    repeated string marks successive occurrences), else its first."""
    spans, after = [], 0
    for piece in evidence:
        if not piece.strip():
            raise ReportgenError(f"{where}'s rationale holds an empty evidence string: give the marked words")
        start = text.find(piece, after)
        if start < 0:
            start = text.find(piece)
        if start < 0:
            raise ReportgenError(f"{where}'s evidence string {_short(piece)} is not in its text: each must be "
                                 "copied exactly from it (case and spacing included)")
        spans.append((start, start + len(piece)))
        after = start + 1
    return spans


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"
