"""A progress bar that never goes back: one bar per stage, each with its total fixed when the stage starts.

A person reads a bar's percentage as the share of the time gone. A total that grows while the bar runs
(integrated gradients' auto steps, the flip test, the NAOPC beam learn their work as they go) makes the
percentage drop and the time estimate jump. So every stage (one method's attributions for one model, the
flip test, the AOPC bounds, …) starts with an *upper bound* on its forward or backward rows, known before its
first pass; work a stage finds it does not need (a text whose integrated gradients settled before
`--max-steps`, a flip found before the cap) is counted as done when it is dropped (`skip`), and whatever is
left when the stage ends is completed then, and shown: every stage's bar closes full (tqdm draws an update only
every so often, so the last one drawn may be well short of the total). Within a stage the count only rises
and never passes the total; tqdm's rate and time estimate are those of the stage's bar, so they speak of the
work still possible.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm


class Progress:
    """Stages run one after another, each with its own bar (`stage`); `update` and `skip` count rows of the
    stage that runs (outside any stage they are ignored)."""

    def __init__(self, enabled: bool = True, unit: str = "row") -> None:  # what update counts: forward or backward rows
        self.enabled, self.unit = enabled, unit
        self._bar: tqdm | None = None
        self._stages = 0

    @contextmanager
    def stage(self, label: str, total: int) -> Iterator[None]:
        """A bar for `label` with `total` rows at most (≥ 0), completed and drawn full when the block ends."""
        self._stages += 1
        bar = tqdm(total=max(int(total), 0), desc=label, unit=self.unit, disable=not self.enabled, leave=False)
        outer, self._bar = self._bar, bar
        try:
            yield
            self._advance(bar.total - bar.n)
            bar.refresh()  # drawn at 100 % before it closes, whenever tqdm last drew it
        finally:
            self._bar = outer
            bar.close()

    def update(self, rows: int) -> None:
        """`rows` rows of the running stage have run."""
        self._advance(rows)

    def skip(self, rows: int) -> None:
        """`rows` rows of the running stage's bound will not run (the work settled early): counted as done."""
        self._advance(rows)

    def _advance(self, rows: int) -> None:
        bar = self._bar
        if bar is None or rows <= 0:
            return
        bar.update(min(rows, bar.total - bar.n))  # a bound is never passed, so the percentage stays ≤ 100
