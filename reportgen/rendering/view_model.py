"""Turn a `Report` into exactly what the template prints: strings, CSS classes, chart geometry, flags.

All decisions (granularity, colour levels, outcome marks, number formats, warnings, which method
was most faithful) are made here, so the template only lays things out and can be read at a glance.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from reportgen.comparison import most_changed, strongest
from reportgen.faithfulness.agreement import method_agreement
from reportgen.faithfulness.summary import beats_random, has_normalised, mean_scores, most_faithful
from reportgen.methods import is_signed, method_title
from reportgen.rendering.charts import BarChart, LineChart, bar_chart, line_chart
from reportgen.rendering.colors import LEVELS, css_class, level_of
from reportgen.rendering.pieces import (
    LegendView,
    PageView,
    all_shades,
    describe_model,
    fixed_steps,
    generator,
    legend,
    mark,
    role_title,
    versions_line,
)
from reportgen.rendering.reading import verdict_parts
from reportgen.rendering.sentences import Part
from reportgen.results import (
    MethodResult,
    ModelAttribution,
    ModelInfo,
    RandomFlips,
    Report,
    SampleResult,
    Score,
    Word,
)
from reportgen.words import is_word, special_positions, word_scores

TOP_K = 5
CHART_WORDS = 6  # bars per direction and model in a sample's chart


def fmt(score: float) -> str:
    """Scores as short, exact-enough text: 4 significant digits, explicit sign."""
    return f"{score:+.4g}"


def pct(share: float) -> str:
    return f"{100 * share:.1f}%"


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


@dataclass
class TokenView:
    text: str
    score: str  # repr-exact float for data-score, equal to the JSON value (the sum, for words)
    title: str  # hover text
    css: str  # shade class plus "cont"/"special" markers
    lead: str


@dataclass
class TopToken:
    token: str
    position: str  # "@12" (wordpiece position) or "@12–14" (a word's wordpieces)
    score: str
    css: str


@dataclass
class Number:
    """A number as shown, with what a hover adds (the raw AOPC behind a normalised value)."""

    text: str
    title: str = ""


@dataclass
class FaithfulnessView:
    comprehensiveness: Number  # NAOPC where the report has it, else the raw AOPC
    sufficiency: Number
    random_comprehensiveness: Number
    random_sufficiency: Number
    verdict: str  # "beats random on both", …
    verdict_css: str
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
    mark: str  # ✓, ✗ or "" when the label is unknown
    verdict_css: str
    tokens: list[TokenView]
    legend: LegendView | None  # only with per-column scales
    pad_share: str
    delta: str | None
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


@dataclass
class MethodBlock:
    method: str
    title: str
    anchor: str
    open: bool
    signed: bool
    legend: LegendView | None  # the shared scale; None with per-column scales
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
    text: str
    label: str
    outcome: str
    truncated: bool
    empty: bool
    chart: BarChart
    methods: list[MethodBlock]
    agreement: list[AgreementView]


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
class FaithfulnessRow:
    method: str
    role: str
    comprehensiveness: str
    random_comprehensiveness: str
    sufficiency: str
    random_sufficiency: str
    best: bool


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
    return " · ".join(f"{role_title(role).lower()} {mark(m.predicted, sample.label)}"
                      for role, m in sample.models.items())


# --- units: words or wordpieces ------------------------------------------------------------------------


def units(sample: SampleResult, granularity: str) -> list[Unit]:
    """The pieces a column shades. Words keep the text's spelling and spacing (from the offsets)."""
    out = []
    specials = special_positions(sample)
    if granularity == "wordpiece":
        for position, token in enumerate(sample.tokens):
            continuation = token.startswith("##") and len(token) > 2
            out.append(Unit(token[2:] if continuation else token, token, position, position + 1,
                            position in specials, continuation, "" if continuation or position == 0 else " "))
        return out
    previous_end: int | None = None
    for number, word in enumerate(sample.words):
        pieces = sample.tokens[word.first_token:word.last_token]
        glued = word.start is not None and previous_end is not None and word.start == previous_end
        out.append(Unit(word.text, " ".join(pieces), word.first_token, word.last_token,
                        word.start is None and word.first_token in specials, False,
                        "" if number == 0 or glued else " "))
        previous_end = word.end if word.end is not None else previous_end
    return out


def unit_scores(sample: SampleResult, pieces: list[Unit], scores: list[float]) -> list[float]:
    words = [Word(p.text, None, None, p.first_token, p.last_token) for p in pieces]
    return word_scores(words, scores)


def _position(unit: Unit) -> str:
    return f"@{unit.first_token}" if unit.last_token - unit.first_token == 1 else \
        f"@{unit.first_token}–{unit.last_token - 1}"


def _token_views(pieces: list[Unit], values: list[float], token_scores: list[float], scale_max: float,
                 kind: str, tokens: list[str]) -> list[TokenView]:
    views = []
    for unit, value in zip(pieces, values):
        level = level_of(value if kind != "unsigned" else abs(value), scale_max)
        classes = [css_class(level, kind)] + (["cont"] if unit.continuation else []) + \
            (["special"] if unit.special else [])
        title = f"{unit.raw} {fmt(value)} {_position(unit)}"  # short: a 512-token column has 512 of them
        if unit.last_token - unit.first_token > 1:
            parts = ", ".join(f"{tokens[i]} {fmt(token_scores[i])}" for i in range(unit.first_token, unit.last_token))
            title = f"{unit.text} {fmt(value)} = {parts}"
        views.append(TokenView(unit.text, repr(float(value)), title, " ".join(classes), unit.lead))
    return views


def _top(pieces: list[Unit], values: list[float], scale_max: float, sign: int, kind: str) -> list[TopToken]:
    positive, negative = strongest(values, TOP_K, {i for i, piece in enumerate(pieces) if piece.special})
    return [TopToken(pieces[i].text, _position(pieces[i]), fmt(value),
                     css_class(level_of(value if kind != "unsigned" else abs(value), scale_max), kind))
            for i, value in (positive if sign > 0 else negative)]


def _legend(caption: str, scale_max: float, kind: str) -> LegendView:
    return legend(caption, kind, fmt(-scale_max), fmt(scale_max), ("less in fine-tuned", "more in fine-tuned"))


def _scale_max(values: list[float]) -> float:
    return max((abs(v) for v in values), default=0.0)


# --- one method block: base | fine-tuned | difference ------------------------------------------------


def shown_score(score: Score, random: bool = False) -> Number:
    """NAOPC with the raw AOPC in the hover where computed; else the raw AOPC."""
    raw = score.random if random else score.value
    normalised = score.random_normalised if random else score.normalised
    if normalised is None:
        return Number(f"{raw:.3f}", "raw AOPC" if score.normalised is None else
                      "raw AOPC: every ordering of this text scores alike, so it has no normalised value")
    return Number(f"{normalised:.2f}", f"normalised (NAOPC); raw AOPC {raw:.3f}")


def flip_text(result: MethodResult, chance: RandomFlips | None) -> str:
    """"3 words (random orders 41)"; "no flip within 64 words (random orders: none within 64)"; "" if not computed."""
    flip = result.flip
    if flip is None:
        return ""
    own = f"{flip.k} word{'s' if flip.k != 1 else ''}" if flip.k is not None else f"no flip within {flip.searched}"
    if chance is None:
        return own
    median = chance.median
    return own + (f" (random {median})" if median is not None else f" (random: none within {chance.searched})")


def _faithfulness_view(result: MethodResult, curve_fractions: list[float] | None,
                       chance: RandomFlips | None) -> FaithfulnessView | None:
    f = result.faithfulness
    if f is None or curve_fractions is None:
        return None
    comp_ok, suff_ok = beats_random(f)
    comprehensiveness, sufficiency = f.scores["comprehensiveness"], f.scores["sufficiency"]
    deletion = f.curves["deletion"]
    verdict = {(True, True): "beats random on both", (True, False): "beats random on comprehensiveness only",
               (False, True): "beats random on sufficiency only", (False, False): "no better than random"}[
        (comp_ok, suff_ok)]
    curve = line_chart([100 * x for x in curve_fractions],
                       [("top-ranked removed first", deletion.values, "solid"),
                        ("random order", deletion.random, "dashed")],
                       title="Deletion curve: p(target) as tokens are removed")
    return FaithfulnessView(shown_score(comprehensiveness), shown_score(sufficiency),
                            shown_score(comprehensiveness, True), shown_score(sufficiency, True), verdict,
                            "good" if comp_ok and suff_ok else "poor" if not (comp_ok or suff_ok) else "mixed", curve,
                            comprehensiveness.normalised is not None, flip_text(result, chance))


def _delta(result: MethodResult, tolerance: float | None) -> tuple[str | None, str | None]:
    """IG's convergence delta, the steps it took, and a warning when it is too large to trust.

    With auto steps (`tolerance` set) a sample is flagged when it stopped at --max-steps with its
    delta above the tolerance, by the rule the refinement used; with fixed steps, above 5 %.
    """
    if result.convergence_delta is None:
        return None, None
    relative = result.relative_delta or 0.0
    delta = f"{result.convergence_delta:+.3g} ({pct(relative)} of F(x)−F(x′) = {result.target_logit_change:+.3g})"
    if result.steps is not None:
        delta += f" after {result.steps} path steps"
    if result.adds_up(tolerance):
        return delta, None
    if tolerance is None:
        return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change. "
                       "Raise --steps for trustworthy scores.")
    return delta, (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change, "
                   f"above the {100 * tolerance:g}% tolerance after {result.steps} steps (the --max-steps cap). "
                   "Raise --max-steps for trustworthy scores.")


def _column(role: str, sample: SampleResult, model: ModelAttribution, method: str, pieces: list[Unit],
            class_names: list[str], info: ModelInfo, scale_max: float | None, kind: str,
            curve_fractions: list[float] | None, tolerance: float | None = None) -> ColumnView:
    result = model.methods[method]
    values = unit_scores(sample, pieces, result.scores)
    own_max = _scale_max(values)
    scale = own_max if scale_max is None else scale_max
    delta, warning = _delta(result, tolerance)
    shown = mark(model.predicted, sample.label)
    return ColumnView(
        role=role, title=role_title(role), model_name=info.name,
        prediction=f"{class_names[model.predicted]} ({model.probabilities[model.predicted]:.2f})",
        target=class_names[model.target], mark=shown, verdict_css={"✓": "right", "✗": "wrong"}.get(shown, "unknown"),
        tokens=_token_views(pieces, values, result.scores, scale, kind, sample.tokens),
        legend=_legend(f"{role_title(role)} scale", scale, kind) if scale_max is None else None,
        pad_share=pct(result.pad_share), delta=delta, delta_warning=warning,
        top_for=_top(pieces, values, scale, +1, kind),
        top_against=_top(pieces, values, scale, -1, kind) if kind != "unsigned" else [],
        faithfulness=_faithfulness_view(result, curve_fractions, model.random_flips),
    )


def _difference(sample: SampleResult, method: str, pieces: list[Unit], class_names: list[str]) -> DifferenceView | None:
    diff = sample.difference
    if diff is None or method not in diff.difference:
        return None
    values = unit_scores(sample, pieces, diff.difference[method])
    scale = _scale_max(values)
    labels = ["[special]" if p.special else p.text for p in pieces]
    gained, lost = most_changed(labels, values, TOP_K, skip_labels={"[special]"})

    def top(items: list[tuple[int, float]]) -> list[TopToken]:
        return [TopToken(pieces[i].text, _position(pieces[i]), f"{100 * v:+.1f} pp",
                         css_class(level_of(v, scale), "difference")) for i, v in items]

    return DifferenceView(
        target=class_names[diff.target], reason=diff.reason,
        tokens=_token_views(pieces, values, diff.difference[method], scale, "difference", sample.tokens),
        legend=_legend("Difference scale (share of each model's total |attribution|)", scale, "difference"),
        gained=top(gained), lost=top(lost))


def _method_block(number: int, position: int, sample: SampleResult, method: str, report: Report, scale: str,
                  pieces: list[Unit]) -> MethodBlock:
    infos = {m.role: m for m in report.meta.models}
    names = report.meta.class_names
    signed = is_signed(method)
    kind = "signed" if signed else "unsigned"
    shared = max((_scale_max(unit_scores(sample, pieces, m.methods[method].scores)) for m in sample.models.values()),
                 default=0.0)
    curve_fractions = report.meta.faithfulness.curve_fractions if report.meta.faithfulness else None
    columns = [_column(role, sample, model, method, pieces, names, infos[role], shared if scale == "shared" else None,
                       kind, curve_fractions, report.meta.tolerance) for role, model in sample.models.items()]
    faith = [f"{c.title.lower()} {c.faithfulness.verdict}" for c in columns if c.faithfulness]
    return MethodBlock(
        method=method, title=method_title(method), anchor=f"sample-{number}-{method}", open=position == 0,
        signed=signed, legend=_legend("Shared scale", shared, kind) if scale == "shared" else None,
        columns=columns, difference=_difference(sample, method, pieces, names),
        summary=method_title(method) + (f" — faithfulness: {'; '.join(faith)}" if faith else ""),
    )


def _chart(sample: SampleResult, method: str, pieces: list[Unit], class_names: list[str]) -> BarChart:
    """The strongest words for and against each model's target, side by side, from the main method."""
    specials = {i for i, piece in enumerate(pieces) if piece.special}
    labels = _occurrence_labels(pieces)
    panels = []
    for role, model in sample.models.items():
        values = unit_scores(sample, pieces, model.methods[method].scores)
        if is_signed(method):
            top, bottom = strongest(values, CHART_WORDS, skip=specials)
            bars = [(labels[i], v) for i, v in top] + [(labels[i], v) for i, v in reversed(bottom)]
        else:
            top, _ = strongest([abs(v) for v in values], CHART_WORDS, skip=specials)
            bars = [(labels[i], v) for i, v in top]
        panels.append((f"{role_title(role)} → {class_names[model.target]}", bars))
    return bar_chart(panels, title=f"Strongest words ({method_title(method).lower()})")


def _occurrence_labels(pieces: list[Unit]) -> list[str]:
    """A word that occurs more than once is labelled with which occurrence it is ("great (3)": the
    third "great" of the text), so a chart's repeated bars read as different places, not a glitch.
    Punctuation is left unnumbered: "." is clear enough, and "(7)" beside it would be noise."""
    total = Counter(piece.text.lower() for piece in pieces)
    seen: Counter[str] = Counter()
    labels = []
    for piece in pieces:
        key = piece.text.lower()
        seen[key] += 1
        numbered = total[key] > 1 and not piece.special and is_word(piece.text)  # not ". (7)"
        labels.append(f"{piece.text} ({seen[key]})" if numbered else piece.text)
    return labels


def _agreement(sample: SampleResult, methods: list[str]) -> list[AgreementView]:
    if len(methods) < 2:
        return []
    specials = special_positions(sample)
    keep = [i for i in range(len(sample.tokens)) if i not in specials]
    views = []
    for role, model in sample.models.items():
        matrix = method_agreement(model, methods, keep)
        rows = [[method_title(a)] + ["—" if i == j else ("n/a" if math.isnan(matrix[i][j]) else f"{matrix[i][j]:+.2f}")
                                    for j in range(len(methods))] for i, a in enumerate(methods)]
        views.append(AgreementView(role_title(role), [method_title(m) for m in methods], rows))
    return views


def _sample_view(number: int, sample: SampleResult, report: Report, scale: str, granularity: str) -> SampleView:
    names = report.meta.class_names
    pieces = units(sample, granularity)
    methods = report.meta.methods
    where = f"row {sample.index}" if sample.index is not None else f"text {number}"
    return SampleView(
        anchor=f"sample-{number}", heading=f"Sample {number}: {where}",
        sentence=verdict_parts(sample, names, methods[0]),
        text=sample.text, label=names[sample.label] if sample.label is not None else "unknown",
        outcome=outcome(sample), truncated=sample.truncated, empty=not sample.text.strip(),
        chart=_chart(sample, methods[0], pieces, names),
        methods=[_method_block(number, k, sample, m, report, scale, pieces) for k, m in enumerate(methods)],
        agreement=_agreement(sample, methods),
    )


# --- the report around the samples --------------------------------------------------------------------


def _summary_row(view: SampleView, sample: SampleResult, names: list[str], method: str) -> SummaryRow:
    flags = []
    if sample.truncated:
        flags.append("truncated")
    if any(c.delta_warning for block in view.methods for c in block.columns):
        flags.append("IG delta high")
    measured = [m.methods[method].faithfulness.scores["comprehensiveness"] for m in sample.models.values()
                if m.methods[method].faithfulness is not None]
    comprehensiveness = []
    for score in measured:
        own, chance = shown_score(score), shown_score(score, random=True)
        comprehensiveness.append(Number(f"{own.text} (random {chance.text})", f"{own.title}; random: {chance.title}"))
    flips = [flip_text(m.methods[method], m.random_flips) for m in sample.models.values()]
    return SummaryRow(
        anchor=view.anchor, index=str(sample.index) if sample.index is not None else "—", label=view.label,
        cells=[f"{names[m.predicted]} {m.probabilities[m.predicted]:.2f} {mark(m.predicted, sample.label)}".strip()
               for m in sample.models.values()],
        comprehensiveness=comprehensiveness, flips=flips if any(flips) else [], outcome=view.outcome,
        flags=", ".join(flags),
    )


def faithfulness_table(report: Report) -> tuple[list[FaithfulnessRow], list[str]]:
    """Mean metrics per method and model over the report's samples, and the most faithful method per model.

    "Most faithful" = the largest mean (comprehensiveness − sufficiency): removing its top tokens
    hurts most while keeping only them preserves most. The means are of the normalised values
    (NAOPC) where the report has them, so they compare across the models; else of the raw AOPC.
    """
    rows, verdicts = [], []
    roles = [m.role for m in report.meta.models]
    normalised = report_is_normalised(report)
    digits = 2 if normalised else 3
    for role in roles:
        means = {}
        for method in report.meta.methods:
            measured = mean_scores([f for s in report.samples
                                    if (f := s.models[role].methods[method].faithfulness) is not None], normalised)
            if measured is not None:
                means[method] = measured
        best = most_faithful(means)
        best_method, best_value = best if best else (None, -math.inf)
        role_rows = [FaithfulnessRow(method_title(method), role_title(role), f"{mean.comprehensiveness:.{digits}f}",
                                     f"{mean.random_comprehensiveness:.{digits}f}", f"{mean.sufficiency:.{digits}f}",
                                     f"{mean.random_sufficiency:.{digits}f}", False) for method, mean in means.items()]
        for row in role_rows:
            row.best = row.method == method_title(best_method) and len(role_rows) > 1
        rows += role_rows
        if best_method is not None and len(role_rows) > 1:
            verdicts.append(f"{role_title(role)}: {method_title(best_method)} was the most faithful method on these "
                            f"samples (mean {'normalised ' if normalised else ''}comprehensiveness − sufficiency "
                            f"{best_value:+.{digits}f}).")
    return rows, verdicts


def report_is_normalised(report: Report) -> bool:
    """Whether the report's faithfulness numbers carry NAOPC (schema 4 with the bounds computed)."""
    return has_normalised([f for s in report.samples for m in s.models.values() for r in m.methods.values()
                           if (f := r.faithfulness) is not None])


def explanation(methods: list[str]) -> str:
    main = methods[0]
    if not is_signed(main):
        what = {"gradient": "how strongly the target logit reacts to a change of the token's embedding "
                            "(L2 norm of the gradient)",
                "attention-rollout": "how much attention flows from the pooled positions to the token "
                                     "through all layers (attention rollout)",
                "attention-gradient": "the token's gradient-weighted attention relevance for the target class"}
        return (f"Shade = {what.get(main, main)}. It says how much the token matters, not in which direction.")
    what = {"integrated-gradients": "its integrated-gradients attribution",
            "gradient-x-input": "gradient × input"}.get(main, main)
    return (f"Shade = {what}: blue words pushed the model towards the target class, red ones away from "
            "it. The target is the class each model predicted unless the header says otherwise.")


def build_view(report: Report, scale: str = "shared", granularity: str = "word") -> ReportView:
    """Everything the template needs, computed once."""
    meta = report.meta
    exact = all(s.words_exact for s in report.samples)
    samples = [_sample_view(n, s, report, scale, granularity) for n, s in enumerate(report.samples, start=1)]
    method_text = ", ".join(method_title(m) for m in meta.methods)
    if meta.tolerance is not None:
        taken = [m.methods[method].steps for s in report.samples for m in s.models.values()
                 for method in meta.methods if m.methods[method].steps is not None]
        span = f"{min(taken)}–{max(taken)}" if taken and min(taken) != max(taken) else f"{taken[0]}" if taken else "no"
        method_text += (f"; integrated gradients with {span} steps per sample ({meta.quadrature}, nested), "
                        f"each refined until its convergence delta is within {100 * meta.tolerance:g}% of "
                        f"F(x)−F(x′), at most {meta.max_steps}")
    elif meta.steps is not None:
        method_text += f"; integrated gradients with {fixed_steps(meta.steps, meta.quadrature)}"
    data = meta.dataset or "free text"
    if meta.split:
        data += f", split {meta.split}"
    roles = [(m.role, role_title(m.role)) for m in meta.models]
    rows, verdicts = faithfulness_table(report)
    summary = [_summary_row(v, s, meta.class_names, meta.method) for v, s in zip(samples, report.samples)]
    faithfulness_note = ""
    if meta.faithfulness is not None:
        ks = ", ".join(f"{100 * k:g}" for k in meta.faithfulness.ks)
        faithfulness_note = (
            f"Comprehensiveness: how much the probability of the target class drops when the top-ranked tokens are "
            f"removed (higher = more faithful); sufficiency: how much it drops when only they are kept (lower = more "
            f"faithful); each averaged over removing/keeping {ks} % of the real tokens ([CLS]/[SEP] stay, inputs "
            f"are re-padded as the model expects). Random: the same for {meta.faithfulness.random_orders} random "
            f"orders (seed {meta.faithfulness.seed}) — a method should beat it.")
        if report_is_normalised(report):
            faithfulness_note += (
                " Both are shown normalised (NAOPC, Edin et al. 2024): 0 is the lowest and 1 the highest value any "
                "ordering of that text's tokens reached for that model (searched exactly up to 8 tokens, else by "
                "beam search, so the bounds are the best and worst orderings found), which makes the two models' "
                "numbers comparable; hover for the raw values, which the JSON keeps.")
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
        lede=explanation(meta.methods),
        header=[("Methods", method_text), ("Target", meta.target), ("Data", data),
                ("Max length", f"{meta.max_length} tokens"), ("Device", f"{meta.device}, {meta.precision}"),
                ("Created", meta.created),
                ("Versions", versions_line(meta.versions))],
        models=[(role_title(m.role), describe_model(m)) for m in meta.models],
        roles=roles,
        summary=summary,
        samples=samples, shades=all_shades(), generator=generator(meta.versions), unit_name=granularity,
        scale_note=("One colour scale per sample and method, shared by both model columns, so shades compare "
                    "across models." if scale == "shared" else
                    "Each column has its own colour scale: compare shades within a column, not across."),
        faithfulness=meta.faithfulness is not None, normalised=report_is_normalised(report),
        flips=any(row.flips for row in summary), faithfulness_rows=rows, faithfulness_verdicts=verdicts,
        faithfulness_note=faithfulness_note,
        difference_note=("Difference = fine-tuned − base for one common class (the true label when known, else the "
                         "fine-tuned model's prediction), each model's scores first divided by its total |score| "
                         "so that scores are shares of that model's influence and logit scales cannot dominate. "
                         "Shown in percentage points (pp) of that share."),
        notes=notes,
    )

