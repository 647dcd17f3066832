"""What a reader sees first: each model's verdict and the words that led it, as one sentence.

Built from the report's data alone (no model), so `reportgen render` and a schema-1 file get the
same sentence as a fresh run; HTML and Markdown both come from the same parts.
"""

from __future__ import annotations

from reportgen.comparison import strongest
from reportgen.methods import is_signed
from reportgen.rendering.pieces import role_title
from reportgen.rendering.sentences import (
    Part,
    agreement_parts,
    flip_parts,
    merge_parts,
    sentence_parts,
    to_markdown,
)
from reportgen.results import SampleResult
from reportgen.words import is_word, special_positions, word_scores

LEAD_WORDS = 3


def lead_words(sample: SampleResult, role: str, method: str, count: int = LEAD_WORDS) -> list[str]:
    """The words that pushed hardest towards the model's own target (by magnitude for unsigned methods)."""
    scores = word_scores(sample.words, sample.models[role].methods[method].scores)
    if not is_signed(method):
        scores = [abs(s) for s in scores]
    # Lead words are words: not a special token ([CLS], RoBERTa's <s>), not a lone comma (punctuation
    # stays in the tables and charts).
    specials = special_positions(sample)
    skip = {i for i, word in enumerate(sample.words)
            if (word.start is None and word.first_token in specials) or not is_word(word.text)}
    chosen: dict[str, str] = {}  # one mention per word, whatever its case ("Great … great")
    for i, _ in strongest(scores, len(scores), skip)[0]:
        text = sample.words[i].text
        if text.lower() not in chosen and len(chosen) < count:
            chosen[text.lower()] = text
    return list(chosen.values())


def verdict_parts(sample: SampleResult, class_names: list[str], method: str) -> list[Part]:
    """The verdicts and lead words, then the flip test of `method` and the agreement flips, where computed."""
    roles = list(sample.models)
    models = sample.models
    parts = sentence_parts(
        {role: role_title(role) for role in roles},
        {role: class_names[models[role].predicted] for role in roles},
        {role: models[role].probabilities[models[role].predicted] for role in roles},
        {role: lead_words(sample, role, method) for role in roles},
    )
    for role, model in models.items():
        result = model.methods.get(method)
        if result is None or result.flip is None:
            continue
        flip, chance = result.flip, model.random_flips
        parts += flip_parts(role_title(role), flip.texts, flip.k, flip.searched, class_names[flip.predicted_after],
                            chance.median if chance else None, chance.searched if chance else None)
    for role, flip in sample.agreement_flips.items():
        other = next(r for r in roles if r != role)
        parts += agreement_parts(role_title(role), role_title(other), flip.texts, flip.k, flip.searched)
    return merge_parts(parts)



def describe(sample: SampleResult, class_names: list[str], method: str) -> str:
    """The sentence as Markdown ("Base predicted negative (0.98), led by *never*, …")."""
    return to_markdown(verdict_parts(sample, class_names, method))
