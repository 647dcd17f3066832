"""The engine's fast paths keep the maths: bf16 autocast, OOM back-off, memory that does not grow
with steps, padding keys trimmed from attention, Gauss–Legendre nodes, and the GPU path.

Speed itself is measured by benchmarks/attribution.py (figures in docs/benchmarks.md), not here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from reportgen.attribution import AttributionSettings
from reportgen.attribution.integrated_gradients import IntegratedGradients
from reportgen.attribution.path_steps import PathSteps
from reportgen.attribution.quadrature import nodes_and_weights
from reportgen.batching import ChunkRunner
from reportgen.errors import ReportgenError
from reportgen.inference import predict_logits
from reportgen.loading import attention
from reportgen.loading.inputs import encode
from reportgen.loading.models import LoadedModel, load_model
from tests.builders import REVIEWS, endpoint_logits
from tests.tolerances import assert_close_fp32, delta_magnitude, row_magnitude

CPU = torch.device("cpu")
TEXTS = [text for text, _ in REVIEWS]
MAX_LENGTH = 48  # REVIEWS[4] is longer, so every other text is padded

# bf16 keeps 8 bits of mantissa: on the tiny model its IG token ranking stays this close to fp32's
# (per text, Spearman over real tokens), and its scores within this share of the largest |score|.
# Measured on three tiny models: Spearman ≥ 0.98, error ≤ 0.8%. MiniLM and bert-base size at 512
# tokens: Spearman ≥ 0.993, same predictions (docs/benchmarks.md).
BF16_MIN_SPEARMAN = 0.95
BF16_MAX_RELATIVE_ERROR = 0.05


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Rank correlation of two score vectors without ties (IG scores of real tokens)."""
    ra, rb = a.argsort().argsort().double(), b.argsort().argsort().double()
    return float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])


def words(inputs) -> torch.Tensor:
    """Real, non-special tokens: [PAD], [CLS] and [SEP] have IG score 0 by construction."""
    return inputs.attention_mask.bool() & ~inputs.special_tokens_mask.bool()


@pytest.fixture(scope="module")
def user_model(checkpoints, encoder_dir) -> LoadedModel:
    return load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling="mean-all", device=CPU)


@pytest.fixture(scope="module")
def hf_model(hf_dir) -> LoadedModel:
    return load_model(str(hf_dir), role="finetuned", encoder="", pooling="mean-all", device=CPU)


def encoded(model: LoadedModel):
    return encode(model.tokenizer, TEXTS, MAX_LENGTH, model.info.pads_to_max_length)


def integrated_gradients(model, inputs, targets, *, batch_size=8, steps=8, quadrature="gauss-legendre",
                         precision="fp32"):
    settings = AttributionSettings(batch_size=batch_size, precision=precision)
    attributor = IntegratedGradients(settings, PathSteps(steps=steps, quadrature=quadrature))
    return attributor.attribute(model, inputs, targets)


# ---------------------------------------------------------------- bf16 autocast on the CPU

def test_bf16_autocast_agrees_with_fp32(user_model):
    inputs = encoded(user_model)
    fp32_logits = predict_logits(user_model, inputs, batch_size=4)
    bf16_logits = predict_logits(user_model, inputs, batch_size=4, precision="bf16")
    assert not torch.equal(fp32_logits, bf16_logits)  # autocast really ran in bf16
    clear = (fp32_logits[:, 0] - fp32_logits[:, 1]).abs() > 0.05  # predictions not on a knife edge
    assert clear.sum() >= 4
    assert torch.equal(fp32_logits.argmax(-1)[clear], bf16_logits.argmax(-1)[clear])

    targets = fp32_logits.argmax(-1)
    fp32 = integrated_gradients(user_model, inputs, targets)
    bf16 = integrated_gradients(user_model, inputs, targets, precision="bf16")
    assert bf16.scores.dtype == torch.float32
    assert not torch.equal(fp32.scores, bf16.scores)
    real = words(inputs)
    for i in range(len(inputs)):
        assert spearman(fp32.scores[i][real[i]], bf16.scores[i][real[i]]) >= BF16_MIN_SPEARMAN
    assert (fp32.scores - bf16.scores).abs().max() <= BF16_MAX_RELATIVE_ERROR * fp32.scores.abs().max()


# ---------------------------------------------------------------- out-of-memory back-off

class OutOfMemoryAbove(LoadedModel):
    """The real model, except that a pass over more than `limit` rows raises CUDA's OOM error."""

    limit: int = 10**9
    passes: list[int]

    def logits(self, attention_mask, **kwargs):
        rows = attention_mask.shape[0]
        self.passes.append(rows)
        if rows > self.limit:
            raise torch.OutOfMemoryError(f"simulated: {rows} rows")
        return super().logits(attention_mask, **kwargs)


def limited(model: LoadedModel, limit: int) -> OutOfMemoryAbove:
    wrapped = OutOfMemoryAbove(model.module, model.tokenizer, model.info)
    wrapped.limit, wrapped.passes = limit, []
    return wrapped


def test_chunk_runner_halves_on_out_of_memory_and_covers_every_row_once():
    seen, progress = [], []

    def work(start: int, stop: int) -> None:
        if stop - start > 3:
            raise torch.OutOfMemoryError("simulated")
        seen.extend(range(start, stop))

    runner = ChunkRunner(16, progress.append)
    runner.run(23, work)
    assert runner.batch_size == 2  # 16 → 8 → 4 → 2, and it stays there
    assert seen == list(range(23)) and sum(progress) == 23


def test_chunk_runner_gives_a_clear_error_when_one_row_does_not_fit():
    def work(start: int, stop: int) -> None:
        raise torch.OutOfMemoryError("simulated")

    with pytest.raises(ReportgenError, match="one row at a time"):
        ChunkRunner(4).run(3, work)


def test_integrated_gradients_after_out_of_memory_equals_the_run_without(user_model):
    inputs = encoded(user_model)
    targets = torch.tensor([label for _, label in REVIEWS])
    failing = limited(user_model, limit=5)
    settings = AttributionSettings(batch_size=16)
    attributor = IntegratedGradients(settings, PathSteps(steps=6))
    backed_off = attributor.attribute(failing, inputs, targets)
    assert attributor.runner.batch_size == 4  # tried 16, then 8, settled on 4 for the path
    failed = [rows for rows in failing.passes if rows > failing.limit]
    assert failed[:2] == [16, 8] and len(failed) <= 3  # each size fails once (the endpoints' pass at most once more)

    plain = integrated_gradients(user_model, inputs, targets, batch_size=4, steps=6)
    torch.testing.assert_close(backed_off.scores, plain.scores, rtol=0, atol=0)  # same chunks, same sums
    assert_close_fp32(backed_off.convergence_delta, plain.convergence_delta,
                      delta_magnitude(plain.scores, *endpoint_logits(user_model, inputs, targets)))
    unlimited = integrated_gradients(user_model, inputs, targets, batch_size=16, steps=6)
    assert_close_fp32(backed_off.scores, unlimited.scores, row_magnitude(unlimited.scores))


# ---------------------------------------------------------------- memory does not grow with steps

class LargestTensor(TorchDispatchMode):
    """The most elements any tensor produced by any op had, forward and backward."""

    def __init__(self) -> None:
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(tensor, torch.Tensor):
                self.numel = max(self.numel, tensor.numel())
        return out


def test_integrated_gradients_memory_grows_with_the_batch_not_the_steps(user_model):
    inputs = encoded(user_model).select([0, 1, 2])
    targets = torch.zeros(3, dtype=torch.long)
    largest, passes = {}, {}
    for steps in (4, 64):
        counted = limited(user_model, limit=10**9)
        with LargestTensor() as mode:
            attributor = IntegratedGradients(AttributionSettings(batch_size=8), PathSteps(steps=steps))
            attributor.attribute(counted, inputs, targets)
        largest[steps], passes[steps] = mode.numel, counted.passes
    assert max(passes[4]) <= 8 * 2 and max(passes[64]) <= 8 * 2  # path rows ≤ batch; endpoints x and x′
    assert max(rows for rows in passes[64][:-1]) == 8  # the path really ran full batches
    assert largest[64] == largest[4]
    assert len(passes[64]) > len(passes[4])  # more steps: more passes, not bigger ones


# ---------------------------------------------------------------- padding keys trimmed from attention

class KeyLengths:
    """Records the key length of every scaled_dot_product_attention call."""

    def __init__(self, monkeypatch) -> None:
        self.lengths: list[int] = []
        original = F.scaled_dot_product_attention

        def spy(query, key, value, *args, **kwargs):
            self.lengths.append(key.shape[-2])
            return original(query, key, value, *args, **kwargs)

        monkeypatch.setattr(F, "scaled_dot_product_attention", spy)


@pytest.mark.parametrize("which", ["user_model", "hf_model"])
def test_trimmed_attention_is_used_and_exact(which, request, monkeypatch):
    model: LoadedModel = request.getfixturevalue(which)
    assert attention.AVAILABLE
    short = encode(model.tokenizer, TEXTS[:2], MAX_LENGTH, pad_to_max_length=True)  # both padded
    longest = max(short.lengths())
    assert longest < MAX_LENGTH
    targets = torch.tensor([1, 0])

    spy = KeyLengths(monkeypatch)
    trimmed = integrated_gradients(model, short, targets, steps=4)
    logits = predict_logits(model, short, batch_size=2)
    config = model.module.config if which == "hf_model" else model.module.bert.config
    layers = config.num_hidden_layers
    assert len(spy.lengths) >= 3 * layers and set(spy.lengths) == {longest}  # SDPA, on real keys only
    config = model.module.config if which == "hf_model" else model.module.bert.config
    assert config._attn_implementation == "sdpa"  # restored afterwards

    spy.lengths.clear()
    monkeypatch.setattr(attention, "AVAILABLE", False)
    full = integrated_gradients(model, short, targets, steps=4)
    assert set(spy.lengths) == {MAX_LENGTH}
    assert_close_fp32(trimmed.scores, full.scores, row_magnitude(full.scores))
    # F(x) and F(x′) round at their own size through SDPA over fewer keys (1.9e-9 apart on an AMD EPYC for
    # hf_model, whose fresh head gives logits ~1e-2 and a change ~1e-4): a key wrongly kept or dropped moves
    # the delta by far more
    assert_close_fp32(trimmed.convergence_delta, full.convergence_delta,
                      delta_magnitude(full.scores, *endpoint_logits(model, short, targets)))
    torch.testing.assert_close(logits, predict_logits(model, short, batch_size=2), rtol=1e-5, atol=1e-6)


def test_trimming_keeps_keys_that_any_row_can_see(user_model, monkeypatch):
    """A batch mixing a short and a long text keeps the long one's keys for both rows."""
    inputs = encoded(user_model).select([0, 4])  # 4 is truncated to the full MAX_LENGTH
    spy = KeyLengths(monkeypatch)
    predict_logits(user_model, inputs, batch_size=2)
    assert set(spy.lengths) == {MAX_LENGTH}
    spy.lengths.clear()
    predict_logits(user_model, inputs, batch_size=1)
    assert set(spy.lengths) == {inputs.lengths()[0], MAX_LENGTH}


# ---------------------------------------------------------------- quadrature

@pytest.mark.parametrize("steps", [1, 2, 3, 5, 8, 16])
def test_gauss_legendre_is_exact_up_to_degree_2n_minus_1(steps):
    alphas, weights = map(np.array, nodes_and_weights("gauss-legendre", steps))
    assert np.all((alphas > 0) & (alphas < 1)) and np.isclose(weights.sum(), 1.0)
    for degree in range(2 * steps):
        assert np.isclose(np.dot(weights, alphas ** degree), 1 / (degree + 1), rtol=1e-12, atol=1e-14)
    if steps <= 5:  # beyond, the error is below double precision
        # The textbook error term for x^(2n) on [0, 1]: (n!)⁴ / ((2n + 1) · ((2n)!)²).
        error = math.factorial(steps) ** 4 / ((2 * steps + 1) * math.factorial(2 * steps) ** 2)
        assert np.isclose(1 / (2 * steps + 1) - np.dot(weights, alphas ** (2 * steps)), error, rtol=1e-6)


def test_gauss_legendre_converges_far_faster_on_a_smooth_model(checkpoints, encoder_dir):
    """With a GELU instead of the head's ReLU, the IG integrand is smooth and Gauss–Legendre with 4
    steps beats 32 left-Riemann steps by orders of magnitude. (With the user's ReLU head the
    integrand jumps wherever a unit switches, and the advantage mostly goes: docs/benchmarks.md.)"""
    model = load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling="mean-all", device=CPU)
    model.module.classifier[1] = torch.nn.GELU()
    inputs = encoded(model)
    targets = torch.zeros(len(inputs), dtype=torch.long)

    def mean_delta(quadrature: str, steps: int) -> float:
        return float(integrated_gradients(model, inputs, targets, steps=steps, quadrature=quadrature,
                                          batch_size=32).convergence_delta.abs().mean())

    assert mean_delta("gauss-legendre", 4) < mean_delta("riemann-left", 32) / 100


# ---------------------------------------------------------------- the GPU path (skipped without one)

@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("which", ["user_model", "hf_model"])
def test_cuda_matches_cpu_fp32(which, request):
    model: LoadedModel = request.getfixturevalue(which)
    inputs = encoded(model)
    cpu_logits = predict_logits(model, inputs, batch_size=8)
    targets = cpu_logits.argmax(-1)
    cpu = integrated_gradients(model, inputs, targets)
    model.module.cuda()
    try:
        cuda_logits = predict_logits(model, inputs, batch_size=8)
        assert cuda_logits.device.type == "cuda"
        torch.testing.assert_close(cuda_logits.cpu(), cpu_logits, rtol=1e-3, atol=1e-4)
        cuda = integrated_gradients(model, inputs, targets)
        assert cuda.scores.device.type == "cuda"  # nothing moved to the CPU on the way
        torch.testing.assert_close(cuda.scores.cpu(), cpu.scores, rtol=1e-3, atol=1e-4)
        bf16 = integrated_gradients(model, inputs, targets, precision="bf16")
        real = words(inputs)
        for i in range(len(inputs)):
            assert spearman(bf16.scores[i].cpu()[real[i]], cpu.scores[i][real[i]]) >= BF16_MIN_SPEARMAN
    finally:
        model.module.cpu()
