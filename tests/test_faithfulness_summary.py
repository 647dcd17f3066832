"""Whether a method beats random orders on one sample: a tie within MARGIN is no win."""

from __future__ import annotations

from reportgen.faithfulness.summary import MARGIN, beats_random
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
