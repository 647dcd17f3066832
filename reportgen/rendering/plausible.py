"""Plausibility in words: the numbers a page prints for it, the rationale's legend line, and the sentence's
clause where one model's top words overlap the annotators' marks decisively more than the other's.

Everything here reads a report's numbers (`MethodResult.plausibility`, `SampleResult.rationale`); nothing is
computed but comparisons and formats (`numbers.fixed`)."""

from __future__ import annotations

from reportgen.rendering.numbers import fixed, pct
from reportgen.rendering.pieces import role_title
from reportgen.rendering.sentences import Part, mid_sentence
from reportgen.results import Plausibility, SampleResult

DECISIVE_RATIO = 2.0  # one model's token F1 at least twice the other's …
DECISIVE_GAP = 0.1  # … and at least 0.1 above it: a decisive difference, said in the sentence


def value(number: float) -> str:
    """A plausibility value (AUPRC, F1, a random reference: all in [0, 1]) as printed: "0.42"."""
    return fixed(number, 2)


def auprc_text(p: Plausibility) -> str:
    """"0.42 (random 0.11)"."""
    return f"{value(p.auprc)} (random {value(p.auprc_random)})"


def summary_text(p: Plausibility | None) -> str:
    """A summary-table cell: "AUPRC 0.42 (random 0.11), token F1 0.30"; "—" without a rationale."""
    return "—" if p is None else f"AUPRC {auprc_text(p)}, token F1 {value(p.token_f1)}"


def rationale_legend(sample: SampleResult, class_names: list[str], lead: str = "Underlined",
                     others_marked: bool = False) -> str:
    """What the underline means in this sample (`lead`: how the page shows the marks), and how much of the
    rationale the models saw; without one, "" — unless other samples of the report have rationales
    (`others_marked`), where the reader is told this text has none (an empty cell of the rationale column)."""
    if sample.rationale is None:
        return ("No rationale was given for this text (its rationale cell is empty), so it has no plausibility score."
                if others_marked else "")
    label = class_names[sample.label] if isinstance(sample.label, int) else "its label"
    if not sample.rationale:
        return (f"Annotators marked nothing in this text as the reason for {label}, so it has no plausibility "
                "score.")
    marked = sum(end - start for start, end in sample.rationale)
    text = (f"{lead}: the words annotators marked as the reason for {label} ({len(sample.rationale)} "
            f"passage{'s' if len(sample.rationale) != 1 else ''}, {pct(marked / max(len(sample.text), 1))} of the "
            "characters).")
    if sample.rationale_cut:
        text += (f" {pct(sample.rationale_cut)} of the marked characters lie past the part the models saw (the text "
                 "was truncated); plausibility is scored on the part seen.")
    return text


def other_class_note(sample: SampleResult, target: int, class_names: list[str]) -> str:
    """Where a column explains another class than the true label: that plausibility is measured on evidence for
    the label (the class the rationale supports), not on this column's shading; "" otherwise."""
    if not isinstance(sample.label, int) or not sample.rationale or target == sample.label:
        return ""
    return (f"Plausibility is measured on evidence for {class_names[sample.label]}, the true label the rationale "
            f"supports, not on this column's shading of {class_names[target]}.")


def decisive_parts(sample: SampleResult, method: str) -> list[Part]:
    """" Fine-tuned's top words overlap the annotators' marks twice as much as base's (token F1 0.42 vs 0.21)."
    where one model's token F1 for `method` is at least DECISIVE_RATIO times and DECISIVE_GAP above the other's;
    [] otherwise, or without plausibility for both."""
    values = {role: model.methods[method].plausibility for role, model in sample.models.items()
              if method in model.methods}
    if len(values) != 2 or any(p is None for p in values.values()):
        return []
    (low_role, low), (high_role, high) = sorted(((role, p.token_f1) for role, p in values.items()),
                                                key=lambda item: item[1])
    if high - low < DECISIVE_GAP or high < DECISIVE_RATIO * low:
        return []
    numbers = f"token F1 {value(high)} vs {value(low)}"
    if low == 0:
        return [Part(f" {role_title(high_role)}'s top words overlap the annotators' marks and "
                     f"{mid_sentence(role_title(low_role))}'s do not ({numbers}).")]
    ratio = high / low
    times = "twice" if ratio < 2.5 else f"{ratio:.0f} times"
    return [Part(f" {role_title(high_role)}'s top words overlap the annotators' marks {times} as much as "
                 f"{mid_sentence(role_title(low_role))}'s ({numbers}).")]
