"""A row's true label: as the data writes it, then as class indices once the class names are known.

A label may be a class index (`1`, `1.0`, `"1"`), a class name (`"insult"`), or for a multi-label data set a
list of them (`[0, 3]`, `["insult", "toxic"]`, a CSV cell `"['insult', 'toxic']"`). Rows are read before
the models load, but a name can only be read once the class names are decided (`checks.resolve_class_names`:
--label-names, else the dataset's, else the models' own), so reading is two steps: `written_label` checks
the cell's shape when the rows are read, and `class_label` turns names into indices with the resolved names.
Every command and the API read labels through `class_label` (`data.Rows.labels`, `pipeline.Texts.named`).
"""

from __future__ import annotations

import ast
import numbers
from collections.abc import Sequence

from reportgen.choices import class_position
from reportgen.errors import OptionError, ReportgenError

Label = int | list[int] | None
"""A true label as a class index, a multi-label row's sorted list of them, or None where unknown."""
Written = int | str | list[int | str] | None
"""A true label as the data writes it: a class index, a class name (or an index in text), or a list of them."""

LIST_EXAMPLE = "write it as [0, 3] or ['toxic', 'insult']"


def written_label(value: object, row: int | None, column: str | None) -> Written:
    """A cell of the label column in its written shape: None for a missing label (null, -1), an index, a name,
    or a list of them (a list written into a text cell, "[0, 3]", read as one). Anything else (1.5, a nested
    list, a list holding a missing label) is a one-line ReportgenError naming the row."""
    if isinstance(value, str) and value.strip().startswith("[") and value.strip().endswith("]"):
        value = _listed(value, row, column)
    if isinstance(value, (list, tuple)):
        items = [_written_item(item, row, column, listed=True) for item in value]
        if any(item is None for item in items):
            raise ReportgenError(f"{_where(row)}the label list {list(value)} in column '{column}' holds a missing "
                                 "label (null or -1); list only the labels that apply")
        return items
    return _written_item(value, row, column)


def class_label(written: Written, class_names: Sequence[str] | None, row: int | None,
                column: str | None) -> Label:
    """`written` (from `written_label`) as class indices: a name through `class_names` (exactly, else case aside,
    `choices.class_position`), an index in text as that index; a list sorted, each label once.

    A name that names no class is a one-line ReportgenError naming the row and listing the class names
    (asking for --label-names where there are none yet)."""
    if isinstance(written, list):
        return sorted({_index(item, class_names, row, column) for item in written})
    return None if written is None else _index(written, class_names, row, column)


def class_labels(written: Sequence[Written], class_names: Sequence[str] | None, rows: Sequence[int | None],
                 column: str | None) -> list[Label]:
    """`class_label` of each row's written label."""
    return [class_label(label, class_names, row, column) for label, row in zip(written, rows)]


def _where(row: int | None) -> str:
    return "" if row is None else f"row {row}: "


def _listed(value: str, row: int | None, column: str | None) -> object:
    """A list written into a text cell (a CSV's "[0, 3]" or "['toxic', 'insult']"), as a list."""
    try:
        listed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        listed = None
    if not isinstance(listed, (list, tuple)):
        raise ReportgenError(f"{_where(row)}label {value[:40]!r} in column '{column}' is not a list of labels; "
                             f"{LIST_EXAMPLE}")
    return listed


def _written_item(value: object, row: int | None, column: str | None, listed: bool = False) -> int | str | None:
    if isinstance(value, str):
        value = value.strip()
        return None if value == "-1" else value
    if value is None or value == -1:  # -1: "no label" in hub test splits
        return None
    if isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer()):
        return int(value)  # true/false count as 1/0; 1.0 is how a CSV column with an empty cell holds 1
    more = " (or, for multi-label data, a list of them)" if not listed else ""
    raise ReportgenError(f"{_where(row)}label {str(value)[:40]!r} in column '{column}' is not a class index or "
                         f"name; give each row a class index or name{more}")


def _index(written: int | str, class_names: Sequence[str] | None, row: int | None, column: str | None) -> int | None:
    if isinstance(written, int):
        return written
    if class_names and (position := class_position(written, class_names)) is not None:
        return position
    if written.lstrip("-").isdigit():
        return int(written)  # out of range: `checks.check_labels` says how many classes there are
    if not class_names:
        raise OptionError(f"{_where(row)}label '{written}' in column '{column}' is not a class index; name the "
                          "classes in index order with {label_names}, e.g. {label_names} negative,positive",
                          "label_names")
    raise OptionError(f"{_where(row)}label '{written}' in column '{column}' names no class; the classes are "
                      f"{', '.join(class_names)} (or their indices 0 to {len(class_names) - 1}): correct the "
                      "label, or name the classes in index order with {label_names}", "label_names")
