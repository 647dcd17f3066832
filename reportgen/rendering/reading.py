"""What a reader sees first: each model's verdict and the words that led it, as one sentence.

Built from the report's data alone (no model), so `reportgen render` and a schema-1 file get the
same sentence as a fresh run; HTML and Markdown both come from the same parts.
"""

from __future__ import annotations

from reportgen.choices import LABEL_THRESHOLD
from reportgen.comparison import strongest
from reportgen.methods import is_signed
from reportgen.rendering.numbers import probability_beside
from reportgen.rendering.pieces import role_title
from reportgen.rendering.plausible import decisive_parts
from reportgen.rendering.sentences import (
    LED_BY,
    Part,
    agreement_parts,
    flip_parts,
    merge_parts,
    sentence_parts,
    to_markdown,
)
from reportgen.results import ModelAttribution, SampleResult
from reportgen.words import is_word, special_positions, word_scores

LEAD_WORDS = 3


def lead_words(sample: SampleResult, role: str, method: str, count: int = LEAD_WORDS, sign: int = +1) -> list[str]:
    """The words that pushed hardest towards the class the model's scores explain (`sign` −1: away from
    it; by magnitude for unsigned methods)."""
    scores = word_scores(sample.words, sample.models[role].methods[method].scores)
    scores = [abs(s) for s in scores] if not is_signed(method) else [sign * s for s in scores]
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


def _lead(explained: str, own: bool, signed: bool) -> tuple[str, str]:
    """How a clause introduces its words: the prediction's own class, or another class it was explained for."""
    if own:
        return LED_BY
    if signed:
        return f", pushed away from {explained} most by ", f", with no word pushing it away from {explained}"
    return f", with most weight for {explained} on ", f", with no word weighing for {explained}"


def label_verdict(model: ModelAttribution, class_names: list[str]) -> str:
    """A multi-label model's verdict on the label its sample explains (`model.target`), with that label's own
    probability: "gives toxic 0.499 (not predicted, threshold 0.5)", "gives insult 0.51 (predicted, threshold 0.5)"."""
    chosen = model.chosen or []
    probability = probability_beside(model.probabilities[model.target], LABEL_THRESHOLD)
    return (f"gives {class_names[model.target]} {probability} "
            f"({'predicted' if model.target in chosen else 'not predicted'}, threshold {LABEL_THRESHOLD:g})")


def prediction_text(model: ModelAttribution, names: list[str]) -> str:
    """"positive (0.93)"; a multi-label model: every label it predicts, or "none above 0.5" and its top one, each
    probability with the digits that keep it from printing as the threshold (`numbers.probability_beside`)."""
    if model.chosen is None:
        return f"{names[model.predicted]} ({model.probabilities[model.predicted]:.2f})"
    shown = {c: f"{names[c]} ({probability_beside(model.probabilities[c], LABEL_THRESHOLD)})"
             for c in (model.chosen or [model.predicted])}
    if not model.chosen:
        return f"no label above {LABEL_THRESHOLD:g} (most probable {shown[model.predicted]})"
    return ", ".join(shown.values())


def unpredicted_label(model: ModelAttribution, class_names: list[str]) -> str:
    """For a multi-label model whose sample explains a label it does not predict, the sentence that says so and
    what it predicts instead; "" otherwise (a single-label model: `ColumnView.explains_other`)."""
    if model.chosen is None or model.target in model.chosen:
        return ""
    probability = probability_beside(model.probabilities[model.target], LABEL_THRESHOLD)
    predicted = ", ".join(class_names[c] for c in model.chosen) or "no label"
    return (f"Its shading explains {class_names[model.target]}, a label it does not predict ({probability}, "
            f"threshold {LABEL_THRESHOLD:g}); it predicts {predicted}.")


def _label_parts(sample: SampleResult, class_names: list[str], method: str) -> list[Part]:
    """A multi-label sample's clauses: each model's probability of the label the sample explains, whether that is
    a prediction, and the words that push toward that label (by weight for an unsigned method)."""
    roles = list(sample.models)
    explained = {role: class_names[model.target] for role, model in sample.models.items()}
    signed = is_signed(method)
    return sentence_parts(
        {role: role_title(role) for role in roles}, {}, {},
        {role: lead_words(sample, role, method, sign=+1) for role in roles},
        {role: (f", its words toward {explained[role]} led by ", f", with no word toward {explained[role]}")
         if signed else _lead(explained[role], own=False, signed=False) for role in roles},
        verdicts={role: label_verdict(model, class_names) for role, model in sample.models.items()},
    )


def verdict_parts(sample: SampleResult, class_names: list[str], method: str) -> list[Part]:
    """Each model's verdict and its lead words, then the flip test of `method` and the agreement
    flips, where computed. A model whose scores explain another class than its prediction (e.g. both
    models explain the true label) is led *away* from that class by the words with the most negative
    scores: "Base predicted negative (0.98), pushed away from positive most by …". A multi-label
    model's verdict is its probability of the label the sample explains and the words toward that label
    ("Base gives toxic 0.499 (not predicted, threshold 0.5), its words toward toxic led by …": `label_verdict`)."""
    roles = list(sample.models)
    models = sample.models
    if any(model.chosen is not None for model in models.values()):
        return merge_parts(_label_parts(sample, class_names, method))  # no flips: a verdict is a set of labels
    own = {role: models[role].target == models[role].predicted for role in roles}
    parts = sentence_parts(
        {role: role_title(role) for role in roles},
        {role: class_names[models[role].predicted] for role in roles},
        {role: models[role].probabilities[models[role].predicted] for role in roles},
        {role: lead_words(sample, role, method, sign=+1 if own[role] else -1) for role in roles},
        {role: _lead(class_names[models[role].target], own[role], is_signed(method)) for role in roles},
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
    parts += decisive_parts(sample, method)  # plausibility, where one model's overlap is decisively larger
    return merge_parts(parts)


def describe(sample: SampleResult, class_names: list[str], method: str) -> str:
    """The sentence as Markdown ("Base predicted negative (0.98), led by *never*, …")."""
    return to_markdown(verdict_parts(sample, class_names, method))
