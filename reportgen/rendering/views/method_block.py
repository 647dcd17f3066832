"""One method's block in a sample: base | fine-tuned | difference, with its shared scale and summary line."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.methods import is_signed, method_title
from reportgen.rendering.numbers import fmt, signed_pct
from reportgen.rendering.pieces import (
    LegendView,
    toward_words,
)
from reportgen.rendering.views.columns import ColumnView, column
from reportgen.rendering.views.difference import DifferenceView, difference
from reportgen.rendering.views.tokens import Unit, max_abs, scale_legend, unit_scores, unit_shares
from reportgen.results import (
    Report,
    SampleResult,
)


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


def method_block(number: int, position: int, sample: SampleResult, method: str, report: Report, scale: str,
                 pieces: list[Unit], normalised: bool = False) -> MethodBlock:
    """Sample `number`'s block for `method` (open when `position` is 0): its columns, difference, scale."""
    infos = {m.role: m for m in report.meta.models}
    names = report.meta.class_names
    signed = is_signed(method)
    kind = "signed" if signed else "unsigned"
    shares = scale == "share"
    of = unit_shares if shares else unit_scores
    shared = max((max_abs(of(pieces, m.methods[method].scores)) for m in sample.models.values()),
                 default=0.0)
    curve_fractions = report.meta.faithfulness.curve_fractions if report.meta.faithfulness else None
    columns = [column(role, sample, model, method, pieces, names, infos[role],
                      None if scale == "per-column" else shared, kind, curve_fractions, report.meta.tolerance, shares,
                      normalised, report.meta.surrogate_samples, report.meta.estimator)
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
        legend=scale_legend(caption, shared, kind, words, signed_pct if shares else fmt)
        if scale != "per-column" else None,
        targets_differ="" if len(targets) == 1 else
        f"The columns explain different classes ({explained}): the same colour means a different thing in each.",
        columns=columns, difference=difference(sample, method, pieces, names),
        summary=method_title(method) + (f" — faithfulness: {'; '.join(faith)}" if faith else ""),
    )
