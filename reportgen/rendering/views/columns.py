"""One model's column of a method block: its prediction, shaded tokens, scale, top lists, additivity line and
faithfulness (scores, deletion curve, flip)."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.choices import ESTIMATOR, ScoreErrorEstimator
from reportgen.rendering.charts import LineChart, line_chart
from reportgen.rendering.faithfulness_table import (
    Number,
    sample_verdict,
    shown_score,
)
from reportgen.rendering.numbers import fmt, pct, signed_pct
from reportgen.rendering.pieces import (
    LegendView,
    colour_meaning,
    role_title,
    toward_words,
)
from reportgen.rendering.plausible import auprc_text, other_class_note, value
from reportgen.rendering.reading import prediction_text, unpredicted_label
from reportgen.rendering.sentences import word_count
from reportgen.rendering.truth import verdict_mark
from reportgen.rendering.views.additivity import additivity_text
from reportgen.rendering.views.tokens import (
    TokenView,
    TopToken,
    Unit,
    max_abs,
    scale_legend,
    token_views,
    top_tokens,
    unit_marks,
    unit_scores,
    unit_shares,
)
from reportgen.results import (
    MethodResult,
    ModelAttribution,
    ModelInfo,
    RandomFlips,
    SampleResult,
)


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
class PlausibilityView:
    """One column's plausibility against the human rationale, as printed (`plausible.value`)."""

    auprc: str  # "0.42 (random 0.11)"
    token_f1: str
    word_auprc: str
    word_f1: str
    marked: str  # "12 tokens, 9 words marked"
    note: str  # "" unless the column shades another class than the true label the rationale supports


def plausibility_view(sample: SampleResult, result: MethodResult, target: int,
                      class_names: list[str]) -> PlausibilityView | None:
    p = result.plausibility
    if p is None:
        return None
    return PlausibilityView(
        auprc=auprc_text(p), token_f1=value(p.token_f1),
        word_auprc=f"{value(p.word_auprc)} (random {value(p.word_auprc_random)})", word_f1=value(p.word_f1),
        marked=f"{p.tokens_marked} token{'s' if p.tokens_marked != 1 else ''}, {p.words_marked} "
               f"word{'s' if p.words_marked != 1 else ''} marked",
        note=other_class_note(sample, target, class_names))


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
    plausibility: PlausibilityView | None = None


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


def faithfulness_view(result: MethodResult, curve_fractions: list[float] | None, explained: str,
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


def column(role: str, sample: SampleResult, model: ModelAttribution, method: str, pieces: list[Unit],
           class_names: list[str], info: ModelInfo, scale_max: float | None, kind: str,
           curve_fractions: list[float] | None, tolerance: float | None = None, shares: bool = False,
           normalised: bool = False, surrogate_samples: int | None = None,
           estimator: ScoreErrorEstimator = ESTIMATOR) -> ColumnView:
    """One model's column; with `shares` its shades, lists and scale are signed shares of its own Σ|score|;
    `normalised`: the report's faithfulness numbers are NAOPC; `tolerance`, `surrogate_samples` and `estimator`
    the report's (`ReportMeta`), for the note on how far the scores can be trusted."""
    result = model.methods[method]
    values = unit_scores(pieces, result.scores)
    shaded = unit_shares(pieces, result.scores) if shares else values
    number = signed_pct if shares else fmt
    own_max = max_abs(shaded)
    scale = own_max if scale_max is None else scale_max
    delta, warning = additivity_text(result, method, tolerance, (surrogate_samples, sample.removable_words),
                                     estimator)
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
        tokens=token_views(pieces, values, result.scores, scale, kind, sample.tokens, shaded if shares else None,
                           unit_marks(sample, pieces)),
        legend=scale_legend(f"{role_title(role)} scale", scale, kind, toward_words(class_names, model.target), number)
        if scale_max is None else None,
        pad_share=pct(result.pad_share), delta=delta, delta_warning=warning,
        top_for=top_tokens(pieces, shaded, scale, +1, kind, number),
        top_against=top_tokens(pieces, shaded, scale, -1, kind, number) if kind != "unsigned" else [],
        faithfulness=faithfulness_view(result, curve_fractions, target, model.random_flips, normalised),
        plausibility=plausibility_view(sample, result, model.target, class_names),
    )
