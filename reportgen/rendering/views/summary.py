"""The summary table's rows: each sample's verdicts, the main method's comprehensiveness and flips, its flags."""

from __future__ import annotations

from dataclasses import dataclass, field

from reportgen.choices import too_few_samples
from reportgen.methods import REGISTRY
from reportgen.rendering.faithfulness_table import (
    NOT_DEFINED,
    Number,
    shown_score,
)
from reportgen.rendering.plausible import summary_text
from reportgen.rendering.reading import prediction_text
from reportgen.rendering.truth import verdict_mark
from reportgen.rendering.views.columns import flip_text
from reportgen.rendering.views.sample import SampleView
from reportgen.results import (
    ModelAttribution,
    SampleResult,
)


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
    plausibility: list[str] = field(default_factory=list)  # per model, the main method's; empty without rationales


def summary_row(view: SampleView, sample: SampleResult, names: list[str], method: str,
                normalised: bool = False, surrogate_samples: int | None = None) -> SummaryRow:
    """A sample's row of the summary table, from its view and the main `method`'s faithfulness and flips
    (`surrogate_samples`: the report's, to tell an under-sampled KernelSHAP from a high gap)."""
    flags = []
    explained = next(iter(sample.models.values()))
    if explained.chosen is not None:  # multi-label: one row per explained label
        flags.append(f"explains {names[explained.target]}")
    if sample.truncated:
        flags.append("truncated")
    warned = [block.method for block in view.methods if any(c.delta_warning for c in block.columns)]
    if any(not REGISTRY.get(m) or REGISTRY[m].walks_path for m in warned):
        flags.append("IG not converged")
    undersampled = too_few_samples(surrogate_samples, sample.removable_words)  # KernelSHAP's warning says so
    gaps = {"KernelSHAP under-sampled" if REGISTRY[m].gap == "fitted" and undersampled else "Shapley gap high"
            for m in warned if REGISTRY.get(m) and REGISTRY[m].gap}
    flags += [flag for flag in ("KernelSHAP under-sampled", "Shapley gap high") if flag in gaps]
    fits = [sample.models[c.role].methods[block.method].surrogate_fit for block in view.methods
            if REGISTRY.get(block.method) and REGISTRY[block.method].states_fit
            for c in block.columns if c.delta_warning]  # LIME's warned columns: a poor fit, or none measurable
    if any(fit is not None for fit in fits):
        flags.append("LIME fit poor")
    if any(fit is None for fit in fits):
        flags.append("LIME fit not measurable")
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
        cells=[summary_cell(m, names, sample.label) for m in sample.models.values()],
        comprehensiveness=comprehensiveness, flips=flips if any(flips) else [], outcome=view.outcome,
        flags=", ".join(flags),
        plausibility=[summary_text(m.methods[method].plausibility) for m in sample.models.values()],
    )


def summary_cell(model: ModelAttribution, names: list[str], label: int | list[int] | None) -> str:
    """"positive 0.93 ✓"; a multi-label model's every predicted label."""
    shown = f"{names[model.predicted]} {model.probabilities[model.predicted]:.2f}" if model.chosen is None \
        else prediction_text(model, names)
    return f"{shown} {verdict_mark(model, label, names)}".strip()
