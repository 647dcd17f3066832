"""Turn a `Report` into exactly what the template prints: strings, CSS classes, flags.

All decisions (colour levels, outcome marks, number formats, warnings) are made here, so the
template only lays things out and can be read at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reportgen.rendering.colors import LEVELS, Shade, css_class, level_of, shades
from reportgen.results import ModelAttribution, ModelInfo, Report, SampleResult

ROLE_TITLES = {"base": "Base", "finetuned": "Fine-tuned"}
SCALES = ("shared", "per-column")
DELTA_WARNING = 0.05  # flag IG when |delta| exceeds 5 % of |F(x) − F(x′)|
TOP_K = 5
METHOD_TITLES = {
    "integrated-gradients": "Integrated gradients",
    "gradient-x-input": "Gradient × input",
    "gradient": "Gradient norm",
}


def fmt(score: float) -> str:
    """Scores as short, exact-enough text: 4 significant digits, explicit sign."""
    return f"{score:+.4g}"


def pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role)


@dataclass
class TokenView:
    text: str  # what is shown: the wordpiece without its "##"
    raw: str  # the wordpiece as the tokenizer wrote it
    score: str  # repr-exact float for data-score, equal to the JSON value
    title: str  # hover text
    css: str  # shade class plus "cont"/"special" markers
    lead: str  # " " before a new word, "" before a "##" continuation


@dataclass
class LegendView:
    low: str  # label of the scale's left end
    high: str  # label of the right end
    swatches: list[str]  # css classes, left to right


@dataclass
class TopToken:
    token: str
    position: int
    score: str
    css: str


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
    legend: LegendView
    pad_share: str
    delta: str | None
    delta_warning: str | None
    top_for: list[TopToken]
    top_against: list[TopToken]


@dataclass
class SampleView:
    anchor: str
    heading: str
    text: str
    label: str
    outcome: str
    truncated: bool
    empty: bool
    columns: list[ColumnView]
    shared_legend: bool


@dataclass
class SummaryRow:
    anchor: str
    index: str
    label: str
    cells: list[str]  # per model: "positive 0.93 ✓"
    outcome: str
    flags: str


@dataclass
class ReportView:
    title: str
    method_title: str
    signed: bool
    explanation: str
    header: list[tuple[str, str]]
    models: list[tuple[str, str]]
    roles: list[tuple[str, str]]  # (role, title)
    summary: list[SummaryRow]
    samples: list[SampleView]
    shades: list[Shade]
    scale_note: str
    generator: str = ""
    levels: int = LEVELS
    footer: list[str] = field(default_factory=list)


def _mark(model: ModelAttribution, label: int | None) -> str:
    if label is None:
        return ""
    return "✓" if model.predicted == label else "✗"


def outcome(sample: SampleResult) -> str:
    """'base ✗ · fine-tuned ✓' at a glance; empty when the label is unknown."""
    if sample.label is None:
        return "no label"
    return " · ".join(f"{role_title(role).lower()} {_mark(m, sample.label)}" for role, m in sample.models.items())


def _token_views(sample: SampleResult, model: ModelAttribution, scale_max: float, signed: bool) -> list[TokenView]:
    views = []
    for position, (token, score) in enumerate(zip(sample.tokens, model.scores)):
        continuation = token.startswith("##") and len(token) > 2
        special = token.startswith("[") and token.endswith("]")
        level = level_of(score, scale_max) if signed else abs(level_of(abs(score), scale_max))
        classes = [css_class(level)] + (["cont"] if continuation else []) + (["special"] if special else [])
        views.append(TokenView(
            text=token[2:] if continuation else token, raw=token, score=repr(float(score)),
            title=f"{token} · {fmt(score)} (position {position})", css=" ".join(classes),
            lead="" if continuation or position == 0 else " ",
        ))
    return views


def _top(sample: SampleResult, model: ModelAttribution, scale_max: float, sign: int) -> list[TopToken]:
    ranked = sorted(((s * sign, i) for i, s in enumerate(model.scores) if s * sign > 0), reverse=True)[:TOP_K]
    return [TopToken(sample.tokens[i], i, fmt(model.scores[i]), css_class(level_of(model.scores[i], scale_max)))
            for _, i in ranked]


def _legend(scale_max: float, signed: bool) -> LegendView:
    levels = range(-LEVELS, LEVELS + 1) if signed else range(0, LEVELS + 1)
    return LegendView(low=fmt(-scale_max) if signed else "0", high=fmt(scale_max),
                      swatches=[css_class(level) for level in levels])


def _column(role: str, sample: SampleResult, model: ModelAttribution, class_names: list[str],
            info: ModelInfo, scale_max: float, signed: bool) -> ColumnView:
    delta = warning = None
    if model.convergence_delta is not None:
        relative = model.relative_delta or 0.0
        delta = f"{model.convergence_delta:+.3g} ({pct(relative)} of F(x)−F(x′) = {model.target_logit_change:+.3g})"
        if relative > DELTA_WARNING:
            warning = (f"Attributions do not add up: the convergence delta is {pct(relative)} of the logit change. "
                       "Raise --steps for trustworthy scores.")
    mark = _mark(model, sample.label)
    return ColumnView(
        role=role, title=role_title(role), model_name=info.name,
        prediction=f"{class_names[model.predicted]} ({model.probabilities[model.predicted]:.2f})",
        target=class_names[model.target], mark=mark,
        verdict_css={"✓": "right", "✗": "wrong"}.get(mark, "unknown"),
        tokens=_token_views(sample, model, scale_max, signed), legend=_legend(scale_max, signed),
        pad_share=pct(model.pad_share), delta=delta, delta_warning=warning,
        top_for=_top(sample, model, scale_max, +1), top_against=_top(sample, model, scale_max, -1) if signed else [],
    )


def _scale_max(scores: list[float]) -> float:
    return max((abs(s) for s in scores), default=0.0)


def _sample_view(number: int, sample: SampleResult, report: Report, scale: str, signed: bool) -> SampleView:
    infos = {m.role: m for m in report.meta.models}
    names = report.meta.class_names
    shared = max((_scale_max(m.scores) for m in sample.models.values()), default=0.0)
    columns = [
        _column(role, sample, model, names, infos[role],
                shared if scale == "shared" else _scale_max(model.scores), signed)
        for role, model in sample.models.items()
    ]
    where = f"row {sample.index}" if sample.index is not None else f"text {number}"
    return SampleView(
        anchor=f"sample-{number}", heading=f"Sample {number}: {where}", text=sample.text,
        label=names[sample.label] if sample.label is not None else "unknown",
        outcome=outcome(sample), truncated=sample.truncated, empty=not sample.text.strip(),
        columns=columns, shared_legend=scale == "shared",
    )


def _summary_row(view: SampleView, sample: SampleResult, names: list[str]) -> SummaryRow:
    flags = []
    if sample.truncated:
        flags.append("truncated")
    if any(c.delta_warning for c in view.columns):
        flags.append("IG delta high")
    return SummaryRow(
        anchor=view.anchor, index=str(sample.index) if sample.index is not None else "—", label=view.label,
        cells=[f"{names[m.predicted]} {m.probabilities[m.predicted]:.2f} {_mark(m, sample.label)}".strip()
               for m in sample.models.values()],
        outcome=view.outcome, flags=", ".join(flags),
    )


def explanation(method: str, signed: bool) -> str:
    if not signed:
        return ("Shade = how strongly the target logit reacts to a change of the wordpiece's embedding "
                "(L2 norm of the gradient). It says where the model is sensitive, not in which direction.")
    what = {"integrated-gradients": "its integrated-gradients attribution",
            "gradient-x-input": "gradient × input"}.get(method, method)
    return (f"Shade = {what}: blue wordpieces pushed the model towards the target class, red ones away from "
            "it. The target is the class each model predicted unless the header says otherwise.")


def build_view(report: Report, scale: str = "shared") -> ReportView:
    """Everything the template needs, computed once."""
    meta = report.meta
    signed = meta.method != "gradient"
    samples = [_sample_view(n, s, report, scale, signed) for n, s in enumerate(report.samples, start=1)]
    method = METHOD_TITLES.get(meta.method, meta.method)
    if meta.steps is not None:
        method += f", {meta.steps} steps ({meta.quadrature})"
    data = meta.dataset or "free text"
    if meta.split:
        data += f", split {meta.split}"
    roles = [(m.role, role_title(m.role)) for m in meta.models]
    return ReportView(
        title="Why the models disagree — " + " vs ".join(t for _, t in roles),
        method_title=METHOD_TITLES.get(meta.method, meta.method), signed=signed,
        explanation=explanation(meta.method, signed),
        header=[("Method", method), ("Target", meta.target), ("Data", data),
                ("Max length", f"{meta.max_length} tokens"), ("Device", f"{meta.device}, {meta.precision}"),
                ("Created", meta.created),
                ("Versions", ", ".join(f"{k} {v}" for k, v in meta.versions.items()))],
        models=[(role_title(m.role), _describe(m)) for m in meta.models],
        roles=roles,
        summary=[_summary_row(v, s, meta.class_names) for v, s in zip(samples, report.samples)],
        samples=samples, shades=shades(signed), generator=f"reportgen {meta.versions.get('reportgen', '')}",
        scale_note=("One colour scale per sample, shared by both columns, so shades compare across models."
                    if scale == "shared" else
                    "Each column has its own colour scale: compare shades within a column, not across."),
    )


def _describe(info: ModelInfo) -> str:
    parts = [info.name]
    if info.sha256:
        parts.append(f"sha256 {info.sha256}")
    if info.format == "checkpoint":
        parts.append(f"state dict on encoder {info.encoder}, pooling {info.pooling}")
    else:
        parts.append("Hugging Face model")
    return " · ".join(parts)
