"""The perturbation room: removal as the faithfulness metrics define it, logits back, and the base
class that forward-only attribution methods (occlusion, Shapley values) build on."""

from __future__ import annotations

import math

import pytest
import torch

from reportgen.attribution import AttributionSettings, MethodOptions, ShapleyOptions, make_attributor
from reportgen.attribution.perturbation import spread_over_tokens, word_features
from reportgen.choices import shapley_gap_allowed
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel
from reportgen.perturbation import removal_logits, remove_tokens
from reportgen.results import Word
from reportgen.words import group_words, word_scores
from tests.test_attribution import MAX_LENGTH
from tests.test_faithfulness import bert, inputs  # noqa: F401 (the tiny BERT and its encoded texts, as fixtures)

PAD = 0


def test_removed_tokens_shift_left_and_the_row_is_repadded_to_its_width():
    ids = torch.tensor([[101, 7, 8, 9, 102, PAD], [101, 5, 102, PAD, PAD, PAD]])
    kept = torch.tensor([[True, False, True, False, True, False], [True, True, True, False, False, False]])
    out, mask, _ = remove_tokens(ids, kept, PAD)
    assert out.tolist() == [[101, 8, 102, PAD, PAD, PAD], [101, 5, 102, PAD, PAD, PAD]]
    assert mask.tolist() == [[1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0]]


def by_hand(model: LoadedModel, inputs: EncodedTexts, text: int, drop: set[int]) -> torch.Tensor:
    """The text's logits with the positions in `drop` removed, built one text at a time."""
    length = inputs.lengths()[text]
    ids = [int(t) for p, t in enumerate(inputs.input_ids[text, :length]) if p not in drop]
    width = inputs.input_ids.shape[1]
    row = torch.tensor([ids + [model.tokenizer.pad_token_id] * (width - len(ids))])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids))])
    with torch.inference_mode():
        return model.logits(mask, input_ids=row)[0].float()


def test_removal_logits_equal_texts_built_by_hand(bert, inputs):
    """Row r drops position 1 + r of text r % texts; rows run longest first in batches of 3."""
    texts = len(inputs)
    drops = [{1 + r} for r in range(2 * texts)]
    kept = torch.stack([inputs.attention_mask[r % texts].bool() for r in range(2 * texts)])
    for r, drop in enumerate(drops):
        kept[r, list(drop)] = False
    logits = removal_logits(bert, inputs, lambda rows: (rows % texts, kept[rows]), kept.sum(dim=1), batch_size=3)
    for r, drop in enumerate(drops):
        expected = by_hand(bert, inputs, r % texts, drop)
        torch.testing.assert_close(logits[r], expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))


def word_spans(inputs: EncodedTexts, text: int) -> list[set[int]]:
    """The report's words of a text as sets of token positions, [CLS]/[SEP] left out."""
    words = group_words(inputs.word_ids[text], inputs.offsets[text], inputs.texts[text])
    return [set(range(w.first_token, w.last_token)) for w in words if w.start is not None]


def test_word_features_are_the_reports_words_and_never_special_tokens(bert):
    inputs = encode(bert.tokenizer, ["It wasn't unwatchable, honestly.", "ok"], MAX_LENGTH, pad_to_max_length=True)
    features = word_features(inputs)
    for text in range(len(inputs)):
        spans = word_spans(inputs, text)
        assert [set((features[text] == w).nonzero().flatten().tolist()) for w in range(len(spans))] == spans
        assert (features[text][inputs.special_tokens_mask[text].bool()] == -1).all()
    assert any(len(span) > 1 for span in word_spans(inputs, 0))  # "wasn't" / "unwatchable": several pieces


def test_occlusion_equals_an_explicit_leave_one_word_out_loop(bert, inputs):
    """Each word's value is f(x) − f(x without the word), target logit, texts built one at a time."""
    targets = torch.tensor([i % 2 for i in range(len(inputs))])
    result = make_attributor("occlusion", AttributionSettings(batch_size=5)).attribute(bert, inputs, targets)
    scores = result.scores
    assert scores.shape == inputs.input_ids.shape and result.convergence_delta is None
    assert (scores[inputs.special_tokens_mask.bool()] == 0).all()  # [CLS], [SEP] and padding are never removed
    for text in range(len(inputs)):
        target = int(targets[text])
        full = by_hand(bert, inputs, text, set())[target]
        values = word_scores(group_words(inputs.word_ids[text], inputs.offsets[text], inputs.texts[text]),
                             scores[text, : inputs.lengths()[text]].tolist())
        expected = [float(full - by_hand(bert, inputs, text, span)[target]) for span in word_spans(inputs, text)]
        shown = [v for v, w in zip(values, group_words(inputs.word_ids[text], inputs.offsets[text],
                                                       inputs.texts[text])) if w.start is not None]
        allowed = 1e-4 * max(1.0, float(full.abs()))
        assert shown == pytest.approx(expected, abs=allowed)


def test_a_words_value_sits_on_its_first_wordpiece_so_word_scores_equal_it_exactly():
    features = torch.tensor([[-1, 0, 0, 1, 2, 2, 2, -1, -1]])
    values = torch.tensor([[0.625, -1.25, 3.0]])  # exact in fp32
    scores = spread_over_tokens(values, features)
    assert scores.tolist() == [[0.0, 0.625, 0.0, -1.25, 3.0, 0.0, 0.0, 0.0, 0.0]]
    words = [Word("", None, None, 0, 1), Word("a", 0, 1, 1, 3), Word("b", 2, 3, 3, 4), Word("c", 4, 5, 4, 7)]
    assert word_scores(words, scores[0].tolist())[1:] == values[0].tolist()


def test_shapley_values_add_up_to_the_logit_change_when_every_word_is_removed(bert, inputs):
    """Sampling permutations is exactly efficient: each order's credits telescope to f(x) − f(no words), so
    the gap is fp32 rounding, within SHAPLEY_GAP; f(x) and f(no words) are checked against texts by hand."""
    targets = torch.tensor([i % 2 for i in range(len(inputs))])
    attributor = make_attributor("shapley-sampling", AttributionSettings(batch_size=7),
                                 MethodOptions(shapley=ShapleyOptions(samples=3)))
    result = attributor.attribute(bert, inputs, targets)
    for text in range(len(inputs)):
        target = int(targets[text])
        removable = {p for span in word_spans(inputs, text) for p in span}
        change = by_hand(bert, inputs, text, set())[target] - by_hand(bert, inputs, text, removable)[target]
        assert float(result.logit_change[text]) == pytest.approx(float(change), abs=1e-4 * max(1.0, abs(float(change))))
        total = math.fsum(result.scores[text].tolist())
        assert abs(total - float(result.logit_change[text])) <= shapley_gap_allowed(float(change))
        assert float(result.convergence_delta[text]) == pytest.approx(total - float(result.logit_change[text]),
                                                                       abs=1e-6 * max(1.0, abs(total)))
    assert result.scores.abs().sum() > 0
    again = attributor.attribute(bert, inputs, targets).scores  # seeded orders: the same values again
    assert torch.equal(again, result.scores)


def test_shapley_values_of_two_words_are_exact_with_both_orders(bert):
    """With two words the two orders give the exact Shapley values: ½[(f(a) − f(∅)) + (f(ab) − f(b))]."""
    inputs = encode(bert.tokenizer, ["great film"], MAX_LENGTH, pad_to_max_length=True)
    assert len(word_spans(inputs, 0)) == 2
    attributor = make_attributor("shapley-sampling", AttributionSettings(batch_size=4),
                                 MethodOptions(shapley=ShapleyOptions(samples=40)))  # P(an order never drawn) = 2^-39
    scores = attributor.attribute(bert, inputs, torch.tensor([1])).scores[0]
    f = {drop: float(by_hand(bert, inputs, 0, set(drop))[1]) for drop in ((), (1,), (2,), (1, 2))}
    first = 0.5 * ((f[(2,)] - f[(1, 2)]) + (f[()] - f[(1,)]))
    second = 0.5 * ((f[(1,)] - f[(1, 2)]) + (f[()] - f[(2,)]))
    allowed = 1e-4 * max(1.0, *map(abs, f.values()))
    # 40 draws of two orders: the estimate is a weighted mean of the two orders' credits, exact only if
    # both orders were drawn equally often; bound it by the two orders' credits instead.
    for value, credits in ((scores[1], (f[(2,)] - f[(1, 2)], f[()] - f[(1,)])),
                           (scores[2], (f[(1,)] - f[(1, 2)], f[()] - f[(2,)]))):
        assert min(credits) - allowed <= float(value) <= max(credits) + allowed
    assert float(scores[1] + scores[2]) == pytest.approx(first + second, abs=allowed)
