"""Faithfulness numbers over samples: does a method beat random orders, its means, the most faithful method
(only where one is ahead of random orders and of every other method by more than the page can show).

Plain Python on the stored results (no torch), so `reportgen render` computes the same numbers as a
fresh run; the view model only formats them. Means that compare models use the normalised AOPC
(`Score.normalised`, NAOPC, `reportgen.faithfulness.naopc`) wherever a report has it: raw AOPC
does not compare across models (Edin et al. 2024). Files without it (schema ≤ 3, `--no-naopc`)
fall back to the raw values, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.results import Faithfulness

MARGIN = 1e-3
"""Probability units: an AOPC closer to the random orders' than this is a tie, not a win. A model that is
saturated (p = 1.00) drops by ~1e-7 whatever is removed, and fp32 noise must not read "beats random"."""

RESOLUTION = {True: 0.01, False: MARGIN}
"""Normalised (True, NAOPC units) or raw (False, probability units): the smallest difference that counts,
between a method's value and the random orders' or between two mean margins. Closer is a tie: the page
prints normalised values to 0.01 and raw ones to 0.001 (MARGIN), so a difference below that is rounding
the reader cannot see, or fp32 noise."""


def beats_random(f: Faithfulness, normalised: bool = False) -> tuple[bool | None, bool | None]:
    """(comprehensiveness above random, sufficiency below random) by more than `RESOLUTION`, for one sample.

    Judged on the numbers the page shows: with `normalised` (the report has NAOPC) the normalised values,
    where a score without them (every ordering of the text scores alike) is None, undefined rather than
    no better than random; else the raw AOPC."""
    def judged(name: str, higher: bool) -> bool | None:  # higher: a faithful ranking scores above random
        score = f.scores[name]
        value, random = (score.normalised, score.random_normalised) if normalised else (score.value, score.random)
        if value is None or random is None:
            return None
        step = RESOLUTION[normalised]
        return value > random + step if higher else value < random - step

    return judged("comprehensiveness", True), judged("sufficiency", False)


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


def is_normalised(f: Faithfulness) -> bool:
    """Whether every score of one sample's measures has its NAOPC and the random orders' (not where
    every ordering of the text scores alike, nor in files without the bounds)."""
    return all(s.normalised is not None and s.random_normalised is not None for s in f.scores.values())


def mean_scores(measures: list[Faithfulness], normalised: bool = False) -> MeanScores | None:
    """The means over the samples that have faithfulness (with `normalised`, the NAOPC values over
    the samples where they are defined, `is_normalised`); None when none has."""
    if normalised:
        measures = [f for f in measures if is_normalised(f)]
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


@dataclass
class Ranking:
    """The methods of one model by mean margin (comprehensiveness − sufficiency), and whether one leads."""

    leader: str  # the largest margin (the first given on an exact tie)
    margin: float
    random_margin: float  # the random orders' mean margin beside the leader's
    tied: list[str]  # every method within the resolution of the leader's margin, the leader first
    resolution: float

    @property
    def beats_random(self) -> bool:
        """Whether the leader's margin exceeds the random orders' by more than the resolution."""
        return self.margin > self.random_margin + self.resolution

    @property
    def winner(self) -> str | None:
        """The most faithful method: the leader, when it beats random and no other method comes within the
        resolution of it; None on a tie or when no method is better than random orders."""
        return self.leader if self.beats_random and len(self.tied) == 1 else None


def most_faithful(means: dict[str, MeanScores], normalised: bool = False) -> Ranking | None:
    """The methods ranked by mean margin (`normalised`: the means are NAOPC, else raw AOPC); None without methods.

    A method is named most faithful (`Ranking.winner`) only with a difference: its margin beats the
    random orders' and every other method's by more than `RESOLUTION`."""
    if not means:
        return None
    resolution = RESOLUTION[normalised]
    leader = max(means, key=lambda method: means[method].margin)  # max keeps the first of equal margins
    best = means[leader]
    tied = [leader] + [m for m, s in means.items() if m != leader and best.margin - s.margin <= resolution]
    return Ranking(leader, best.margin, best.random_comprehensiveness - best.random_sufficiency, tied, resolution)
