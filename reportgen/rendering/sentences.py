"""One sentence per sample that says what each model decided and which words led it there.

The sentence is built once as parts (plain text or an emphasised word) so that Markdown and HTML
render the same words: Markdown as `*word*` with its specials escaped, HTML as `<em>` elements
with Jinja's autoescaping — nothing is ever marked safe by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from reportgen.rendering.markdown import escape_inline, escape_line_start

NO_LEAD = ", with no word in its favour"
LED_BY = (", led by ", NO_LEAD)  # (before the first word, when there is none)


class Part(NamedTuple):
    text: str
    emphasis: bool = False  # a lead word: *word* in Markdown, <em> in HTML


def mid_sentence(title: str) -> str:
    """"Fine-tuned" → "fine-tuned", "Integrated gradients" → "integrated gradients" inside a sentence; a first
    word with a capital after its first letter ("BERT", "LIME", "KernelSHAP") keeps its case."""
    first = title.split(" ", 1)[0]
    return title[:1].lower() + title[1:] if first[1:] == first[1:].lower() and first[1:2].isalpha() else title


def merge_parts(parts: list[Part]) -> list[Part]:
    """Adjacent plain parts as one, so the HTML has no needless seams."""
    merged: list[Part] = []
    for part in parts:
        if merged and not part.emphasis and not merged[-1].emphasis:
            merged[-1] = Part(merged[-1].text + part.text)
        else:
            merged.append(part)
    return merged


def word_list(words: Sequence[str], last_and: bool = False) -> list[Part]:
    """'*never*, *off* (twice) and *worst*': each word once, in order of first appearance, with how often
    it appears (a word can rank twice, at two places in the text); ' and ' before the last if `last_and`."""
    counts = Counter(words)  # in order of first appearance
    parts: list[Part] = []
    for index, (word, count) in enumerate(counts.items()):
        if index:
            parts.append(Part(" and " if last_and and index == len(counts) - 1 else ", "))
        parts.append(Part(word, emphasis=True))
        if count > 1:
            parts.append(Part(" (twice)" if count == 2 else f" ({count} times)"))
    return parts


def sentence_parts(title_by_role: Mapping[str, str], predicted: Mapping[str, str],
                   probability: Mapping[str, float], lead_words: Mapping[str, Sequence[str]],
                   lead: Mapping[str, tuple[str, str]] | None = None,
                   verdicts: Mapping[str, str] | None = None) -> list[Part]:
    """The sentence as parts, one clause per role in the order of `title_by_role`:
    "Base predicted negative (0.98), led by *never*, *off*; fine-tuned predicted positive (0.98), …".
    `lead` gives a role other words before its lead words and when there are none (default `LED_BY`),
    e.g. (", pushed away from positive most by ", ", with no word against positive"). `verdicts` gives a
    role another verdict after its title than "predicted {predicted} ({probability})" (a multi-label model's
    "gives toxic 0.499 (not predicted, threshold 0.5)")."""
    parts: list[Part] = []
    for number, (role, title) in enumerate(title_by_role.items()):
        if number:
            parts.append(Part("; "))
        verdict = (verdicts or {}).get(role) or f"predicted {predicted[role]} ({probability[role]:.2f})"
        parts.append(Part(f"{mid_sentence(title) if number else title} {verdict}"))
        words = [w.strip() for w in lead_words.get(role, ()) if w.strip()]
        first, none = (lead or {}).get(role, LED_BY)
        parts.extend([Part(first), *word_list(words)] if words else [Part(none)])
    if parts:
        parts.append(Part("."))
    return merge_parts(parts)


SHOWN_WORDS = 5  # a flip's removed words named in the sentence; the rest are counted


def _removed(words: Sequence[str], k: int, ranking: str = "") -> list[Part]:
    """'*never*, *off* and *worst*' (', by fine-tuned's ranking,' after them when `ranking` is given);
    past SHOWN_WORDS, '12 words[ by …'s ranking], led by *a*, *b*, *c*, *d*, *e*,'."""
    shown = [w.strip() or "·" for w in words[:SHOWN_WORDS]]
    by = f"by {ranking}'s ranking" if ranking else ""
    parts: list[Part] = [] if k <= SHOWN_WORDS else [Part(f"{word_count(k)}{' ' + by if by else ''}, led by ")]
    parts += word_list(shown, last_and=k <= SHOWN_WORDS)
    if k > SHOWN_WORDS or by:
        parts.append(Part("," if k > SHOWN_WORDS else f", {by},"))
    return parts


def word_count(k: int) -> str:
    """'1 word', '3 words'."""
    return f"{k} word" if k == 1 else f"{k} words"


def _details(k: int, *more: str) -> str:
    """' (3 words; random orders: 41)': the count where the words were not counted already, and `more`."""
    details = ([word_count(k)] if k <= SHOWN_WORDS else []) + [m for m in more if m]
    return f" ({'; '.join(details)})" if details else ""


def flip_parts(title: str, words: Sequence[str], k: int | None, searched: int, new_class: str,
               random_k: int | None, random_searched: int | None) -> list[Part]:
    """The flip clause, e.g. 'Removing *never*, *off* and *worst* flips base to positive (3 words;
    random orders: 41).', 'Removing 15 words, led by *a*, …, *e*, flips base to positive (random orders:
    35).' or 'Base: no flip within 64 words; random orders: no flip within 64.'"""
    if random_searched is None:
        chance = ""
    elif random_k is None:
        chance = f"random orders: no flip within {random_searched}"
    else:
        chance = f"random orders: {random_k}"
    if k is None:
        return [Part(f" {title}: no flip within {word_count(searched)}{'; ' + chance if chance else ''}.")]
    return [Part(" Removing "), *_removed(words, k),
            Part(f" flips {mid_sentence(title)} to {new_class}{_details(k, chance)}.")]


def agreement_parts(title: str, other: str, words: Sequence[str], k: int | None, searched: int) -> list[Part]:
    """The agreement clause, e.g. 'Removing *never* and *off*, by fine-tuned's ranking, makes base agree
    with fine-tuned (2 words).' or 'Base does not come to agree with fine-tuned within 40 words of …'"""
    if k is None:
        return [Part(f" {title} does not come to agree with {mid_sentence(other)} within {word_count(searched)} "
                     f"of {mid_sentence(other)}'s ranking.")]
    return [Part(" Removing "), *_removed(words, k, mid_sentence(other)),
            Part(f" makes {mid_sentence(title)} agree with {mid_sentence(other)}{_details(k)}.")]


def to_markdown(parts: Sequence[Part]) -> str:
    """The parts as one line of Markdown; every character of the data shows literally."""
    text = "".join(f"*{escape_inline(p.text)}*" if p.emphasis else escape_inline(p.text) for p in parts)
    return escape_line_start(text)

