"""The perturbation room: removal as the faithfulness metrics define it, logits back, and the base
class that forward-only attribution methods (occlusion, Shapley values) build on."""

from __future__ import annotations

import pytest
import torch

from reportgen.attribution import AttributionSettings
from reportgen.attribution.perturbation import PerturbationAttributor
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.perturbation import removal_logits, remove_tokens
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


class LeaveOneOut(PerturbationAttributor):
    """A test-only method on the base: the target logit's drop when each token alone is removed."""

    name = "leave-one-out"  # not in the registry: nothing here reads a record

    def rows(self, num_texts: int) -> int:
        raise AssertionError("not planned in this test")

    def coalitions(self, inputs: EncodedTexts, candidates: torch.Tensor) -> torch.Tensor:
        seq = candidates.shape[1]
        everything = torch.ones(candidates.shape[0], 1, seq, dtype=torch.bool)
        one_removed = ~torch.eye(seq, dtype=torch.bool).unsqueeze(0) | ~candidates.unsqueeze(1)
        return torch.cat([everything, one_removed], dim=1)

    def combine(self, logits: torch.Tensor, kept: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        return (logits[:, :1] - logits[:, 1:]) * candidates


def test_the_base_runs_each_coalition_and_hands_over_target_logits(bert, inputs):
    targets = torch.tensor([i % 2 for i in range(len(inputs))])
    scores = LeaveOneOut(AttributionSettings(batch_size=16)).attribute(bert, inputs, targets).scores
    assert scores.shape == inputs.input_ids.shape
    specials = inputs.special_tokens_mask.bool()
    assert (scores[specials] == 0).all()  # [CLS], [SEP] and padding are never removed
    for text in range(2):
        full = by_hand(bert, inputs, text, set())[targets[text]]
        for position in (1, 2, inputs.lengths()[text] - 2):
            expected = full - by_hand(bert, inputs, text, {position})[targets[text]]
            allowed = 1e-4 * max(1.0, float(full.abs()))
            assert float(scores[text, position]) == pytest.approx(float(expected), abs=allowed)
