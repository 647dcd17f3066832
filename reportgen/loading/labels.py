"""The rows' labels against the models' classes, checked the same way by every command before any work.

A label the models cannot predict (label 5 for 2-class models, or the wrong --label-column) would
otherwise be explained as a class that does not exist, or break a scan's accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportgen.errors import ReportgenError
from reportgen.loading.data import Rows

ROWS_AT_A_TIME = 4096
"""Rows read per slice when a whole dataset is checked: memory stays small whatever its size."""


def check_labels(indices: Sequence[int | None], labels: Sequence[int | None], num_classes: int) -> None:
    """Every known label is a class index of the models, 0 to num_classes − 1 (None: no label)."""
    for index, label in zip(indices, labels):
        if label is not None and not 0 <= label < num_classes:
            raise ReportgenError(f"row {index} has label {label}, but the models have {num_classes} classes "
                                 f"(0 to {num_classes - 1}); is --label-column the right column?")


def check_rows(rows: Rows, indices: Sequence[int], num_classes: int) -> None:
    """Every chosen row has a text (`Rows.texts` refuses a missing one) and a label the models know,
    a slice at a time: a bad row near the end fails now, not after hours of work."""
    for start in range(0, len(indices), ROWS_AT_A_TIME):
        chunk = list(indices[start:start + ROWS_AT_A_TIME])
        rows.texts(chunk)
        check_labels(chunk, rows.labels(chunk), num_classes)
