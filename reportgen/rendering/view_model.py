"""Turn a `Report` into exactly what the template prints: strings, CSS classes, chart geometry, flags.

All decisions (granularity, colour levels, outcome marks, number formats, warnings, which method
was most faithful) are made here, so the template only lays things out and can be read at a glance.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from reportgen.choices import DELTA_FLOOR, class_position, shapley_gap_allowed
from reportgen.comparison import most_changed, normalise, strongest
from reportgen.faithfulness.agreement import method_agreement
from reportgen.faithfulness.summary import is_normalised
from reportgen.methods import REGISTRY, is_signed, method_title
from reportgen.rendering.caveats import difference_class, other_class, zero_attributions
from reportgen.rendering.charts import BarChart, LineChart, bar_chart, line_chart
from reportgen.rendering.colors import LEVELS, css_class, level_of
from reportgen.rendering.faithfulness_table import (
    NOT_DEFINED,
    FaithfulnessRow,
    Number,
    faithfulness_table,
    report_is_normalised,
    sample_verdict,
    shown_score,
)
from reportgen.rendering.markdown import escape_inline
from reportgen.rendering.numbers import fixed, signed_figure
from reportgen.rendering.pieces import (
    LegendView,
    PageView,
    all_shades,
    auto_steps,
    colour_meaning,
    describe_model,
    fixed_steps,
    generator,
    legend,
    moved_words,
    role_title,
    shares_and_difference,
    time_line,
    toward_words,
    versions_line,
)
from reportgen.rendering.reading import prediction_text, unpredicted_label, verdict_parts
from reportgen.rendering.sentences import Part, mid_sentence, word_count
from reportgen.rendering.truth import label_text, verdict_mark
from reportgen.results import (
    MethodResult,
    ModelAttribution,
    ModelInfo,
    RandomFlips,
    Report,
    ReportMeta,
    SampleResult,
    Word,
)
from reportgen.words import special_positions, word_scores

TOP_K = 5
CHART_WORDS = 6  # bars per direction and model in a sample's chart


def fmt(score: float) -> str:
    """Scores as short, exact-enough text: 4 significant digits, explicit sign, a true minus."""
    return signed_figure(score, 4)


def pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def signed_pct(share: float) -> str:
    """A signed share of a model's Σ|attribution|: "−6.7 %", "+0.4 %" (and "+0.0 %", never "−0.0 %")."""
    return f"{fixed(100 * share, 1, signed=True)} %"


SHARE_AXIS = "share of the model's |attribution|, %"
SCORE_AXIS = "score (raw attribution)"


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


@dataclass
class TopToken:
    token: str
    position: str  # "@12" (wordpiece position) or "@12–14" (a word's wordpieces)
    score: str
    css: str
    shares: str = ""  # the difference view's "−1.6 % → −6.7 %": base → fine-tuned signed shares


@dataclass
class FaithfulnessView:
    comprehensiveness: Number  # NAOPC where the report has it, else the raw AOPC
    sufficiency: Number
    random_comprehensiveness: Number
    random_sufficiency: Number
    verdict: str  # "beats random on both", …, judged on the numbers shown (`faithfulness_table.sample_verdict`)
    verdict_css: str  # good, mixed, poor or undefined
    curve: LineChart
    normalised: bool
    flip: str  # "3 words (random orders 41)", "no flip within 64 words (…)", or "" when not computed


@dataclass
class ColumnView:
    role: str
    title: str
    model_name: str
    prediction: str
    target: str
    explains_other: str  # "" when the column explains its own prediction, else a sentence that says so
    colours: str  # what a shade means in this column, in words
    mark: str  # ✓, ✗ or "" when the label is unknown
    verdict_css: str
    tokens: list[TokenView]
    legend: LegendView | None  # only with per-column scales
    pad_share: str
    delta: str | None  # "Convergence delta …" (integrated gradients) or "Additivity gap …" (Shapley values)
    delta_warning: str | None
    top_for: list[TopToken]
    top_against: list[TopToken]
    faithfulness: FaithfulnessView | None


@dataclass
class DifferenceView:
    target: str
    reason: str
    tokens: list[TokenView]
    legend: LegendView
    gained: list[TopToken]
    lost: list[TopToken]
    gained_heading: str  # "Moved toward positive"
    lost_heading: str  # "Moved toward negative" (two classes) or "Moved against c"
    colours: str
    notes: list[str] = field(default_factory=list)  # a model's all-zero attributions, another class than the columns'


@dataclass
class MethodBlock:
    method: str
    title: str
    anchor: str
    open: bool
    signed: bool
    legend: LegendView | None  # the shared scale; None with per-column scales
    targets_differ: str  # "" when both columns explain one class, else a sentence naming each column's class
    columns: list[ColumnView]
    difference: DifferenceView | None
    summary: str  # the <summary> line: method and its faithfulness at a glance


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


@dataclass
class SummaryRow:
    anchor: str
    index: str
    label: str
    cells: list[str]  # per model: "positive 0.93 ✓"
    comprehensiveness: list[Number]  # per model, the main method's (normalised where computed); empty without
    flips: list[str]  # per model, the main method's flip count beside the random orders'; empty without
    outcome: str
    flags: str


@dataclass
class ReportView(PageView):
    roles: list[tuple[str, str]]  # (role, title)
    summary: list[SummaryRow]
    samples: list[SampleView]
    scale_note: str
    unit_name: str  # "word" or "wordpiece"
    faithfulness: bool
    normalised: bool  # the faithfulness numbers that compare models are NAOPC (else raw AOPC, older files)
    flips: bool
    summary_method: str  # the main method, whose comprehensiveness and flips the summary shows: "integrated gradients"
    faithfulness_rows: list[FaithfulnessRow]
    faithfulness_verdicts: list[str]
    faithfulness_note: str
    difference_note: str
    levels: int = LEVELS
    notes: list[str] = field(default_factory=list)


def outcome(sample: SampleResult) -> str:
    """'base ✗ · fine-tuned ✓' at a glance; 'no label' when the label is unknown."""
    if sample.label is None:
        return "no label"
    return " · ".join(f"{role_title(role).lower()} {verdict_mark(m, sample.label)}"
                      for role, m in sample.models.items())


# --- units: words or wordpieces ------------------------------------------------------------------------


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


def unit_scores(sample: SampleResult, pieces: list[Unit], scores: list[float]) -> list[float]:
    words = [Word(p.text, None, None, p.first_token, p.last_token) for p in pieces]
    return word_scores(words, scores)


def _position(unit: Unit) -> str:
    return f"@{unit.first_token}" if unit.last_token - unit.first_token == 1 else \
        f"@{unit.first_token}–{unit.last_token - 1}"


def _token_views(pieces: list[Unit], values: list[float], token_scores: list[float], scale_max: float,
                 kind: str, tokens: list[str], shades: list[float] | None = None) -> list[TokenView]:
    """`values` are the units' raw scores (data-score and hover); `shades`, when given, what is shaded
    (their shares), shown in the hover before the raw score."""
    views = []
    for number, (unit, value) in enumerate(zip(pieces, values)):
        shaded = value if shades is None else shades[number]
        level = level_of(shaded if kind != "unsigned" else abs(shaded), scale_max)
        classes = [css_class(level, kind)] + (["cont"] if unit.continuation else []) + \
            (["special"] if unit.special else [])
        share = "" if shades is None else f" {fixed(100 * shaded, 1, signed=True)}%"  # the shaded share after the score
        title = f"{unit.raw} {fmt(value)}{share} {_position(unit)}"  # short: a 512-token column has 512 of them
        if unit.last_token - unit.first_token > 1:
            parts = ", ".join(f"{tokens[i]} {fmt(token_scores[i])}" for i in range(unit.first_token, unit.last_token))
            title = f"{unit.text} {fmt(value)}{share} = {parts}"
        views.append(TokenView(unit.text, repr(float(value)), title, " ".join(classes), unit.lead, unit.new_segment))
    return views


def _top(pieces: list[Unit], values: list[float], scale_max: float, sign: int, kind: str,
         number: Callable[[float], str] = fmt) -> list[TopToken]:
    positive, negative = strongest(values, TOP_K, {i for i, piece in enumerate(pieces) if piece.special})
    return [TopToken(pieces[i].text, _position(pieces[i]), number(value),
                     css_class(level_of(value if kind != "unsigned" else abs(value), scale_max), kind))
            for i, value in (positive if sign > 0 else negative)]


def _legend(caption: str, scale_max: float, kind: str, words: tuple[str, str],
            number: Callable[[float], str] = fmt) -> LegendView:
    return legend(caption, kind, number(-scale_max), number(scale_max), words)


def unit_shares(sample: SampleResult, pieces: list[Unit], scores: list[float]) -> list[float]:
    """Each unit's signed share of the model's Σ|score| over the text's tokens (`comparison.normalise`)."""
    return unit_scores(sample, pieces, normalise(scores))


def _scale_max(values: list[float]) -> float:
    return max((abs(v) for v in values), default=0.0)


# --- one method block: base | fine-tuned | difference ------------------------------------------------


def flip_text(result: MethodResult, chance: RandomFlips | None) -> str:
    """"3 words (random orders 41)"; "no flip within 64 words (random orders: none within 64)"; "" if not computed."""
    flip = result.flip
    if flip is None:
        return ""
    own = word_count(flip.k) if flip.k is not None else f"no flip within {flip.searched}"
    if chance is None:
        return own
    median = chance.median
    return own + (f" (random {median})" if median is not None else f" (random: none within {chance.searched})")


def _faithfulness_view(result: MethodResult, curve_fractions: list[float] | None, explained: str,
                       chance: RandomFlips | None, normalised: bool = False) -> FaithfulnessView | None:
    """One column's faithfulness; `normalised`: the report has NAOPC values, so every column shows them
    (`shown_score`), never one column raw beside another normalised."""
    f = result.faithfulness
    if f is None or curve_fractions is None:
        return None
    verdict, verdict_css = sample_verdict(f, normalised)  # on the numbers shown: normalised ones where computed
    comprehensiveness, sufficiency = f.scores["comprehensiveness"], f.scores["sufficiency"]
    deletion = f.curves["deletion"]
    curve = line_chart([100 * x for x in curve_fractions],
                       [("top-ranked removed first", deletion.values, "solid"),
                        ("random order", deletion.random, "dashed")],
                       title=f"Deletion curve: p({explained}) as tokens are removed",
                       y_label=f"probability of {explained}")
    shown = [shown_score(score, random, normalised) for random in (False, True)
             for score in (comprehensiveness, sufficiency)]
    return FaithfulnessView(shown[0], shown[1], shown[2], shown[3], verdict, verdict_css, curve, normalised,
                            flip_text(result, chance))


def _delta(result: MethodResult, tolerance: float | None) -> tuple[str | None, str | None]:
    """IG's convergence delta, the steps it took, and a warning when it is too large to trust.

    With auto steps (`tolerance` set) a sample is flagged when it stopped at --max-steps with its
    delta above the tolerance, by the rule the refinement used; with fixed steps, above 5 %.
    """
    if result.convergence_delta is None:
        return None, None
    relative = result.relative_delta or 0.0
    delta = (f"Convergence delta {signed_figure(result.convergence_delta)} ({pct(relative)} of F(x)−F(x′) = "
             f"{signed_figure(result.target_logit_change)})")
    if result.steps is not None:
        delta += f" after {result.steps} path steps"
    if result.adds_up(tolerance):
        return delta, None
    if tolerance is None:
        return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change. "
                       "Raise --steps for trustworthy scores.")
    return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change, "
                   f"above the {100 * tolerance:g}% tolerance after {result.steps} steps (the --max-steps cap). "
                   + (_cancelling(result, tolerance) or "Raise --max-steps for trustworthy scores."))


CANCELLING = 10
"""A path's scores cancel when Σ|score| is at least this many times |F(x) − F(x′)| (with DELTA_FLOOR)."""


def _cancelling(result: MethodResult, tolerance: float) -> str:
    """For a delta above tolerance on a path whose scores cancel, the sizes a reader needs to judge it:
    there a share of a small F(x) − F(x′) is a far smaller share of the scores themselves, and more
    steps shrink the delta slowly (docs/benchmarks.md, "Why these four"). "" otherwise."""
    mass = sum(abs(score) for score in result.scores)
    change = max(abs(result.target_logit_change or 0.0), DELTA_FLOOR)
    if result.convergence_delta is None or mass < CANCELLING * change:
        return ""
    share = abs(result.convergence_delta) / mass
    return (f"The scores cancel along this path: their total size Σ|score| = {mass:.3g} is {mass / change:.0f}× the "
            f"logit change, so the delta is only {100 * share:.2g}% of Σ|score|. On such a path the "
            f"{100 * tolerance:g}% tolerance asks far more than elsewhere and more steps shrink the delta slowly; "
            "raise --max-steps if the sum itself must match.")


def _additivity(result: MethodResult, method: str, tolerance: float | None) -> tuple[str | None, str | None]:
    """The fact that says whether a method's scores add up, and a warning when they do not: integrated
    gradients' convergence delta, or the Shapley values' gap to f(x) − f(no words)."""
    if not REGISTRY.get(method) or not REGISTRY[method].samples or result.convergence_delta is None:
        return _delta(result, tolerance)
    change = result.target_logit_change or 0.0
    gap = (f"Additivity gap {signed_figure(result.convergence_delta, 2)} (Σ word values − f(x) + f(no words), "
           f"where f(x) − f(no words) = {signed_figure(change)} is the target logit's drop when every word is removed)")
    if abs(result.convergence_delta) <= shapley_gap_allowed(change):
        return gap, None
    return gap, ("The Shapley values do not add up beyond fp32 rounding: the model gave different logits for "
                 "the same text (dropout left on, or non-deterministic kernels); treat the scores with care.")


def _column(role: str, sample: SampleResult, model: ModelAttribution, method: str, pieces: list[Unit],
            class_names: list[str], info: ModelInfo, scale_max: float | None, kind: str,
            curve_fractions: list[float] | None, tolerance: float | None = None, shares: bool = False,
            normalised: bool = False) -> ColumnView:
    """One model's column; with `shares` its shades, lists and scale are signed shares of its own Σ|score|;
    `normalised`: the report's faithfulness numbers are NAOPC."""
    result = model.methods[method]
    values = unit_scores(sample, pieces, result.scores)
    shaded = unit_shares(sample, pieces, result.scores) if shares else values
    number = signed_pct if shares else fmt
    own_max = _scale_max(shaded)
    scale = own_max if scale_max is None else scale_max
    delta, warning = _additivity(result, method, tolerance)
    shown = verdict_mark(model, sample.label)
    target, predicted = class_names[model.target], class_names[model.predicted]
    return ColumnView(
        role=role, title=role_title(role), model_name=info.name,
        prediction=prediction_text(model, class_names),
        target=target,
        explains_other=unpredicted_label(model, class_names) if model.chosen is not None else ""
        if model.target == model.predicted else f"Its shading explains {target}, not its own prediction {predicted}.",
        colours=colour_meaning(kind != "unsigned", class_names, model.target),
        mark=shown, verdict_css={"✓": "right", "✗": "wrong"}.get(shown, "unknown"),
        tokens=_token_views(pieces, values, result.scores, scale, kind, sample.tokens, shaded if shares else None),
        legend=_legend(f"{role_title(role)} scale", scale, kind, toward_words(class_names, model.target), number)
        if scale_max is None else None,
        pad_share=pct(result.pad_share), delta=delta, delta_warning=warning,
        top_for=_top(pieces, shaded, scale, +1, kind, number),
        top_against=_top(pieces, shaded, scale, -1, kind, number) if kind != "unsigned" else [],
        faithfulness=_faithfulness_view(result, curve_fractions, target, model.random_flips, normalised),
    )


SHOWN_PP = 0.05
"""The smallest change of a share, in pp, that the difference lists show (one decimal: 0.1 pp after rounding)."""


def _difference(sample: SampleResult, method: str, pieces: list[Unit], class_names: list[str]) -> DifferenceView | None:
    """Fine-tuned − base of the signed shares toward the common class, with each listed word's two shares,
    and the notes that keep it from misleading (`caveats`)."""
    diff = sample.difference
    if diff is None or method not in diff.difference:
        return None
    values = unit_scores(sample, pieces, diff.difference[method])
    raw = diff.scores.get(method, {})
    before, after = (unit_shares(sample, pieces, raw[role]) if role in raw else None for role in ("base", "finetuned"))
    scale = _scale_max(values)
    labels = ["[special]" if p.special else p.text for p in pieces]
    gained, lost = most_changed(labels, values, TOP_K, skip_labels={"[special]"})
    # a change that the page would show as ±0.0 pp did not move: it is no "moved toward" entry
    gained, lost = ([(i, v) for i, v in items if abs(v) >= SHOWN_PP / 100] for items in (gained, lost))
    against, toward = moved_words(is_signed(method), toward_words(class_names, diff.target))
    occurrences = _occurrence_labels(pieces)  # "movie (2)", as the chart labels a repeated word

    def top(items: list[tuple[int, float]]) -> list[TopToken]:
        return [TopToken(occurrences[i], _position(pieces[i]), f"{fixed(100 * v, 1, signed=True)} pp",
                         css_class(level_of(v, scale), "difference"),
                         f"{signed_pct(before[i])} → {signed_pct(after[i])}" if before and after else "")
                for i, v in items]

    return DifferenceView(
        target=class_names[diff.target], reason=diff.reason,
        tokens=_token_views(pieces, values, diff.difference[method], scale, "difference", sample.tokens),
        legend=_legend("Change of the share, pp", scale, "difference", (against, toward),
                       lambda v: f"{signed_figure(100 * v, 2)} pp"),
        gained=top(gained), lost=top(lost), gained_heading=toward.capitalize(), lost_heading=against.capitalize(),
        colours=f"Teal: {toward} after fine-tuning; brown: {against}.",
        notes=other_class(diff.target, {m.target for m in sample.models.values()}, class_names)
        + zero_attributions(raw, class_names[diff.target]))


def changed_line(view: DifferenceView | None, method: str) -> str:
    """The difference view's lists as one line of Markdown, each word with both models' shares."""
    if view is None:
        return ""
    groups = [f"{heading}: " + (", ".join(f"*{escape_inline(t.token)}* {t.score} ({t.shares})" for t in items)
                                or "no word")
              for heading, items in ((view.gained_heading, view.gained), (view.lost_heading, view.lost))]
    return (f"Fine-tuned − base ({method_title(method).lower()}, shares toward {escape_inline(view.target)}): "
            + "; ".join(groups) + "." + "".join(f" {escape_inline(note)}" for note in view.notes))


def _method_block(number: int, position: int, sample: SampleResult, method: str, report: Report, scale: str,
                  pieces: list[Unit], normalised: bool = False) -> MethodBlock:
    infos = {m.role: m for m in report.meta.models}
    names = report.meta.class_names
    signed = is_signed(method)
    kind = "signed" if signed else "unsigned"
    shares = scale == "share"
    of = unit_shares if shares else unit_scores
    shared = max((_scale_max(of(sample, pieces, m.methods[method].scores)) for m in sample.models.values()),
                 default=0.0)
    curve_fractions = report.meta.faithfulness.curve_fractions if report.meta.faithfulness else None
    columns = [_column(role, sample, model, method, pieces, names, infos[role],
                       None if scale == "per-column" else shared, kind, curve_fractions, report.meta.tolerance, shares,
                       normalised)
               for role, model in sample.models.items()]
    faith = [f"{c.title.lower()} {c.faithfulness.verdict}" for c in columns if c.faithfulness]
    targets = {model.target for model in sample.models.values()}
    explained = "; ".join(f"{c.title.lower()} explains {c.target}" for c in columns)
    if len(targets) == 1:
        words = toward_words(names, next(iter(targets)))
        caption = "Shared scale, share of each model's |attribution|" if shares else "Shared scale, raw scores"
    else:
        words = ("against", "for")
        caption = f"Shared scale (for or against each column's class: {explained})"
    return MethodBlock(
        method=method, title=method_title(method), anchor=f"sample-{number}-{method}", open=position == 0,
        signed=signed,
        legend=_legend(caption, shared, kind, words, signed_pct if shares else fmt) if scale != "per-column" else None,
        targets_differ="" if len(targets) == 1 else
        f"The columns explain different classes ({explained}): the same colour means a different thing in each.",
        columns=columns, difference=_difference(sample, method, pieces, names),
        summary=method_title(method) + (f" — faithfulness: {'; '.join(faith)}" if faith else ""),
    )


def _chart(sample: SampleResult, method: str, pieces: list[Unit], class_names: list[str], shares: bool) -> BarChart:
    """The strongest words for and against each model's explained class, one panel per model, from
    the main method; in % of each model's Σ|attribution| with `shares`, else raw scores."""
    specials = {i for i, piece in enumerate(pieces) if piece.special}
    labels = _occurrence_labels(pieces)
    panels = []
    for role, model in sample.models.items():
        scores = model.methods[method].scores
        values = [100 * v for v in unit_shares(sample, pieces, scores)] if shares else \
            unit_scores(sample, pieces, scores)
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


def _occurrence_labels(pieces: list[Unit]) -> list[str]:
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


def _agreement(sample: SampleResult, methods: list[str]) -> list[AgreementView]:
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


def _sample_view(number: int, sample: SampleResult, report: Report, scale: str, granularity: str,
                 text_number: int, normalised: bool = False) -> SampleView:
    names = report.meta.class_names
    pieces = units(sample, granularity)
    methods = report.meta.methods
    where = f"row {sample.index}" if sample.index is not None else f"text {text_number}"
    if report.meta.multi_label:
        where += f", explaining {names[next(iter(sample.models.values())).target]}"
    blocks = [_method_block(number, k, sample, m, report, scale, pieces, normalised) for k, m in enumerate(methods)]
    return SampleView(
        anchor=f"sample-{number}", heading=f"Sample {number}: {where}",
        sentence=verdict_parts(sample, names, methods[0]),
        changed=changed_line(blocks[0].difference, methods[0]) if blocks else "",
        text=sample.text, label=label_text(sample.label, names),
        label_known=sample.label is not None, outcome=outcome(sample), truncated=sample.truncated,
        label_title="True labels" if isinstance(sample.label, list) else "True label",
        empty=not (sample.text + (sample.text_pair or "")).strip(),
        chart=_chart(sample, methods[0], pieces, names, scale == "share"),
        methods=blocks,
        agreement=_agreement(sample, methods),
        segments=segments(sample, report.meta.segment_names),
        truncation=truncation_note(sample, report.meta.segment_names),
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


# --- the report around the samples --------------------------------------------------------------------


def _summary_row(view: SampleView, sample: SampleResult, names: list[str], method: str,
                 normalised: bool = False) -> SummaryRow:
    flags = []
    explained = next(iter(sample.models.values()))
    if explained.chosen is not None:  # multi-label: one row per explained label
        flags.append(f"explains {names[explained.target]}")
    if sample.truncated:
        flags.append("truncated")
    warned = [block.method for block in view.methods if any(c.delta_warning for c in block.columns)]
    if any(not REGISTRY.get(m) or not REGISTRY[m].samples for m in warned):
        flags.append("IG delta high")
    if any(REGISTRY.get(m) and REGISTRY[m].samples for m in warned):
        flags.append("Shapley gap high")
    measured = [m.methods[method].faithfulness.scores["comprehensiveness"] for m in sample.models.values()
                if m.methods[method].faithfulness is not None]
    comprehensiveness = []
    for score in measured:
        own, chance = shown_score(score, False, normalised), shown_score(score, True, normalised)
        shown = own.text if own.text == chance.text == NOT_DEFINED else f"{own.text} (random {chance.text})"
        comprehensiveness.append(Number(shown, f"{own.title}; random orders: {chance.title}"))
    flips = [flip_text(m.methods[method], m.random_flips) for m in sample.models.values()]
    return SummaryRow(
        anchor=view.anchor, index=str(sample.index) if sample.index is not None else "—", label=view.label,
        cells=[_summary_cell(m, names, sample.label) for m in sample.models.values()],
        comprehensiveness=comprehensiveness, flips=flips if any(flips) else [], outcome=view.outcome,
        flags=", ".join(flags),
    )


def target_line(meta: ReportMeta) -> str:
    """--target as run (a fixed class by its name, however it was given), with what the texts and labels are
    when they are not one text and one class."""
    texts = MULTI_LABEL_TARGET_TEXT if meta.multi_label else TARGET_TEXT
    fixed = class_position(meta.target, meta.class_names)
    parts = [texts.get(meta.target) or (meta.target if fixed is None else meta.class_names[fixed])]
    if meta.multi_label:
        parts.append("multi-label: a sigmoid per label, every label above 0.5 predicted, one sample per explained "
                     "label")
    if meta.segment_names:
        parts.append(f"sentence pairs: {' + '.join(meta.segment_names)}")
    return "; ".join(parts)


def _summary_cell(model: ModelAttribution, names: list[str], label: int | list[int] | None) -> str:
    """"positive 0.93 ✓"; a multi-label model's every predicted label."""
    shown = f"{names[model.predicted]} {model.probabilities[model.predicted]:.2f}" if model.chosen is None \
        else prediction_text(model, names)
    return f"{shown} {verdict_mark(model, label, names)}".strip()


TARGET_TEXT = {
    "common": "common: both models explain one class per text (the true label when known, else the fine-tuned "
              "model's prediction)",
    "predicted": "predicted: each model explains its own prediction (the columns may explain different classes)",
    "label": "label: both models explain the true label",
}
PREDICTED_LABELS = "each label either model predicts (a model that predicts none: its most probable label)"
MULTI_LABEL_TARGET_TEXT = {
    "common": f"common: both models explain {PREDICTED_LABELS}",
    "predicted": f"predicted: both models explain {PREDICTED_LABELS}",
    "label": "label: both models explain each of the text's true labels",
}
"""--target on a multi-label report, where each text is explained once per label (`pipeline.explained_labels`)."""


MULTI_LABEL_COLUMNS = "Both columns explain the label that each sample's heading names (one sample per label)."
"""What a multi-label report's columns explain, whatever --target: each sample is one label of one text."""


def explanation(methods: list[str], target: str = "common", multi_label: bool = False) -> str:
    """The lede: what a shade means, and which class the columns explain."""
    main = methods[0]
    if not is_signed(main):
        what = {"gradient": "how strongly the target logit reacts to a change of the token's embedding "
                            "(L2 norm of the gradient)",
                "attention-rollout": "how much attention flows from the pooled positions to the token "
                                     "through all layers (attention rollout)",
                "attention-gradient": "the token's gradient-weighted attention relevance for the target class"}
        return (f"Shade = {what.get(main, main)}. It says how much the token matters, not in which direction.")
    what = {"integrated-gradients": "its integrated-gradients attribution",
            "gradient-x-input": "gradient × input",
            "occlusion": "how much the target logit drops when the word alone is removed (occlusion)",
            "shapley-sampling": "the word's Shapley value: its mean effect on the target logit over random "
                                "orders of adding the words"}.get(main, main)
    which = {"common": "Both columns explain the same class: the true label when known, else the fine-tuned "
                       "model's prediction.",
             "predicted": "Each column explains its own model's prediction, so the two may explain different "
                          "classes (each column says which)."}.get(target, "Both columns explain the class the "
                                                                          "header names.")
    if multi_label:
        which = MULTI_LABEL_COLUMNS
    return (f"Shade = {what}: blue words pushed the model toward the explained class, red ones away from "
            f"it. {which}")


def build_view(report: Report, scale: str = "share", granularity: str = "word") -> ReportView:
    """Everything the template needs, computed once."""
    meta = report.meta
    exact = all(s.words_exact for s in report.samples)
    normalised = report_is_normalised(report)
    samples = [_sample_view(n, s, report, scale, granularity, t, normalised)
               for n, (s, t) in enumerate(zip(report.samples, text_numbers(report.samples)), start=1)]
    method_text = ", ".join(method_title(m) for m in meta.methods)
    if meta.tolerance is not None:
        taken = [m.methods[method].steps for s in report.samples for m in s.models.values()
                 for method in meta.methods if m.methods[method].steps is not None]
        span = f"{min(taken)}–{max(taken)}" if taken and min(taken) != max(taken) else f"{taken[0]}" if taken else "no"
        method_text += "; integrated gradients with " + auto_steps(meta.quadrature, meta.tolerance, meta.max_steps,
                                                                   span)
    elif meta.steps is not None:
        method_text += f"; integrated gradients with {fixed_steps(meta.steps, meta.quadrature)}"
    if meta.shapley_samples is not None:
        method_text += (f"; Shapley values from {meta.shapley_samples} random orders of the words per sample "
                        "(Captum's ShapleyValueSampling)")
    data = meta.dataset or "free text"
    if meta.split:
        data += f", split {meta.split}"
    roles = [(m.role, role_title(m.role)) for m in meta.models]
    rows, verdicts = faithfulness_table(report)
    summary = [_summary_row(v, s, meta.class_names, meta.method, normalised) for v, s in zip(samples, report.samples)]
    faithfulness_note = ""
    if meta.faithfulness is not None:
        ks = ", ".join(f"{100 * k:g}" for k in meta.faithfulness.ks)
        faithfulness_note = (
            f"Comprehensiveness: how much the probability of the target class drops when the top-ranked tokens are "
            f"removed (higher = more faithful); sufficiency: how much it drops when only they are kept (lower = more "
            f"faithful); each averaged over removing/keeping {ks} % of the real tokens ([CLS]/[SEP] stay, inputs "
            f"are re-padded as the model expects). Random: the same for {meta.faithfulness.random_orders} random "
            f"orders (seed {meta.faithfulness.seed}) — a method should beat it.")
        if normalised:
            faithfulness_note += (
                " Both are shown normalised (NAOPC, Edin et al. 2024): 0 is the lowest and 1 the highest value any "
                "ordering of that text's tokens reached for that model (searched exactly up to 8 tokens, else by "
                "beam search, so the bounds are the best and worst orderings found), which makes the two models' "
                "numbers comparable; hover for the raw values, which the JSON keeps.")
            if any(not is_normalised(f) for s in report.samples for m in s.models.values()
                   for r in m.methods.values() if (f := r.faithfulness) is not None):
                faithfulness_note += (f" {NOT_DEFINED}: every ordering of that text's words scores alike for that "
                                      "model (within fp32 rounding), so it has no normalised value.")
        else:
            faithfulness_note += (" These are raw values (this report has no normalised ones): they compare methods "
                                  "within one model, not across the models.")
        if any(r.flip is not None for s in report.samples for m in s.models.values() for r in m.methods.values()):
            faithfulness_note += (
                " Flip: the fewest top-ranked words (by evidence for the model's predicted class) whose removal "
                "changes its class, every count tried up to the cap; random: the median over the same seeded "
                "orders of words.")
    notes = [] if exact or granularity == "wordpiece" else [
        "Words were reconstructed from '##' continuations (the data has no tokenizer offsets)."]
    return ReportView(
        title="Why the models disagree — " + " vs ".join(t for _, t in roles),
        lede=explanation(meta.methods, meta.target, meta.multi_label),
        header=[("Methods", method_text), ("Target", target_line(meta)), ("Data", data),
                ("Max length", f"{meta.max_length} tokens"), ("Device", f"{meta.device}, {meta.precision}"),
                *([("Time", time_line(meta.seconds))] if meta.seconds else []),
                ("Created", meta.created),
                ("Versions", versions_line(meta.versions))],
        models=[(role_title(m.role), describe_model(m, meta.precision)) for m in meta.models],
        roles=roles,
        summary=summary,
        samples=samples, shades=all_shades(), generator=generator(meta.versions), unit_name=granularity,
        scale_note={"share": "Shades are each model's signed share of its own total |attribution| (%), on one "
                             "scale per sample and method for both columns, so a model with smaller scores does not "
                             "look blank.",
                    "shared": "Shades are raw scores on one colour scale per sample and method, shared by both "
                              "model columns: a model with smaller scores looks paler."}.get(
            scale, "Each column has its own colour scale of raw scores: compare shades within a column, not "
                   "across."),
        faithfulness=meta.faithfulness is not None, normalised=normalised,
        summary_method=mid_sentence(method_title(meta.method)),
        flips=any(row.flips for row in summary), faithfulness_rows=rows, faithfulness_verdicts=verdicts,
        faithfulness_note=faithfulness_note,
        difference_note=" ".join((shares_and_difference({is_signed(m) for m in meta.methods}),
                                  difference_class(meta.target, meta.multi_label))),
        notes=notes,
    )

