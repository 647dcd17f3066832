"""Attribution maths against plain autograd on the user's own module, not against reportgen's helpers."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from reportgen.attribution import AttributionSettings, MethodOptions, PathSteps, TokenScores, make_attributor
from reportgen.attribution.integrated_gradients import baseline_ids
from reportgen.errors import ReportgenError
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel, load_model
from tests.builders import endpoint_logits, load_user_module
from tests.tolerances import assert_close_fp32, delta_magnitude, row_magnitude

MAX_LENGTH = 32
TEXTS = ["this movie was great and the acting was wonderful",
         "awful plot, boring scenes and the worst ending",
         "dull",
         "it was not good. not good at all. " * 6]  # truncated at MAX_LENGTH
TARGETS = torch.tensor([0, 1, 1, 0])  # fixed classes, not the predictions: the target index must be honoured


@pytest.fixture(scope="module")
def model(checkpoints, encoder_dir) -> LoadedModel:
    return load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling="mean-all",
                      device=torch.device("cpu"))


@pytest.fixture(scope="module")
def user_module(checkpoints, encoder_dir):
    return load_user_module(encoder_dir, checkpoints["base"])


@pytest.fixture(scope="module")
def inputs(model) -> EncodedTexts:
    return encode(model.tokenizer, TEXTS, MAX_LENGTH, pad_to_max_length=True)


@pytest.fixture(scope="module")
def user_inputs(encoder_dir) -> list[dict[str, torch.Tensor]]:
    """What the user's pipeline feeds the model, one text at a time."""
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    return [tokenizer(text, max_length=MAX_LENGTH, padding="max_length", truncation=True, return_tensors="pt")
            for text in TEXTS]


def attribute(model: LoadedModel, inputs: EncodedTexts, method: str, batch_size: int = 4, steps: int = 16,
              quadrature: str = "gauss-legendre") -> TokenScores:
    attributor = make_attributor(method, AttributionSettings(batch_size=batch_size),
                                 MethodOptions(path=PathSteps(steps=steps, quadrature=quadrature)))
    return attributor.attribute(model, inputs, TARGETS)


def reference_gradient(module, encoded: dict[str, torch.Tensor], target: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂ logit_target / ∂ word-embedding output, that output) by hand: backward of one logit."""
    embeds = module.bert.embeddings.word_embeddings(encoded["input_ids"]).detach().requires_grad_(True)
    logits = module(inputs_embeds=embeds, attention_mask=encoded["attention_mask"])
    logits[0, target].backward()
    return embeds.grad[0], embeds.detach()[0]


@torch.no_grad()
def target_logit(module, input_ids: torch.Tensor, attention_mask: torch.Tensor, target: int) -> float:
    return float(module(input_ids=input_ids, attention_mask=attention_mask)[0, target])


def test_inputs_match_the_users_tokenization(inputs, user_inputs):
    for i, encoded in enumerate(user_inputs):
        assert torch.equal(inputs.input_ids[i], encoded["input_ids"][0])
        assert torch.equal(inputs.attention_mask[i], encoded["attention_mask"][0])


def test_gradient_x_input_and_gradient_norm_equal_autograd_by_hand(model, inputs, user_module, user_inputs):
    gxi = attribute(model, inputs, "gradient-x-input").scores
    norm = attribute(model, inputs, "gradient").scores
    for i, encoded in enumerate(user_inputs):
        gradient, embeds = reference_gradient(user_module, encoded, int(TARGETS[i]))
        torch.testing.assert_close(gxi[i], (gradient * embeds).sum(-1), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(norm[i], gradient.norm(dim=-1), atol=1e-5, rtol=1e-4)
    assert (norm >= 0).all() and (gxi < 0).any() and (gxi > 0).any()


def hand_baseline(input_ids: torch.Tensor, attention_mask: torch.Tensor, tokenizer) -> torch.Tensor:
    """The documented baseline: [CLS] and [SEP] where the text has them, [PAD] everywhere else."""
    special = (input_ids == tokenizer.cls_token_id) | (input_ids == tokenizer.sep_token_id)
    return torch.where(special & attention_mask.bool(), input_ids, torch.full_like(input_ids, tokenizer.pad_token_id))


def test_baseline_keeps_cls_and_sep_and_pads_the_rest(model, inputs):
    tokenizer = model.tokenizer
    baseline = baseline_ids(inputs, tokenizer.pad_token_id)
    assert torch.equal(baseline, hand_baseline(inputs.input_ids, inputs.attention_mask, tokenizer))
    for row, n in zip(baseline, inputs.lengths()):  # spelled out: [CLS] [PAD]… [SEP] [PAD]…
        expected = [tokenizer.cls_token_id] + [tokenizer.pad_token_id] * (n - 2) + [tokenizer.sep_token_id]
        assert row.tolist() == expected + [tokenizer.pad_token_id] * (MAX_LENGTH - n)


def test_integrated_gradients_completeness(model, inputs, user_module, user_inputs):
    """Σ_t IG_t ≈ F(x) − F(x′), with F(x′) computed here from the documented baseline."""
    result = attribute(model, inputs, "integrated-gradients", batch_size=64, steps=32)
    for i, encoded in enumerate(user_inputs):
        target = int(TARGETS[i])
        ids, mask = encoded["input_ids"], encoded["attention_mask"]
        logit = target_logit(user_module, ids, mask, target)
        baseline_logit = target_logit(user_module, hand_baseline(ids, mask, model.tokenizer), mask, target)
        change = logit - baseline_logit
        assert abs(change) > 1e-2, "a vanishing logit change would make the check vacuous"
        assert float(result.logit_change[i]) == pytest.approx(change, rel=1e-4, abs=1e-5)
        total = float(result.scores[i].sum())
        assert abs(total - change) <= 1e-3 * abs(change), (i, total, change)
        # F(x) and F(x′) here come from other forward passes than reportgen's (batch of one), so they
        # round at the size of the logits themselves, not of their difference (Intel: 1.1e-6 apart)
        assert_close_fp32(result.convergence_delta[i], total - change,
                          delta_magnitude(result.scores[i], logit, baseline_logit))
    # x − x′ is zero on padding and on [CLS]/[SEP], so they get exactly nothing
    zero = inputs.special_tokens_mask.bool()
    assert (result.scores[zero] == 0).all() and (result.scores[~zero] != 0).all()


def test_riemann_sums_converge_to_gauss_legendre(model, inputs):
    """Every rule approximates the same integral; left/right sums are first order, so their error must
    shrink with more steps. (The head's ReLUs put kinks in the integrand, so no rule is exact.)"""
    subset = inputs.select([0, 3])
    reference = attribute(model, subset, "integrated-gradients", batch_size=128, steps=64).scores
    scale = reference.abs().max()
    for rule in ("riemann-left", "riemann-right", "riemann-middle", "riemann-trapezoid"):
        errors = [(attribute(model, subset, "integrated-gradients", batch_size=128, steps=steps, quadrature=rule)
                   .scores - reference).abs().max() for steps in (4, 64)]
        assert errors[1] < 0.015 * scale, (rule, errors, scale)
        if rule in ("riemann-left", "riemann-right"):
            assert errors[1] < errors[0] / 4, (rule, errors)


@pytest.mark.parametrize("method", ["integrated-gradients", "gradient-x-input", "gradient"])
def test_results_do_not_depend_on_the_batch_size(method, model, inputs):
    """Other batches round otherwise: F(x) − F(x′) at the size of the logits (for "dull" 1.469 − 1.430, 8.3e-7
    apart on an AMD EPYC), not of their difference; a wrong step or row moves it by far more."""
    results = [attribute(model, inputs, method, batch_size=size, steps=6) for size in (1, 3, 7, 1000)]
    ends = endpoint_logits(model, inputs, TARGETS)
    for other in results[1:]:
        assert_close_fp32(other.scores, results[0].scores, row_magnitude(results[0].scores))
        if method == "integrated-gradients":
            for name in ("logit_change", "convergence_delta"):
                assert_close_fp32(getattr(other, name), getattr(results[0], name),
                                  delta_magnitude(results[0].scores, *ends))


def test_no_parameter_gradients_and_dropout_off(model, inputs):
    first = attribute(model, inputs, "integrated-gradients", batch_size=5, steps=4)
    second = attribute(model, inputs, "integrated-gradients", batch_size=5, steps=4)
    assert torch.equal(first.scores, second.scores), "two runs differ: is dropout on?"
    assert not any(m.training for m in model.module.modules())
    assert all(p.grad is None and not p.requires_grad for p in model.module.parameters())


@pytest.mark.parametrize("method", ["integrated-gradients", "gradient-x-input", "gradient"])
def test_non_finite_scores_are_an_error(method, checkpoints, encoder_dir, inputs):
    broken = load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling="mean-all",
                        device=torch.device("cpu"))
    broken.module.classifier[-1].register_forward_hook(lambda module, args, output: output * float("nan"))
    with pytest.raises(ReportgenError, match="non-finite scores"):
        attribute(broken, inputs, method, steps=2)


def test_integrated_gradients_on_a_huggingface_model(hf_dir, encoder_dir):
    """Completeness holds for models without the user's head too (their own padding, their embeddings)."""
    hf = load_model(str(hf_dir), role="finetuned", encoder=str(encoder_dir), pooling="mean-all",
                    device=torch.device("cpu"))
    with torch.no_grad():
        hf.module.classifier.weight.mul_(100.0)  # a freshly initialised head barely moves its logits
    encoded = encode(hf.tokenizer, TEXTS, MAX_LENGTH, hf.info.pads_to_max_length)
    result = attribute(hf, encoded, "integrated-gradients", batch_size=64, steps=32)
    assert (result.logit_change.abs() > 1e-3).all()
    assert (result.convergence_delta.abs() / result.logit_change.abs()).max() < 1e-3


@pytest.mark.parametrize("method", ["integrated-gradients", "gradient-x-input", "gradient", "attention-gradient"])
def test_gradient_methods_take_their_gradients_in_any_grad_mode(method, model, inputs):
    """Called straight from a caller's `torch.inference_mode()`, on inputs made there (inference tensors, which
    autograd can neither track nor save), or from `torch.no_grad()`: the same scores, and the mode as it was."""
    expected = attribute(model, inputs, method, steps=4).scores
    with torch.inference_mode():
        made_here = encode(model.tokenizer, TEXTS, MAX_LENGTH, pad_to_max_length=True)
        assert made_here.input_ids.is_inference()
        inference = attribute(model, made_here, method, steps=4).scores
        assert torch.is_inference_mode_enabled() and not torch.is_grad_enabled()
    with torch.no_grad():
        no_grad = attribute(model, inputs, method, steps=4).scores
        assert not torch.is_grad_enabled()
    for scores in (inference, no_grad):
        assert_close_fp32(scores, expected, row_magnitude(expected))
