"""Normalised AOPC: the formula by hand, the exact bounds against brute force over every ordering of
a tiny text, and the beam's bounds inside the exact ones and outside every method's AOPC."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest
import torch

from reportgen.faithfulness import FaithfulnessSettings, measure_faithfulness
from reportgen.faithfulness.eraser import token_counts
from reportgen.faithfulness.naopc import (
    BoundSettings,
    aopc_bounds,
    bound_rows,
    coincide,
    naopc,
    normalise_scores,
    single_ordering,
    sizes,
    widen,
)
from reportgen.loading.inputs import EncodedTexts
from reportgen.results import AopcBounds
from tests.test_faithfulness import sigmoid
from tests.test_flip import CLS, PAD, SEP, VALUES, stub  # noqa: F401  (stub is a fixture)
from tests.tolerances import EPS32

ROW = [CLS, 3, 4, 5, 6, 8, 7, SEP, PAD]  # n = 6 candidates, values 1, −1, 1.5, .3, −.2, .5
INPUTS = EncodedTexts(torch.tensor([ROW]), torch.tensor([[1] * 8 + [0]]),
                      torch.tensor([[int(i in (CLS, SEP, PAD)) for i in ROW]]), [False])
KS = (0.2, 0.4, 0.6, 1.0)  # sizes 2, 3, 4, 6 of n = 6: four levels
TOLERANCE = 1e-6  # fp32 probabilities of order 1


def test_naopc_from_given_bounds_by_hand():
    assert naopc(0.3, 0.1, 0.5) == pytest.approx(0.5)
    assert naopc(0.1, 0.1, 0.5) == 0.0 and naopc(0.5, 0.1, 0.5) == pytest.approx(1.0)
    assert naopc(-0.05, -0.25, 0.15) == pytest.approx(0.5)
    assert naopc(0.2, 0.2, 0.2) is None  # every ordering scores alike
    wide = widen(AopcBounds(0.1, 0.4, False, 10), [0.45, 0.05, 0.2])
    assert (wide.lower, wide.upper, wide.exact, wide.rows) == (0.05, 0.45, False, 10)


def test_sizes_weigh_coinciding_fractions():
    assert sizes(8, (0.01, 0.05, 0.10, 0.20, 0.50)) == [(1, 0.6), (2, 0.2), (4, 0.2)]


def brute_force(target: int, ks: tuple[float, ...]) -> dict[str, tuple[float, float]]:
    """Every ordering of the six candidates, p computed from the values by hand."""
    candidates = list(range(1, 7))
    value = {position: VALUES[ROW[position]] for position in range(8)}
    specials = value[0] + value[7]

    def p(total: float) -> float:
        p1 = sigmoid(total)
        return p1 if target == 1 else 1 - p1

    original = p(sum(value.values()))
    counts = token_counts(list(ks), torch.tensor([6]))[0].tolist()
    found: dict[str, list[float]] = {"comprehensiveness": [], "sufficiency": []}
    for order in itertools.permutations(candidates):
        tops = [order[:m] for m in counts]
        found["comprehensiveness"].append(math.fsum(original - p(sum(value.values()) - sum(value[t] for t in top))
                                                    for top in tops) / len(ks))
        found["sufficiency"].append(math.fsum(original - p(specials + sum(value[t] for t in top))
                                              for top in tops) / len(ks))
    return {name: (min(v), max(v)) for name, v in found.items()}


@pytest.mark.parametrize("target", [0, 1])
@pytest.mark.parametrize("ks", [KS, (0.01, 0.05, 0.10, 0.20, 0.50)])
def test_exact_bounds_equal_brute_force_over_all_orderings(stub, target, ks):  # noqa: F811
    bounds = aopc_bounds(stub, INPUTS, torch.tensor([target]), BoundSettings(ks=ks), method="exact")[0]
    for name, (lower, upper) in brute_force(target, ks).items():
        assert bounds[name].exact
        assert bounds[name].lower == pytest.approx(lower, abs=TOLERANCE)
        assert bounds[name].upper == pytest.approx(upper, abs=TOLERANCE)


def test_auto_is_exact_only_for_short_texts(stub):  # noqa: F811
    targets = torch.tensor([1])
    assert aopc_bounds(stub, INPUTS, targets, BoundSettings(ks=KS))[0]["sufficiency"].exact
    assert not aopc_bounds(stub, INPUTS, targets, BoundSettings(ks=KS, exact_tokens=5))[0]["sufficiency"].exact


@pytest.mark.parametrize("width,branches", [(1, 1), (2, 2), (3, 4)])
def test_beam_bounds_lie_inside_the_exact_ones_and_outside_every_method(stub, width, branches):  # noqa: F811
    targets = torch.tensor([1])
    settings = BoundSettings(ks=KS, beam_width=width, branches=branches)
    exact = aopc_bounds(stub, INPUTS, targets, settings, method="exact")[0]
    beam = aopc_bounds(stub, INPUTS, targets, settings, method="beam")[0]
    generator = torch.Generator().manual_seed(0)
    methods = [measure_faithfulness(stub, INPUTS, torch.randn(1, 9, generator=generator), targets, signed,
                                    FaithfulnessSettings(ks=KS))[0] for signed in (True, False, True, True)]
    for name in ("comprehensiveness", "sufficiency"):
        assert exact[name].lower - TOLERANCE <= beam[name].lower <= beam[name].upper <= exact[name].upper + TOLERANCE
        values = [f.scores[name].value for f in methods] + [f.scores[name].random for f in methods]
        wide = widen(beam[name], values)
        assert all(wide.lower <= v <= wide.upper for v in values)
        assert exact[name].lower - TOLERANCE <= wide.lower and wide.upper <= exact[name].upper + TOLERANCE
        assert all(0.0 <= naopc(v, wide.lower, wide.upper) <= 1.0 for v in values)
    assert beam["comprehensiveness"].rows <= 1 + 2 * 6 + 4 * branches * (1 + width * 3)


def test_the_greedy_beam_finds_the_best_chain_on_an_additive_model(stub):  # noqa: F811
    """With p monotone in the sum, deleting the largest values first is optimal: width 1 is exact here."""
    targets = torch.tensor([1])
    settings = BoundSettings(ks=KS, beam_width=1, branches=1)
    exact = aopc_bounds(stub, INPUTS, targets, settings, method="exact")[0]
    beam = aopc_bounds(stub, INPUTS, targets, settings, method="beam")[0]
    assert beam["comprehensiveness"].upper == pytest.approx(exact["comprehensiveness"].upper, abs=TOLERANCE)


ONE_WORD = EncodedTexts(torch.tensor([[CLS, 5, SEP, PAD]]), torch.tensor([[1, 1, 1, 0]]),
                        torch.tensor([[1, 0, 1, 1]]), [False])
NOISE = 0.0019266605 - 0.0019266009  # one deletion of a one-word text, computed in two batches (a real report)


def test_bounds_apart_by_fp32_rounding_coincide_and_a_real_range_does_not():
    """Bounds 6e-8 apart are one value up to fp32 rounding of probabilities near 1: no NAOPC, not 0 or 1."""
    assert naopc(0.0019266605, 0.0019266009, 0.0019266605) is None
    assert naopc(0.0019266009, 0.0019266009, 0.0019266605) is None
    assert coincide(0.5, 0.5 + 16 * EPS32) and not coincide(0.5, 0.5 + 1e-3)
    assert naopc(0.5005, 0.5, 0.501) == pytest.approx(0.5)  # a thousandth of a probability is a real range


@pytest.mark.parametrize("method", ["auto", "exact", "beam"])
def test_a_one_word_text_has_no_normalised_value_whatever_the_noise(stub, method):  # noqa: F811
    """One word: one ordering. Its bounds are exact and equal by construction, and the methods' AOPC,
    measured in other batches a rounding away from them, get no normalised value either."""
    targets = torch.tensor([1])
    assert single_ordering(1, KS) and single_ordering(3, (1.0,)) and not single_ordering(6, KS)
    bounds = aopc_bounds(stub, ONE_WORD, targets, BoundSettings(ks=KS), method=method)[0]
    for name, found in bounds.items():
        assert found.exact and found.lower == found.upper, name
    measured = measure_faithfulness(stub, ONE_WORD, torch.tensor([[0.0, 1.0, 0.0, 0.0]]), targets, True,
                                    FaithfulnessSettings(ks=KS))[0]
    for name, score in measured.scores.items():  # as in the report: a rounding above and below the bounds
        score.value, score.random = bounds[name].upper + NOISE, bounds[name].lower - NOISE
    normalise_scores(bounds, [measured])
    assert all(s.normalised is None and s.random_normalised is None for s in measured.scores.values())


@pytest.mark.parametrize("method", ["exact", "beam", "auto"])
@pytest.mark.parametrize("settings", [BoundSettings(ks=KS), BoundSettings(ks=KS, beam_width=2, branches=3),
                                      BoundSettings(ks=(0.1, 0.5), exact_tokens=3)])
def test_the_row_bound_known_before_the_search_is_never_passed(stub, method, settings):  # noqa: F811
    """The progress bar's total for the bounds (`bound_rows`) holds every row the search runs, on every text."""
    for inputs in (INPUTS, ONE_WORD):
        progress: list[int] = []
        counted = replace(settings, on_progress=progress.append)
        found = aopc_bounds(stub, inputs, torch.zeros(len(inputs), dtype=torch.long), counted, method=method)
        assert 0 < sum(progress) == sum(next(iter(b.values())).rows for b in found) <= bound_rows(inputs, settings,
                                                                                                   method)
