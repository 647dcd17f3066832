"""What a reader sees first: each model's verdict and the words that led it, as one sentence.

Built from the report's data alone (no model), so `reportgen render` and a schema-1 file get the
same sentence as a fresh run; HTML and Markdown both come from the same parts.
"""

from __future__ import annotations

from reportgen.choices import is_signed
from reportgen.rendering.sentences import Part, sentence_parts, to_markdown
from reportgen.results import SampleResult, Word
from reportgen.words import word_scores

ROLE_NAMES = {"base": "Base", "finetuned": "Fine-tuned"}
LEAD_WORDS = 3


def lead_words(sample: SampleResult, role: str, method: str, count: int = LEAD_WORDS) -> list[str]:
    """The words that pushed hardest towards the model's own target (by magnitude for unsigned methods)."""
    scores = word_scores(sample.words, sample.models[role].methods[method].scores)
    signed = is_signed(method)
    ranked = sorted(((s if signed else abs(s), -i) for i, s in enumerate(scores)
                     if _is_wordlike(sample.words[i], sample.words_exact)), reverse=True)
    chosen: dict[str, str] = {}  # one mention per word, whatever its case ("Great … great")
    for score, negative_index in ranked:
        text = sample.words[-negative_index].text
        if score > 0 and text.lower() not in chosen and len(chosen) < count:
            chosen[text.lower()] = text
    return list(chosen.values())


def _is_wordlike(word: Word, exact: bool) -> bool:
    """Lead words are words: not a special token ([CLS], RoBERTa's <s>: where offsets are known, a word
    without characters of the text), not a lone comma (punctuation stays in the tables and charts)."""
    if word.start is None and (exact or word.text.startswith("[") and word.text.endswith("]")):
        return False
    return any(character.isalnum() for character in word.text)


def verdict_parts(sample: SampleResult, class_names: list[str], method: str) -> list[Part]:
    roles = list(sample.models)
    models = sample.models
    return sentence_parts(
        {role: ROLE_NAMES.get(role, role) for role in roles},
        {role: class_names[models[role].predicted] for role in roles},
        {role: models[role].probabilities[models[role].predicted] for role in roles},
        {role: lead_words(sample, role, method) for role in roles},
    )


def describe(sample: SampleResult, class_names: list[str], method: str) -> str:
    """The sentence as Markdown ("Base predicted negative (0.98), led by *never*, …")."""
    return to_markdown(verdict_parts(sample, class_names, method))
