"""Checks that loaded models and rows fit together, shared by every command before its work starts."""

from __future__ import annotations

from collections.abc import Mapping

from reportgen.errors import ReportgenError
from reportgen.loading.models import LoadedModel


def check_class_counts(models: Mapping[str, LoadedModel]) -> int:
    """The models' common number of classes; an error if they differ."""
    counts = {m.info.num_classes for m in models.values()}
    if len(counts) != 1:
        raise ReportgenError("the models have different numbers of classes: "
                             + ", ".join(f"{role} {m.info.num_classes}" for role, m in models.items()))
    return counts.pop()


def check_labels(indices: list[int], labels: list[int | None], num_classes: int) -> None:
    """Every known label is a class of the models."""
    for index, label in zip(indices, labels):
        if label is not None and not 0 <= label < num_classes:
            raise ReportgenError(f"row {index} has label {label}, but the models have {num_classes} classes "
                                 f"(0 to {num_classes - 1}); is --label-column the right column?")


def same_inputs(a: LoadedModel, b: LoadedModel) -> bool:
    """Whether two models take identical inputs, so one tokenization serves both."""
    return (type(a.tokenizer) is type(b.tokenizer) and a.tokenizer.name_or_path == b.tokenizer.name_or_path
            and len(a.tokenizer) == len(b.tokenizer) and a.info.pads_to_max_length == b.info.pads_to_max_length)


def multi_label(models: Mapping[str, LoadedModel]) -> bool:
    """Whether the models are multi-label (sigmoid per label); an error if only some are."""
    kinds = {m.multi_label for m in models.values()}
    if len(kinds) != 1:
        raise ReportgenError("one model is multi-label (problem_type multi_label_classification) and the other "
                             "single-label: "
                             + ", ".join(f"{role} {'multi' if m.multi_label else 'single'}-label"
                                         for role, m in models.items()) + "; compare models of the same kind")
    return kinds.pop()


def check_single_label(models: Mapping[str, LoadedModel], command: str) -> None:
    """`scan` and `corpus` count one predicted class per row: refuse multi-label models before any work."""
    if multi_label(models):
        raise ReportgenError(f"`reportgen {command}` supports single-label classifiers only; these models are "
                             "multi-label (problem_type multi_label_classification): use `reportgen report`, "
                             "which explains each predicted label")
