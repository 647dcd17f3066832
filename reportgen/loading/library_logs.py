"""What the libraries reportgen calls log while they read data and models: held, so stderr stays reportgen's.

datasets, transformers, huggingface_hub and torch write their own log records (and Python warnings) to
stderr. When a read fails they also raise, and reportgen's one-line error already carries the cause, so
the record said the same thing a line earlier: "Failed to read file 'rows.csv' with error <class
'pandas.errors.ParserError'>…" above "Error: cannot read rows.csv as comma-separated values: …". While
`held_library_logs` is open, those records and warnings are held instead of printed: dropped if the
block fails (its error is the one line), shown afterwards, as they would have been, if it succeeds
(transformers' report of weights a model was missing stays visible). Each library's own handlers and
settings are put back afterwards, so a Python caller's logging is left as it was.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

LIBRARIES = ("datasets", "transformers", "huggingface_hub", "torch")
"""The root loggers held: their records and those of every logger below them."""


class _Holder(logging.Handler):
    """Keeps the records a library would have printed."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _configured(name: str) -> logging.Logger:
    """A library's root logger, with the handler it installs on first use already there (transformers and
    datasets attach theirs lazily), so that restoring the handlers found on entry keeps it."""
    module = sys.modules.get(f"{name}.utils.logging")
    if module is not None and hasattr(module, "get_logger"):
        module.get_logger()
    return logging.getLogger(name)


@contextmanager
def held_library_logs() -> Iterator[None]:
    """Hold the log records and Python warnings of the libraries that read data and models (`LIBRARIES`) while the
    block runs: dropped if it raises (reportgen's one-line error says why), shown after it if it succeeds.

    Only what the libraries would print anyway is held (their verbosity and the warning filters decide);
    records reach the handlers they would have reached, warnings `warnings.showwarning`. Not thread-safe
    (Python's warning filters are process-wide), like the loading it wraps."""
    holder = _Holder()
    loggers = [_configured(name) for name in LIBRARIES]
    saved = [(logger.handlers[:], logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.handlers = [holder]
        logger.propagate = False
    succeeded = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
        succeeded = True
    finally:
        for logger, (handlers, propagate) in zip(loggers, saved):
            logger.handlers = handlers
            logger.propagate = propagate
    if succeeded:
        for record in holder.records:
            logging.getLogger(record.name).callHandlers(record)  # the path it would have taken
        for warning in caught:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno,
                                 warning.file, warning.line)
