"""The progress bars the libraries reportgen calls draw themselves, shown only when reportgen shows its own.

`-q` promises no progress bars; the datasets library ("Generating train split") and transformers
("Loading weights") draw theirs unless told not to. Each switch is turned back on afterwards, so a
Python caller's own setting is left as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def _switched_off(enabled: bool, already_off: Callable[[], bool], off: Callable[[], None],
                  on: Callable[[], None]) -> Iterator[None]:
    if enabled or already_off():
        yield
        return
    off()
    try:
        yield
    finally:
        on()


def datasets_bars(enabled: bool):
    """The datasets library's bars while it converts or loads a data set, only when `enabled`."""
    import datasets

    return _switched_off(enabled, datasets.are_progress_bars_disabled, datasets.disable_progress_bars,
                         datasets.enable_progress_bars)


def transformers_bars(enabled: bool):
    """transformers' bars ("Loading weights") while a model loads, only when `enabled`."""
    from transformers.utils import logging

    return _switched_off(enabled, lambda: not logging.is_progress_bar_enabled(), logging.disable_progress_bar,
                         logging.enable_progress_bar)
