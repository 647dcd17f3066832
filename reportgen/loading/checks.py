"""Checks that loaded models and rows fit together, shared by every command before its work starts.

A label the models cannot predict (label 5 for 2-class models, or the wrong --label-column) would
otherwise be explained as a class that does not exist, or break a scan's accuracy; a missing text
would be explained as an empty one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportgen.choices import role_word
from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.data import Rows
from reportgen.loading.labels import GIVEN, check_label_names
from reportgen.loading.models import LoadedModel

NAMES_ADVICE = "say which names the models' outputs have with {label_names}, in index order"
"""Advice that names `label_names=`/--label-names: raised as an `OptionError` of \"label_names\"."""
"""What to do when the class names the models, or the models and the dataset, give disagree."""

ROWS_AT_A_TIME = 4096
"""Rows read per slice when a whole dataset is checked: memory stays small whatever its size."""


def check_class_counts(models: Mapping[str, LoadedModel]) -> int:
    """The models' common number of classes; an error if they differ."""
    counts = {m.info.num_classes for m in models.values()}
    if len(counts) != 1:
        raise ReportgenError("the models have different numbers of classes: "
                             + ", ".join(f"{role_word(role)} {m.info.num_classes}" for role, m in models.items()))
    return counts.pop()


def check_labels(indices: Sequence[int | None], labels: Sequence[int | list[int] | None], num_classes: int,
                 multi_label: bool = False) -> None:
    """Every known label is a class index of the models, 0 to num_classes − 1 (None: no label), and a list of
    labels (a multi-label data set's true labels) goes only with multi-label models; an error naming the
    first row that is not."""
    for index, label in zip(indices, labels):
        if isinstance(label, list) and not multi_label:
            raise OptionError(f"row {index} has a list of labels ({label}), which only multi-label models (config "
                              "problem_type multi_label_classification) read; these models are single-label: "
                              "name a column of one class per row with {label_column}", "label_column")
        for one in label if isinstance(label, list) else [label]:
            if one is not None and not 0 <= one < num_classes:
                raise OptionError(f"row {index} has label {one}, but the models have {num_classes} classes "
                                  f"(0 to {num_classes - 1}); is {{label_column}} the right column?", "label_column")


def _same(a: Sequence[str], b: Sequence[str]) -> bool:
    return [name.casefold() for name in a] == [name.casefold() for name in b]


def models_label_names(models: Mapping[str, LoadedModel]) -> list[str] | None:
    """The classes' names the models' heads carry (`LoadedModel.label_names`), the first model's spelling;
    None when neither has any. Two models naming their classes differently (case aside), or a model's
    empty or repeated name, is a one-line error asking for --label-names."""
    named = {role: check_label_names(names, f"the {role_word(role)} model's id2label", NAMES_ADVICE)
             for role, model in models.items() if (names := model.label_names) is not None}
    if not named:
        return None
    (first, names), *others = named.items()
    for role, other in others:
        if not _same(names, other):
            raise OptionError(f"the {role_word(first)} model names its classes {', '.join(names)} and the "
                              f"{role_word(role)} model {', '.join(other)}; {NAMES_ADVICE}", "label_names")
    return names


def resolve_class_names(models: Mapping[str, LoadedModel], names: Sequence[str] | None,
                        source: str | None = GIVEN) -> list[str]:
    """The class names a report, scan or corpus uses, one per class of the models, in index order:

    1. names given (`source` `labels.GIVEN`: --label-names, `label_names=`), whatever the models call them;
    2. else the dataset's class names (`labels.DATASET`), which must agree with the models' own where
       they have some (case aside: "negative" matches "NEGATIVE"), since a disagreement means the dataset's
       label indices and the models' classes may not line up;
    3. else the models' own (`models_label_names`: config id2label, not transformers' LABEL_0, LABEL_1, …);
    4. else "class 0", "class 1", ….

    A count that differs from the models', and any disagreement, is a one-line ReportgenError."""
    count = check_class_counts(models)
    if names is not None and source == GIVEN:
        names = check_label_names(names, GIVEN)
        if len(names) != count:
            raise OptionError(f"{len(names)} class names ({', '.join(names)}) for models with {count} classes; "
                              "fix {label_names}", "label_names")
        return names
    own = models_label_names(models)
    if names is not None:
        names = check_label_names(names, f"{source}'s class names", NAMES_ADVICE)
        if len(names) != count:
            raise OptionError(f"{source} names {len(names)} classes ({', '.join(names)}), but the models have "
                              f"{count}; {NAMES_ADVICE}", "label_names")
        if own is not None and not _same(names, own):
            raise OptionError(f"{source} names its classes {', '.join(names)} but the models {', '.join(own)}; "
                              f"{NAMES_ADVICE}", "label_names")
        return names
    return own if own is not None else [f"class {i}" for i in range(count)]


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
                             + ", ".join(f"{role_word(role)} {'multi' if m.multi_label else 'single'}-label"
                                         for role, m in models.items()) + "; compare models of the same kind")
    return kinds.pop()


def check_single_label(models: Mapping[str, LoadedModel], command: str) -> None:
    """`scan` and `corpus` count one predicted class per row: refuse multi-label models before any work."""
    if multi_label(models):
        raise ReportgenError(f"`reportgen {command}` supports single-label classifiers only; these models are "
                             "multi-label (problem_type multi_label_classification): use `reportgen report`, "
                             "which explains each predicted label")
