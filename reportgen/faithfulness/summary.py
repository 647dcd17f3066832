"""Faithfulness numbers over samples: does a method beat random orders, its means, the most faithful method.

Plain Python on the stored results (no torch), so `reportgen render` computes the same numbers as a
fresh run; the view model only formats them. Means that compare models use the normalised AOPC
(`Score.normalised`, NAOPC, `reportgen.faithfulness.naopc`) wherever a report has it: raw AOPC
does not compare across models (Edin et al. 2024). Files without it (schema ≤ 3, `--no-naopc`)
fall back to the raw values, and the report says so.
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


def has_normalised(measures: list[Faithfulness]) -> bool:
    """Whether these measures carry NAOPC values (a report computed with the bounds)."""
    return any(score.normalised is not None for f in measures for score in f.scores.values())


def mean_scores(measures: list[Faithfulness], normalised: bool = False) -> MeanScores | None:
    """The means over the samples that have faithfulness (with `normalised`, the NAOPC values over
    the samples where they are defined); None when none has."""
    if normalised:
        measures = [f for f in measures if all(s.normalised is not None and s.random_normalised is not None
                                               for s in f.scores.values())]
    if not measures:
        return None

    def value(f: Faithfulness, name: str, random: bool) -> float:
        score = f.scores[name]
        if normalised:
            return score.random_normalised if random else score.normalised  # type: ignore[return-value]
        return score.random if random else score.value

    def mean(name: str, random: bool) -> float:
        return sum(value(f, name, random) for f in measures) / len(measures)

    return MeanScores(mean("comprehensiveness", False), mean("comprehensiveness", True), mean("sufficiency", False),
                      mean("sufficiency", True))


def most_faithful(means: dict[str, MeanScores]) -> tuple[str, float] | None:
    """The method with the largest margin (the first one on a tie), and that margin; None without methods."""
    best, best_value = None, -math.inf
    for method, scores in means.items():
        if scores.margin > best_value:
            best, best_value = method, scores.margin
    return None if best is None else (best, best_value)
