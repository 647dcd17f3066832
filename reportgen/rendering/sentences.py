"""One sentence per sample that says what each model decided and which words led it there.

The sentence is built once as parts (plain text or an emphasised word) so that Markdown and HTML
render the same words: Markdown as `*word*` with its specials escaped, HTML as `<em>` elements
with Jinja's autoescaping — nothing is ever marked safe by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from reportgen.rendering.markdown import escape_inline, escape_line_start

NO_LEAD = ", with no word in its favour"
LED_BY = (", led by ", NO_LEAD)  # (before the first word, when there is none)


class Part(NamedTuple):
    text: str
    emphasis: bool = False  # a lead word: *word* in Markdown, <em> in HTML


def _mid_sentence(title: str) -> str:
    """"Fine-tuned" → "fine-tuned" after a semicolon; acronyms such as "BERT" keep their case."""
    return title[:1].lower() + title[1:] if title[1:2].islower() else title


def _merge(parts: list[Part]) -> list[Part]:
    """Adjacent plain parts as one, so the HTML has no needless seams."""
    merged: list[Part] = []
    for part in parts:
        if merged and not part.emphasis and not merged[-1].emphasis:
            merged[-1] = Part(merged[-1].text + part.text)
        else:
            merged.append(part)
    return merged


def sentence_parts(title_by_role: Mapping[str, str], predicted: Mapping[str, str],
                   probability: Mapping[str, float], lead_words: Mapping[str, Sequence[str]],
                   lead: Mapping[str, tuple[str, str]] | None = None) -> list[Part]:
    """The sentence as parts, one clause per role in the order of `title_by_role`:
    "Base predicted negative (0.98), led by *never*, *off*; fine-tuned predicted positive (0.98), …".
    `lead` gives a role other words before its lead words and when there are none (default `LED_BY`),
    e.g. (", pushed away from positive most by ", ", with no word against positive")."""
    parts: list[Part] = []
    for number, (role, title) in enumerate(title_by_role.items()):
        if number:
            parts.append(Part("; "))
        parts.append(Part(f"{_mid_sentence(title) if number else title} predicted {predicted[role]} "
                          f"({probability[role]:.2f})"))
        words = [w.strip() for w in lead_words.get(role, ()) if w.strip()]
        first, none = (lead or {}).get(role, LED_BY)
        if not words:
            parts.append(Part(none))
        for index, word in enumerate(words):
            parts.extend([Part(first if index == 0 else ", "), Part(word, emphasis=True)])
    if parts:
        parts.append(Part("."))
    return _merge(parts)


def to_markdown(parts: Sequence[Part]) -> str:
    """The parts as one line of Markdown; every character of the data shows literally."""
    text = "".join(f"*{escape_inline(p.text)}*" if p.emphasis else escape_inline(p.text) for p in parts)
    return escape_line_start(text)

