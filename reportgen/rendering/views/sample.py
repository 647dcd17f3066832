"""One sample's section: heading, verdict sentence, texts, truncation, the strongest-words chart, its method
blocks and the methods' rank agreement."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from reportgen.comparison import strongest
from reportgen.faithfulness.agreement import method_agreement
from reportgen.methods import is_signed, method_title
from reportgen.rendering.charts import BarChart, bar_chart
from reportgen.rendering.numbers import fixed
from reportgen.rendering.pieces import (
    role_title,
    toward_words,
)
from reportgen.rendering.plausible import rationale_legend
from reportgen.rendering.reading import verdict_parts
from reportgen.rendering.sentences import Part
from reportgen.rendering.truth import label_text, verdict_mark
from reportgen.rendering.views.difference import changed_line
from reportgen.rendering.views.method_block import MethodBlock, method_block
from reportgen.rendering.views.tokens import Unit, occurrence_labels, unit_scores, unit_shares, units
from reportgen.results import (
    Report,
    SampleResult,
)
from reportgen.words import special_positions

CHART_WORDS = 6  # bars per direction and model in a sample's chart


SHARE_AXIS = "share of the model's |attribution|, %"
SCORE_AXIS = "score (raw attribution)"


@dataclass
class AgreementView:
    role: str
    methods: list[str]
    rows: list[list[str]]  # Spearman ρ, formatted; "—" on the diagonal


@dataclass
class SampleView:
    anchor: str
    heading: str
    sentence: list[Part]
    changed: str  # the main method's difference in a line of Markdown ("" without one)
    text: str
    label: str
    label_known: bool
    outcome: str
    label_title: str  # "True label", or "True labels" for a multi-label row's list of them
    truncated: bool
    empty: bool
    chart: BarChart
    methods: list[MethodBlock]
    agreement: list[AgreementView]
    segments: list[tuple[str, str]] = field(default_factory=list)  # a sentence pair: (name, text) of each text
    truncation: str = ""  # what the truncated badge says
    rationale: str = ""  # what the underline marks (the human rationale), or "" without one


def outcome(sample: SampleResult) -> str:
    """'base ✗ · fine-tuned ✓' at a glance; 'no label' when the label is unknown."""
    if sample.label is None:
        return "no label"
    return " · ".join(f"{role_title(role).lower()} {verdict_mark(m, sample.label)}"
                      for role, m in sample.models.items())


def strongest_chart(sample: SampleResult, method: str, pieces: list[Unit], class_names: list[str],
                    shares: bool) -> BarChart:
    """The strongest words for and against each model's explained class, one panel per model, from
    the main method; in % of each model's Σ|attribution| with `shares`, else raw scores."""
    specials = {i for i, piece in enumerate(pieces) if piece.special}
    labels = occurrence_labels(pieces)
    panels = []
    for role, model in sample.models.items():
        scores = model.methods[method].scores
        values = [100 * v for v in unit_shares(pieces, scores)] if shares else \
            unit_scores(pieces, scores)
        if is_signed(method):
            top, bottom = strongest(values, CHART_WORDS, skip=specials)
            bars = [(labels[i], v) for i, v in top] + [(labels[i], v) for i, v in reversed(bottom)]
        else:
            top, _ = strongest([abs(v) for v in values], CHART_WORDS, skip=specials)
            bars = [(labels[i], v) for i, v in top]
        panels.append((f"{role_title(role)} → {class_names[model.target]}", bars))
    targets = {model.target for model in sample.models.values()}
    against, toward = toward_words(class_names, next(iter(targets))) if len(targets) == 1 else \
        ("against its class", "toward its class")
    return bar_chart(panels, title=f"Strongest words ({method_title(method).lower()})",
                     x_label=SHARE_AXIS if shares else SCORE_AXIS, signed=is_signed(method),
                     for_text=toward if is_signed(method) else "larger = more weight", against_text=against)


def agreement(sample: SampleResult, methods: list[str]) -> list[AgreementView]:
    """Per model, the Spearman ρ between each two methods' scores over the real tokens; [] for one method."""
    if len(methods) < 2:
        return []
    specials = special_positions(sample)
    keep = [i for i in range(len(sample.tokens)) if i not in specials]
    views = []
    for role, model in sample.models.items():
        matrix = method_agreement(model, methods, keep)
        rows = [[method_title(a)] + ["—" if i == j else
                                     ("n/a" if math.isnan(matrix[i][j]) else fixed(matrix[i][j], 2, signed=True))
                                    for j in range(len(methods))] for i, a in enumerate(methods)]
        views.append(AgreementView(role_title(role), [method_title(m) for m in methods], rows))
    return views


def text_numbers(samples: list[SampleResult]) -> list[int]:
    """Each sample's text, counted from 1: a multi-label report explains one text in several samples in a row."""
    numbers: list[int] = []
    for i, sample in enumerate(samples):
        same = i and (sample.index, sample.text, sample.text_pair) == \
            (samples[i - 1].index, samples[i - 1].text, samples[i - 1].text_pair)
        numbers.append(numbers[-1] if same else (numbers[-1] if numbers else 0) + 1)
    return numbers


def sample_view(number: int, sample: SampleResult, report: Report, scale: str, granularity: str,
                text_number: int, normalised: bool = False) -> SampleView:
    """Sample `number` (from 1) as its section shows it; `text_number` names a text without a dataset row."""
    names = report.meta.class_names
    pieces = units(sample, granularity)
    methods = report.meta.methods
    where = f"row {sample.index}" if sample.index is not None else f"text {text_number}"
    if report.meta.multi_label:
        where += f", explaining {names[next(iter(sample.models.values())).target]}"
    blocks = [method_block(number, k, sample, m, report, scale, pieces, normalised) for k, m in enumerate(methods)]
    return SampleView(
        anchor=f"sample-{number}", heading=f"Sample {number}: {where}",
        sentence=verdict_parts(sample, names, methods[0]),
        changed=changed_line(blocks[0].difference, methods[0]) if blocks else "",
        text=sample.text, label=label_text(sample.label, names),
        label_known=sample.label is not None, outcome=outcome(sample), truncated=sample.truncated,
        label_title="True labels" if isinstance(sample.label, list) else "True label",
        empty=not (sample.text + (sample.text_pair or "")).strip(),
        chart=strongest_chart(sample, methods[0], pieces, names, scale == "share"),
        methods=blocks,
        agreement=agreement(sample, methods),
        segments=segments(sample, report.meta.segment_names),
        truncation=truncation_note(sample, report.meta.segment_names),
        rationale=rationale_legend(sample, names,
                                   others_marked=any(s.rationale is not None for s in report.samples)),
    )


def segments(sample: SampleResult, names: list[str] | None) -> list[tuple[str, str]]:
    """A sentence pair's two texts with their names, first above second; [] for a single text."""
    if sample.text_pair is None:
        return []
    first, second = names or ("Text A", "Text B")
    return [(first, sample.text), (second, sample.text_pair)]


def truncation_note(sample: SampleResult, names: list[str] | None) -> str:
    """What the truncated badge says: which text of a pair was cut, or that only the first tokens were seen."""
    if not sample.truncated:
        return ""
    if sample.text_pair is None or not sample.truncated_segments:
        return "truncated: only the first tokens were seen by the models"
    cut = " and ".join((names or ("Text A", "Text B"))[s] for s in sample.truncated_segments)
    return f"truncated: {cut} lost {'their' if len(sample.truncated_segments) > 1 else 'its'} last tokens"
