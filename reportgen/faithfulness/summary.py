"""Faithfulness numbers over samples: does a method beat random orders, its means, the most faithful method.

Plain Python on the stored results (no torch), so `reportgen render` computes the same numbers as a
fresh run; the view model only formats them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reportgen.results import Faithfulness

MARGIN = 1e-3
"""Probability units: an AOPC closer to the random orders' than this is a tie, not a win. A model that is
saturated (p = 1.00) drops by ~1e-7 whatever is removed, and fp32 noise must not read "beats random"."""


def beats_random(f: Faithfulness) -> tuple[bool, bool]:
    """(comprehensiveness above random, sufficiency below random) by more than MARGIN, for one sample."""
    comprehensiveness, sufficiency = f.scores["comprehensiveness"], f.scores["sufficiency"]
    return (comprehensiveness.value > comprehensiveness.random + MARGIN,
            sufficiency.value < sufficiency.random - MARGIN)


@dataclass
class MeanScores:
    """A method's ERASER scores averaged over samples, beside the random orders' averages."""

    comprehensiveness: float
    random_comprehensiveness: float
    sufficiency: float
    random_sufficiency: float

    @property
    def margin(self) -> float:
        """Mean comprehensiveness − sufficiency: how much more its top tokens matter removed than kept alone."""
        return self.comprehensiveness - self.sufficiency


def mean_scores(measures: list[Faithfulness]) -> MeanScores | None:
    """The means over the samples that have faithfulness; None when none has."""
    if not measures:
        return None

    def mean(name: str, random: bool) -> float:
        return sum(f.scores[name].random if random else f.scores[name].value for f in measures) / len(measures)

    return MeanScores(mean("comprehensiveness", False), mean("comprehensiveness", True), mean("sufficiency", False),
                      mean("sufficiency", True))


def most_faithful(means: dict[str, MeanScores]) -> tuple[str, float] | None:
    """The method with the largest margin (the first one on a tie), and that margin; None without methods."""
    best, best_value = None, -math.inf
    for method, scores in means.items():
        if scores.margin > best_value:
            best, best_value = method, scores.margin
    return None if best is None else (best, best_value)
