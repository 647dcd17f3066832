"""A sample's true label as the report shows it: its name, or a multi-label data set's true labels, and
whether each model got it right (✓/✗)."""

from __future__ import annotations

from reportgen.rendering.pieces import mark
from reportgen.results import ModelAttribution

NO_TRUE_LABEL = "none"
"""A multi-label row whose list of true labels is empty: no label applies to it."""


def label_text(label: int | list[int] | None, names: list[str]) -> str:
    """"positive"; a multi-label row's true labels "toxic, insult" ("none" for an empty list); "unknown" without."""
    if label is None:
        return "unknown"
    if isinstance(label, list):
        return ", ".join(names[i] for i in label) or NO_TRUE_LABEL
    return names[label]


def verdict_mark(model: ModelAttribution, label: int | list[int] | None, names: list[str] | None = None) -> str:
    """✓ or ✗ for one model on one sample, "" without a label.

    A class index: whether the model predicts that class. A list of true labels (a multi-label data set;
    the sample explains one label, `model.target`): whether the model's verdict on that label is right,
    i.e. it predicts the label (probability above 0.5) exactly when the label is true; with `names`
    the mark says which label it judges ("✓ on insult"), for a place where it stands beside a whole
    predicted set."""
    if not isinstance(label, list):
        return mark(model.predicted, label)
    predicted = model.target in (model.chosen if model.chosen is not None else [model.predicted])
    shown = "✓" if predicted == (model.target in label) else "✗"
    return f"{shown} on {names[model.target]}" if names is not None else shown
