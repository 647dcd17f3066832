"""Attention rollout and gradient-weighted attention against explicit per-layer loops written here,
on models loaded by hand with eager attention (not through reportgen's loader or helpers)."""

from __future__ import annotations

import pytest
import torch
from transformers import BertForSequenceClassification

from reportgen.attribution import AttributionSettings, MethodOptions, PathSteps, make_attributor
from reportgen.attribution.rollout import rollout_layer
from reportgen.loading.classifier import pool
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel, load_model
from tests.builders import load_user_module
from tests.test_attribution import MAX_LENGTH, TARGETS, TEXTS
from tests.tolerances import assert_close_fp32, row_magnitude

POOLINGS = ["mean-all", "masked-mean", "cls", "huggingface"]
METHODS = ["attention-rollout", "attention-gradient"]


def load(pooling: str, checkpoints, encoder_dir, hf_dir) -> tuple[LoadedModel, torch.nn.Module]:
    """(reportgen's model, the same weights loaded by hand on eager attention) for one pooling."""
    if pooling == "huggingface":
        model = load_model(str(hf_dir), role="finetuned", encoder=str(encoder_dir), pooling="mean-all",
                           device=torch.device("cpu"))
        with torch.no_grad():
            model.module.classifier.weight.mul_(100.0)  # a fresh head barely moves its logits
        reference = BertForSequenceClassification.from_pretrained(hf_dir, attn_implementation="eager").eval()
        with torch.no_grad():
            reference.classifier.weight.mul_(100.0)
        return model, reference
    model = load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling=pooling,
                       device=torch.device("cpu"))
    reference = load_user_module(encoder_dir, checkpoints["base"], pooling=pooling)
    reference.bert.config._attn_implementation = "eager"
    return model, reference


@pytest.fixture(scope="module", params=POOLINGS)
def setup(request, checkpoints, encoder_dir, hf_dir) -> tuple[str, LoadedModel, torch.nn.Module, EncodedTexts]:
    model, reference = load(request.param, checkpoints, encoder_dir, hf_dir)
    inputs = encode(model.tokenizer, TEXTS, MAX_LENGTH, model.info.pads_to_max_length)
    return request.param, model, reference, inputs


def reference_pass(reference: torch.nn.Module, pooling: str, ids: torch.Tensor, mask: torch.Tensor):
    """(logits, attentions) of one text: the encoder with output_attentions, then the head by hand."""
    if pooling == "huggingface":
        out = reference(input_ids=ids, attention_mask=mask, output_attentions=True)
        return out.logits, out.attentions
    out = reference.bert(input_ids=ids, attention_mask=mask, output_attentions=True)
    return reference.classifier(pool(out.last_hidden_state, mask, pooling)), out.attentions


def pooled_row(matrix: torch.Tensor, pooling: str, mask: torch.Tensor) -> torch.Tensor:
    """The mean of the rows the classifier pools: all, the real tokens, or [CLS]."""
    if pooling == "mean-all":
        return matrix.mean(dim=0)
    if pooling == "masked-mean":
        return matrix[mask.bool()].mean(dim=0)
    return matrix[0]


def reference_scores(method: str, pooling: str, reference: torch.nn.Module, inputs: EncodedTexts) -> torch.Tensor:
    rows = []
    for i in range(len(inputs)):
        ids, mask = inputs.input_ids[i: i + 1], inputs.attention_mask[i: i + 1]
        seq = ids.shape[1]
        eye = torch.eye(seq)
        if method == "attention-rollout":
            with torch.no_grad():
                _, attentions = reference_pass(reference, pooling, ids, mask)
            rollout = eye
            for attention in attentions:  # layer 1 first: rollout = Â_L ⋯ Â_1
                a_hat = 0.5 * attention[0].mean(dim=0) + 0.5 * eye
                a_hat = a_hat / a_hat.sum(dim=1, keepdim=True)
                rollout = a_hat @ rollout
        else:
            logits, attentions = reference_pass(reference, pooling, ids, mask)
            for attention in attentions:
                attention.retain_grad()
            logits[0, int(TARGETS[i])].backward()
            rollout = eye
            for attention in attentions:  # R ← R + Ā·R
                a_bar = (attention.grad[0] * attention[0]).clamp(min=0).mean(dim=0)
                rollout = rollout + a_bar @ rollout.detach()
        rows.append(pooled_row(rollout.detach(), pooling, mask[0]))
    return torch.stack(rows)


def attribute(model: LoadedModel, inputs: EncodedTexts, method: str, batch_size: int = 4) -> torch.Tensor:
    attributor = make_attributor(method, AttributionSettings(batch_size=batch_size),
                                 MethodOptions(path=PathSteps(steps=3)))
    assert attributor.signed is False and attributor.rows(len(inputs)) == len(inputs)
    return attributor.attribute(model, inputs, TARGETS).scores


@pytest.mark.parametrize("method", METHODS)
def test_equals_an_explicit_loop_over_layers(method, setup):
    pooling, model, reference, inputs = setup
    scores = attribute(model, inputs, method)
    expected = reference_scores(method, pooling, reference, inputs)
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-4)
    assert (scores >= 0).all()
    if pooling != "mean-all":  # no pooled row sees padding keys, so padding columns get nothing
        assert (scores[inputs.attention_mask == 0] == 0).all()
    if method == "attention-rollout":  # row-stochastic layers and readout weights summing to 1
        torch.testing.assert_close(scores.sum(dim=1), torch.ones(len(inputs)))


@pytest.mark.parametrize("method", METHODS)
def test_results_do_not_depend_on_the_batch_size(method, setup):
    _, model, _, inputs = setup
    results = [attribute(model, inputs, method, batch_size=size) for size in (1, 3, 1000)]
    for other in results[1:]:
        assert_close_fp32(other, results[0], row_magnitude(results[0]))


def test_gradient_weighting_is_class_specific(setup):
    _, model, _, inputs = setup
    attributor = make_attributor("attention-gradient", AttributionSettings(batch_size=4))
    first = attributor.attribute(model, inputs, TARGETS).scores
    other = attributor.attribute(model, inputs, 1 - TARGETS).scores
    assert not torch.allclose(first, other)
    assert attributor.class_specific and not make_attributor("attention-rollout", AttributionSettings(1)).class_specific


def test_rollout_rows_sum_to_one(setup):
    """Â keeps rows stochastic, padding queries included (their attention still sums to 1)."""
    pooling, _, reference, inputs = setup
    with torch.no_grad():
        _, attentions = reference_pass(reference, pooling, inputs.input_ids, inputs.attention_mask)
    for attention in attentions:
        a_hat = rollout_layer(attention)
        torch.testing.assert_close(a_hat.sum(dim=-1), torch.ones(a_hat.shape[:-1]))
        assert (a_hat >= 0).all()


def configs(model: LoadedModel) -> list:
    return [sub.config for sub in model.module.modules() if hasattr(sub, "config")]


@pytest.mark.parametrize("method", METHODS)
def test_attention_implementation_is_restored_also_after_an_error(method, checkpoints, encoder_dir):
    model = load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling="mean-all",
                       device=torch.device("cpu"))
    inputs = encode(model.tokenizer, TEXTS, MAX_LENGTH, True)
    before = [config._attn_implementation for config in configs(model)]
    assert before and set(before) == {"sdpa"}
    attribute(model, inputs, method)
    assert [config._attn_implementation for config in configs(model)] == before

    def fail(module, args, output):
        assert model.module.bert.config._attn_implementation == "eager"  # really switched while running
        raise RuntimeError("boom")

    model.module.classifier.register_forward_hook(fail)
    with pytest.raises(RuntimeError, match="boom"):
        attribute(model, inputs, method)
    assert [config._attn_implementation for config in configs(model)] == before
