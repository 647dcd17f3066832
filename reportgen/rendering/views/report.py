"""Turn a `Report` into exactly what the template prints: strings, CSS classes, chart geometry, flags.

All decisions (granularity, colour levels, outcome marks, number formats, warnings, which method
was most faithful) are made in this package, so the template only lays things out and can be read at a glance.
This module assembles the page (`build_view`): the header, the lede and the notes around the samples
(`sample.py`) and the summary (`summary.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reportgen.choices import class_position
from reportgen.faithfulness.summary import is_normalised
from reportgen.methods import is_signed, method_shade, method_title
from reportgen.rendering.caveats import difference_class
from reportgen.rendering.colors import LEVELS
from reportgen.rendering.faithfulness_table import (
    NOT_DEFINED,
    FaithfulnessRow,
    faithfulness_table,
    report_is_normalised,
)
from reportgen.rendering.pieces import (
    PageView,
    all_shades,
    auto_steps,
    describe_model,
    fixed_steps,
    generator,
    role_title,
    shares_and_difference,
    time_line,
    versions_line,
)
from reportgen.rendering.sentences import mid_sentence
from reportgen.rendering.views.plausibility import NOTE, PlausibilityRow, plausibility_rows
from reportgen.rendering.views.sample import SampleView, sample_view, text_numbers
from reportgen.rendering.views.summary import SummaryRow, summary_row
from reportgen.results import (
    Report,
    ReportMeta,
)

SURROGATES = (("lime", "LIME", "Lime"), ("kernel-shap", "KernelSHAP", "KernelShap"))
"""The surrogate methods as the header names them (and Captum's class), in this order; a header names those chosen."""
SURROGATES_ALL = [(name, captum) for _, name, captum in SURROGATES]


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
    plausibility_rows: list[PlausibilityRow] = field(default_factory=list)  # [] without human rationales
    plausibility_note: str = ""
    rationales: bool = False  # some sample has a human rationale: the underline's style is on the page


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
"""--target on a multi-label report, where each text is explained once per label (`targets.explained_labels`)."""


MULTI_LABEL_COLUMNS = "Both columns explain the label that each sample's heading names (one sample per label)."
"""What a multi-label report's columns explain, whatever --target: each sample is one label of one text."""


def explanation(methods: list[str], target: str = "common", multi_label: bool = False) -> str:
    """The lede: what a shade means, and which class the columns explain."""
    main = methods[0]
    if not is_signed(main):
        return f"Shade = {method_shade(main)}. It says how much the token matters, not in which direction."
    what = method_shade(main)
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
    samples = [sample_view(n, s, report, scale, granularity, t, normalised)
               for n, (s, t) in enumerate(zip(report.samples, text_numbers(report.samples)), start=1)]
    method_text = ", ".join(method_title(m) for m in meta.methods)
    if meta.tolerance is not None:
        taken = [m.methods[method].steps for s in report.samples for m in s.models.values()
                 for method in meta.methods if m.methods[method].steps is not None]
        span = f"{min(taken)}–{max(taken)}" if taken and min(taken) != max(taken) else f"{taken[0]}" if taken else "no"
        on_scores = any(m.methods[method].score_error is not None for s in report.samples
                        for m in s.models.values() for method in meta.methods)  # else a file of the delta's days
        method_text += "; integrated gradients with " + auto_steps(meta.quadrature, meta.tolerance, meta.max_steps,
                                                                   span, on_scores, meta.estimator)
    elif meta.steps is not None:
        method_text += f"; integrated gradients with {fixed_steps(meta.steps, meta.quadrature)}"
    if meta.shapley_samples is not None:
        method_text += (f"; Shapley values from {meta.shapley_samples} random orders of the words per sample "
                        "(Captum's ShapleyValueSampling)")
    if meta.surrogate_samples is not None:
        chosen = [(name, captum) for method, name, captum in SURROGATES if method in meta.methods] or SURROGATES_ALL
        method_text += (f"; {' and '.join(n for n, _ in chosen)} from {meta.surrogate_samples} sampled coalitions of "
                        f"the words per sample (Captum's {' and '.join(c for _, c in chosen)}, linear surrogate fitted "
                        "by weighted least squares)")
    data = meta.dataset or "free text"
    if meta.split:
        data += f", split {meta.split}"
    roles = [(m.role, role_title(m.role)) for m in meta.models]
    rows, verdicts = faithfulness_table(report)
    summary = [summary_row(v, s, meta.class_names, meta.method, normalised, meta.surrogate_samples)
               for v, s in zip(samples, report.samples)]
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
        plausibility_rows=(plausible := plausibility_rows(report)), plausibility_note=NOTE if plausible else "",
        rationales=any(s.rationale for s in report.samples),
    )
