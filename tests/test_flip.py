"""The flip test on a model whose probability is a known function of the ids: flip counts worked out
by hand, "does not flip", a chunk boundary, and a non-monotone case where a bisection would be wrong."""

from __future__ import annotations

import pytest
import torch

from reportgen.faithfulness.flip import (
    ANY_OTHER,
    FlipSettings,
    flip_counts,
    random_word_ranking,
    removable_words,
    word_ranking,
)
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.results import RandomFlips, Word
from tests.test_faithfulness import additive_model, sigmoid

PAD, CLS, SEP = 0, 1, 2
VALUES = [0.0, 0.05, 0.0, 1.0, -1.0, 1.5, 0.3, 0.5, -0.2]  # per id: p_1 = sigmoid(Σ over attended positions)


@pytest.fixture()
def stub() -> LoadedModel:
    return additive_model(VALUES, PAD)


ROWS = [[CLS, 3, 4, 4, 5, 6, SEP],  # w1 +1, w2 = two pieces −1 −1, w3 +1.5, w4 +.3: Σ .85 → class 1
        [CLS, 7, 7, 7, SEP, PAD, PAD],  # three words +.5: Σ 1.55, and [CLS] [SEP] alone is still class 1
        [CLS, 6, 6, 6, 8, SEP, PAD]]  # three words +.3 and one −.2: Σ .75
LENGTHS = [7, 5, 6]
INPUTS = EncodedTexts(
    input_ids=torch.tensor(ROWS),
    attention_mask=torch.tensor([[1] * n + [0] * (7 - n) for n in LENGTHS]),
    special_tokens_mask=torch.tensor([[int(i in (CLS, SEP, PAD)) for i in row] for row in ROWS]),
    truncated=[False] * 3)


def words_of(spans: list[tuple[int, int]], names: list[str]) -> list[Word]:
    return [Word(name, None, None, first, last) for name, (first, last) in zip(names, spans)]


WORDS = [words_of([(0, 1), (1, 2), (2, 4), (4, 5), (5, 6), (6, 7)], ["[CLS]", "w1", "w2", "w3", "w4", "[SEP]"]),
         words_of([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)], ["[CLS]", "a", "b", "c", "[SEP]"]),
         words_of([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6)], ["[CLS]", "x", "y", "z", "d", "[SEP]"])]


def test_words_that_may_be_removed_leave_the_special_tokens():
    assert removable_words(WORDS[0], INPUTS.special_tokens_mask[0]) == [1, 2, 3, 4]
    assert removable_words(WORDS[1], INPUTS.special_tokens_mask[1]) == [1, 2, 3]


def test_word_ranking_sums_wordpieces_signed_or_by_magnitude():
    scores = [9.0, 0.2, -0.4, -0.4, 0.5, 0.2, 9.0]  # w2 = −.8 in all
    assert word_ranking(WORDS[0], scores, [1, 2, 3, 4], signed=True) == [3, 1, 4, 2]  # ties: w1 before w4
    assert word_ranking(WORDS[0], scores, [1, 2, 3, 4], signed=False) == [2, 3, 1, 4]


def test_hand_computed_flips_including_none_and_a_non_monotone_curve(stub):
    """Ranking w1, w2, w3, w4 of text 0: Σ after k words is −.15, 1.85, .35, .05, so only k = 1 flips;
    a bisection over k = 1…4 (mid 2: no flip → 3: no → 4: no) would say "does not flip"."""
    rankings = [[1, 2, 3, 4], [4, 2, 3, 1], [1, 2, 3], [1, 2, 3, 4]]
    texts = [0, 0, 1, 2]
    flips = flip_counts(stub, INPUTS, WORDS, rankings, texts, [ANY_OTHER] * 4, FlipSettings(batch_size=2))
    first, never_0, never_1, third = flips
    assert first.k == 1 and first.words == [1] and first.texts == ["w1"] and first.predicted_after == 0
    assert first.probabilities_before[1] == pytest.approx(sigmoid(0.85), abs=1e-6)
    assert first.probabilities_after[1] == pytest.approx(sigmoid(-0.15), abs=1e-6)
    # w4, w2, w3, w1: .55, 2.55, 1.05, .05: never below 0
    assert never_0.k is None and never_0.searched == 4 and never_0.words == [4, 2, 3, 1]
    assert never_0.probabilities_after[1] == pytest.approx(sigmoid(0.05), abs=1e-6) and never_0.predicted_after == 1
    assert never_1.k is None and never_1.searched == 3
    # x, y, z, d: .45, .15, −.15, .05: the flip at 3 is in the second chunk of two k, whose k = 4 does not flip
    assert third.k == 3 and third.texts == ["x", "y", "z"]
    assert third.probabilities_after[1] == pytest.approx(sigmoid(-0.15), abs=1e-6)


def test_removal_goes_through_the_perturbation_room_and_the_cap_holds(stub):
    flips = flip_counts(stub, INPUTS, WORDS, [[2, 1, 3, 4]], [0], [0], FlipSettings(batch_size=16, cap=2))
    assert flips[0].k is None and flips[0].searched == 2  # Σ 2.85, then 1.85
    seen = stub.module.seen
    assert ([CLS, 3, 5, 6, SEP, PAD, PAD], [1, 1, 1, 1, 1, 0, 0]) in seen  # both pieces of w2 gone, re-padded
    assert ([CLS, 5, 6, SEP, PAD, PAD, PAD], [1, 1, 1, 1, 0, 0, 0]) in seen
    assert len(seen) == 3 + 2  # the unperturbed texts, then k = 1, 2 (the cap) in one pass


def test_a_search_stops_at_the_first_chunk_with_a_flip(stub):
    flip_counts(stub, INPUTS, WORDS, [[1, 2, 3, 4]], [0], [ANY_OTHER], FlipSettings(batch_size=2))
    assert len(stub.module.seen) == 3 + 2


def test_reaching_a_given_class(stub):
    """reach = 1 on a text the model already calls 1 flips at the first k that is still 1."""
    flips = flip_counts(stub, INPUTS, WORDS, [[1, 2, 3, 4]], [0], [1], FlipSettings())
    assert flips[0].k == 2


def test_random_word_orders_are_seeded_by_the_text_and_the_median_is_the_lower_one():
    one = random_word_ranking(INPUTS.input_ids[0], 7, [1, 2, 3, 4], seed=0, order=0)
    assert sorted(one) == [1, 2, 3, 4] and one == random_word_ranking(INPUTS.input_ids[0], 7, [1, 2, 3, 4], 0, 0)
    assert RandomFlips([5, None, 3], 64).median == 5
    assert RandomFlips([None, None, 3], 64).median is None
    assert RandomFlips([8, 2], 64).median == 2
