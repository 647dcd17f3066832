"""Checks that loaded models and rows fit together, shared by every command before its work starts.

A label the models cannot predict (label 5 for 2-class models, or the wrong --label-column) would
otherwise be explained as a class that does not exist, or break a scan's accuracy; a missing text
would be explained as an empty one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportgen.errors import ReportgenError
from reportgen.loading.data import Rows
from reportgen.loading.models import LoadedModel

ROWS_AT_A_TIME = 4096
"""Rows read per slice when a whole dataset is checked: memory stays small whatever its size."""


def check_class_counts(models: Mapping[str, LoadedModel]) -> int:
    """The models' common number of classes; an error if they differ."""
    counts = {m.info.num_classes for m in models.values()}
    if len(counts) != 1:
        raise ReportgenError("the models have different numbers of classes: "
                             + ", ".join(f"{role} {m.info.num_classes}" for role, m in models.items()))
    return counts.pop()


def check_labels(indices: Sequence[int | None], labels: Sequence[int | None], num_classes: int) -> None:
    """Every known label is a class index of the models, 0 to num_classes − 1 (None: no label);
    an error naming the first row that is not."""
    for index, label in zip(indices, labels):
        if label is not None and not 0 <= label < num_classes:
            raise ReportgenError(f"row {index} has label {label}, but the models have {num_classes} classes "
                                 f"(0 to {num_classes - 1}); is --label-column the right column?")


def check_rows(rows: Rows, indices: Sequence[int], num_classes: int) -> None:
    """Every chosen row has a text (`Rows.texts` refuses a missing one, naming the row) and a label the
    models know, a slice of `ROWS_AT_A_TIME` at a time: a bad row near the end fails now, not after hours
    of work."""
    for start in range(0, len(indices), ROWS_AT_A_TIME):
        chunk = list(indices[start:start + ROWS_AT_A_TIME])
        rows.texts(chunk)
        rows.pairs(chunk)
        check_labels(chunk, rows.labels(chunk), num_classes)


def same_inputs(a: LoadedModel, b: LoadedModel) -> bool:
    """Whether two models take identical inputs, so one tokenization serves both (padded with the same token:
    a tokenizer without one pads with each model's own, `padding.with_pad_token`)."""
    return (type(a.tokenizer) is type(b.tokenizer) and a.tokenizer.name_or_path == b.tokenizer.name_or_path
            and len(a.tokenizer) == len(b.tokenizer) and a.tokenizer.pad_token_id == b.tokenizer.pad_token_id
            and a.info.pads_to_max_length == b.info.pads_to_max_length)


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
