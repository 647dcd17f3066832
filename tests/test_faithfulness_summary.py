"""Whether a method beats random orders on one sample, and which method is the most faithful over
samples: a tie within MARGIN (or the page's resolution) is no win."""

from __future__ import annotations

import pytest

from reportgen.faithfulness.summary import MARGIN, RESOLUTION, MeanScores, beats_random, most_faithful
from reportgen.results import Curve, Faithfulness, Score


def faithfulness(comprehensiveness: tuple[float, float], sufficiency: tuple[float, float]) -> Faithfulness:
    (c, c_random), (s, s_random) = comprehensiveness, sufficiency
    return Faithfulness(scores={"comprehensiveness": Score(c, c_random, [c], [c_random]),
                               "sufficiency": Score(s, s_random, [s], [s_random])},
                        curves={"deletion": Curve([1.0, 1.0], [1.0, 1.0])}, probability=1.0)


def test_a_saturated_model_does_not_beat_random_by_fp32_noise():
    """p = 1.00: comprehensiveness 8.1e-7 against 0.0, sufficiency 0.0 against 2e-4 (seen on a real report)."""
    assert beats_random(faithfulness((8.1e-7, 0.0), (0.0, 2e-4))) == (False, False)


def test_a_clear_margin_beats_random_and_the_wrong_side_does_not():
    assert beats_random(faithfulness((0.25, 0.01), (0.05, 0.70))) == (True, True)
    assert beats_random(faithfulness((0.01, 0.25), (0.70, 0.05))) == (False, False)
    assert beats_random(faithfulness((0.01 + 2 * MARGIN, 0.01), (0.3, 0.3 + 2 * MARGIN))) == (True, True)


def normalised(raw: tuple[float, float, float, float], shown: tuple[float | None, ...]) -> Faithfulness:
    """Raw (comprehensiveness, random, sufficiency, random) with their normalised values (None: undefined)."""
    f = faithfulness(raw[:2], raw[2:])
    comprehensiveness, sufficiency = f.scores["comprehensiveness"], f.scores["sufficiency"]
    (comprehensiveness.normalised, comprehensiveness.random_normalised, sufficiency.normalised,
     sufficiency.random_normalised) = shown
    return f


def test_a_normalised_page_is_judged_on_its_normalised_numbers():
    """A model near p = 0.5 (seen on a tiny model): raw AOPC within MARGIN of random, so raw says nothing,
    while the normalised values that the page shows are far apart: 0.83 against 0.49, 0.08 against 0.58."""
    f = normalised((0.0104, 0.0098, 0.0011, 0.0016), (0.83, 0.49, 0.08, 0.58))
    assert beats_random(f) == (False, False)  # raw, as a page without normalised values judges it
    assert beats_random(f, normalised=True) == (True, True)
    reversed_ = normalised((0.30, 0.01, 0.01, 0.30), (0.40, 0.45, 0.60, 0.20))  # raw wins, normalised loses
    assert beats_random(reversed_, normalised=True) == (False, False)


@pytest.mark.parametrize("normalised_page", [True, False])
def test_a_difference_within_the_resolution_shown_is_no_win(normalised_page):
    step = RESOLUTION[normalised_page]
    for gap, beats in ((step / 2, False), (3 * step, True)):
        values = (0.40 + gap, 0.40, 0.30 - gap, 0.30)
        assert beats_random(normalised(values, values), normalised_page) == (beats, beats)


def test_an_undefined_normalised_value_is_undefined_not_a_loss():
    """Every ordering of the text scores alike (a one-word text): no normalised value, nothing to judge."""
    alike = normalised((1.8e-5, 1.8e-5, 0.0, 0.0), (None, None, None, None))
    assert beats_random(alike, normalised=True) == (None, None)
    half = normalised((0.3, 0.1, 0.0, 0.0), (0.7, 0.2, None, None))
    assert beats_random(half, normalised=True) == (True, None)


def mean(comprehensiveness: float, sufficiency: float, random: tuple[float, float] = (0.2, 0.5)) -> MeanScores:
    return MeanScores(comprehensiveness, random[0], sufficiency, random[1])


@pytest.mark.parametrize("normalised", [True, False])
def test_a_tie_has_no_winner(normalised):
    """A saturated softmax: every mean and every random mean 0.000. Nothing beats random, nothing beats
    anything: no method is the most faithful, whichever comes first."""
    zero = MeanScores(0.0, 0.0, 0.0, 0.0)
    ranking = most_faithful({"integrated-gradients": zero, "gradient-x-input": zero}, normalised)
    assert ranking.winner is None and not ranking.beats_random
    assert ranking.tied == ["integrated-gradients", "gradient-x-input"]


@pytest.mark.parametrize("normalised", [True, False])
def test_the_winner_must_lead_by_more_than_the_page_shows(normalised):
    step = RESOLUTION[normalised]
    close = most_faithful({"a": mean(0.6, 0.1), "b": mean(0.6 + step / 2, 0.1)}, normalised)
    assert close.winner is None and close.beats_random and close.tied == ["b", "a"]
    clear = most_faithful({"a": mean(0.6, 0.1), "b": mean(0.6 + 3 * step, 0.1)}, normalised)
    assert clear.winner == "b" and clear.tied == ["b"]


def test_a_method_no_better_than_random_is_never_the_most_faithful():
    """Ahead of the other method by far, but its margin −0.3 is the random orders' (0.2 − 0.5)."""
    ranking = most_faithful({"a": mean(0.2, 0.5), "b": mean(0.0, 0.9)}, normalised=True)
    assert ranking.leader == "a" and ranking.tied == ["a"] and ranking.winner is None
    assert most_faithful({}, normalised=True) is None
