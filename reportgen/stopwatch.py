"""Where a report's time went: wall seconds per stage, so every report states its own cost.

Stages nest (the flip test may need one more attribution of a text, which counts for its method),
and each second is counted once, for the innermost stage running: the stages add up to the whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Stopwatch:
    """Exclusive wall seconds per named stage (`seconds`, in the order the stages first ran).

    On a GPU, kernels run asynchronously: a stage's time includes the kernels it waits for when it
    reads results back, which every stage here does before it ends.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.seconds: dict[str, float] = {}
        self._clock = clock
        self._running: list[str] = []
        self._since = 0.0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._charge()  # to the stage this one interrupts
        self._running.append(name)
        try:
            yield
        finally:
            self._charge()
            self._running.pop()

    def _charge(self) -> None:
        """Charge the time since the last switch to the stage that was running, and restart the clock."""
        now = self._clock()
        if self._running:
            name = self._running[-1]
            self.seconds[name] = self.seconds.get(name, 0.0) + now - self._since
        self._since = now
