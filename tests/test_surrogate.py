"""LIME and KernelSHAP over the report's words: the same values as Captum's `Lime` and `KernelShap` called directly
on the same forward function, seed and features; the closed-form surrogate against numpy; KernelSHAP's
additivity; reproducible draws; the rows the progress bar is told."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from reportgen.attribution import AttributionSettings, MethodOptions, make_attributor
from reportgen.attribution.surrogate import LIME_RIDGE, SEED, least_squares_model, weighted_least_squares
from reportgen.attribution.surrogate_options import SurrogateOptions
from reportgen.choices import KERNEL_SHAP_GAP, LIME_FIT, adjusted_fit
from reportgen.errors import ReportgenError
from tests.test_faithfulness import bert, inputs  # noqa: F401 (the tiny BERT and its encoded texts, as fixtures)
from tests.test_perturbation import by_hand, word_spans
from tests.tolerances import assert_close_fp32

SAMPLES = 24


def options(samples: int = SAMPLES) -> MethodOptions:
    return MethodOptions(surrogate=SurrogateOptions(samples=samples))


def by_captum(model, inputs, text: int, target: int, method: str, samples: int = SAMPLES) -> torch.Tensor:  # noqa: F811
    """Captum called directly: one feature per word, each coalition's text built by hand, seed 0."""
    from captum.attr import KernelShap, Lime

    spans = word_spans(inputs, text)

    def forward(present: torch.Tensor) -> torch.Tensor:
        return torch.stack([by_hand(model, inputs, text, {p for w, span in enumerate(spans) if not row[w]
                                                          for p in span})[target] for row in present.bool()])

    if method == "lime":
        explainer = Lime(forward, interpretable_model=least_squares_model(LIME_RIDGE))
    else:
        explainer = KernelShap(forward)
        explainer.interpretable_model = least_squares_model(0.0)
    torch.manual_seed(SEED)
    return explainer.attribute(torch.ones(1, len(spans)), baselines=0.0, n_samples=samples,
                               feature_mask=torch.arange(len(spans)).view(1, -1))[0]


@pytest.mark.parametrize("method", ["lime", "kernel-shap"])
def test_the_same_values_as_captum_called_directly(bert, inputs, method):  # noqa: F811
    """Each word's value sits on its first wordpiece and equals Captum's coefficient for that word."""
    targets = torch.tensor([i % 2 for i in range(len(inputs))])
    result = make_attributor(method, AttributionSettings(batch_size=5), options()).attribute(bert, inputs, targets)
    for text in range(len(inputs)):
        spans = word_spans(inputs, text)
        if len(spans) < 2:
            continue
        expected = by_captum(bert, inputs, text, int(targets[text]), method)
        found = torch.stack([result.scores[text, min(span)] for span in spans])
        # the logits of a coalition differ by fp32 rounding between batches; the fit carries that rounding over
        # every sample into each coefficient: the scale is the size of the values, the ulps the samples'
        assert_close_fp32(found, expected, expected.abs().sum(), ulps=SAMPLES * 64)
        assert all(float(result.scores[text, p]) == 0.0 for span in spans for p in sorted(span)[1:])


def test_the_surrogate_is_weighted_ridge_least_squares_and_its_r2_is_weighted():
    generator = np.random.default_rng(0)
    x = (generator.random((40, 6)) < 0.5).astype(np.float64)
    y = x @ generator.normal(size=6) + 0.3 + 0.2 * generator.normal(size=40)
    w = generator.random(40) + 0.1
    for ridge in (0.0, LIME_RIDGE):
        model = least_squares_model(ridge)
        data = [(torch.tensor(x), torch.tensor(y), torch.tensor(w))]
        weighted_least_squares(model, data, {})
        design = np.hstack([x, np.ones((40, 1))]) * np.sqrt(w)[:, None]
        target = y * np.sqrt(w)
        if ridge:
            design = np.vstack([design, np.hstack([np.sqrt(ridge) * np.eye(6), np.zeros((6, 1))])])
            target = np.concatenate([target, np.zeros(6)])
        solution = np.linalg.lstsq(design, target, rcond=None)[0]
        assert_close_fp32(model.representation().view(-1).double(), torch.tensor(solution[:6]), np.abs(solution).sum())
        fitted = x @ solution[:6] + solution[6]
        mean = np.sum(w * y) / np.sum(w)
        r2 = 1 - np.sum(w * (y - fitted) ** 2) / np.sum(w * (y - mean) ** 2)
        assert model.fit_r2 == pytest.approx(r2, rel=1e-9)
        assert model.fit == pytest.approx(1 - (1 - r2) * (40 - 1) / (40 - 6 - 1), rel=1e-9)  # adjusted for 6 words


def test_the_lime_fit_does_not_reward_too_few_samples():
    """The R² of a linear model on its own samples → 1 as the samples fall to the words, whatever the target does:
    on a pure-noise target its mean over draws is p / (n − 1), so the in-sample R² of 14 samples of 10 words looks
    good (~0.77). The stated fit is adjusted for the words: on noise it averages 0 however few the samples; and
    with fewer samples than words + 2 it is not measurable (NaN), where the in-sample R² is 1."""
    generator = np.random.default_rng(3)
    for rows in (14, 30, 200):
        found = []
        for _ in range(200):
            x = (generator.random((rows, 10)) < 0.5).astype(np.float64)
            data = [(torch.tensor(x), torch.tensor(generator.normal(size=rows)), generator.random(rows) + 0.5)]
            model = least_squares_model(0.0)
            weighted_least_squares(model, [tuple(torch.as_tensor(part) for part in data[0])], {})
            assert model.fit <= model.fit_r2
            found.append((model.fit_r2, model.fit))
        in_sample, adjusted = np.mean(found, axis=0)
        assert abs(adjusted) < 0.1 and in_sample > 0.9 * 10 / (rows - 1), rows
        if rows == 14:
            assert in_sample > LIME_FIT  # what the page used to show: a good fit, of noise
    x = np.vstack([np.zeros((1, 10)), np.eye(10)])  # 11 coalitions that determine 10 words and the intercept
    model = least_squares_model(0.0)
    weighted_least_squares(model, [(torch.tensor(x), torch.tensor(generator.normal(size=11)), torch.ones(11))], {})
    assert model.fit_r2 == pytest.approx(1.0) and math.isnan(model.fit)
    assert adjusted_fit(0.9, 11, 10) is None and adjusted_fit(0.9, 12, 10) == pytest.approx(1 - 0.1 * 11)


def test_kernel_shap_adds_up_and_lime_states_its_fit(bert, inputs):  # noqa: F811
    targets = torch.zeros(len(inputs), dtype=torch.long)
    shap = make_attributor("kernel-shap", AttributionSettings(batch_size=8), options()).attribute(bert, inputs, targets)
    lime = make_attributor("lime", AttributionSettings(batch_size=8), options()).attribute(bert, inputs, targets)
    for text in range(len(inputs)):
        change = float(shap.logit_change[text])
        total = math.fsum(shap.scores[text].tolist())
        assert float(shap.convergence_delta[text]) == pytest.approx(total - change, abs=1e-5 * max(1.0, abs(total)))
        assert abs(total - change) <= KERNEL_SHAP_GAP * max(abs(change), 1.0)
        fit, words = float(lime.fit[text]), len(word_spans(inputs, text))
        assert math.isnan(fit) if SAMPLES - words - 1 <= 0 else (fit <= 1.0 + 1e-9 and math.isfinite(fit)), words
    assert lime.convergence_delta is None and shap.fit is None
    assert any(math.isnan(float(f)) for f in lime.fit) and any(math.isfinite(float(f)) for f in lime.fit)


def test_a_lime_fit_with_as_many_samples_as_words_is_not_measurable(bert, inputs):  # noqa: F811
    """With the samples at the words + 1 a linear surrogate reproduces its samples exactly (R² 1 on them): LIME's
    fit is then not measurable (NaN, null in the JSON), never "perfect"."""
    words = len(word_spans(inputs, 0))
    targets = torch.zeros(len(inputs), dtype=torch.long)
    lime = make_attributor("lime", AttributionSettings(batch_size=8), options(words + 1)).attribute(
        bert, inputs.select([0]), targets[:1])
    assert math.isnan(float(lime.fit[0]))


@pytest.mark.parametrize("method", ["lime", "kernel-shap"])
def test_draws_are_seeded_per_text_so_batching_and_neighbours_change_nothing(bert, inputs, method):  # noqa: F811
    targets = torch.ones(len(inputs), dtype=torch.long)
    progress: list[int] = []
    attributor = make_attributor(method, AttributionSettings(batch_size=3, on_progress=progress.append), options())
    first = attributor.attribute(bert, inputs, targets).scores
    assert sum(progress) == attributor.bound_rows(inputs)  # the progress bar's total, known before the run
    torch.manual_seed(1234)  # the caller's generator state does not matter either
    alone = make_attributor(method, AttributionSettings(batch_size=11), options()).attribute(
        bert, inputs.select([2]), targets[2:3]).scores
    assert_close_fp32(alone[0], first[2], first[2].abs().sum(), ulps=SAMPLES * 64)


def test_surrogate_samples_are_checked_before_any_model_loads():
    for wrong in (1, 0, 2.5, True):
        with pytest.raises(ReportgenError, match="surrogate"):
            options(wrong).check()
