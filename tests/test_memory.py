"""Sizes that need a GPU, tested with fakes (no GPU here): the precision a large model computes in, the refusal of
a model too large for its device before any weight loads, the per-row estimate, and a model kept in half
precision running every method (on the CPU's bf16 autocast) close to its fp32 self."""

from __future__ import annotations

import torch
from click.testing import CliRunner
from transformers import LlamaConfig

import reportgen
from reportgen.cli import main
from reportgen.loading import memory
from reportgen.methods import METHODS
from tests.test_architectures import MAX_LENGTH, TEXTS
from tests.tiny_models import make_decoder_dir

EIGHT_B = LlamaConfig(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                      num_attention_heads=32, num_key_value_heads=8, num_labels=2)
"""Llama-3-8B's shapes with a two-class head."""


def test_a_large_model_on_a_gpu_computes_in_half_precision():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    big, small = memory.HALF_PRECISION_ABOVE, memory.HALF_PRECISION_ABOVE - 1
    assert memory.computation_dtype(cuda, big, bf16_supported=True) == torch.bfloat16
    assert memory.computation_dtype(cuda, big, bf16_supported=False) == torch.float16
    assert memory.computation_dtype(cuda, small, bf16_supported=True) == torch.float32
    assert memory.computation_dtype(cpu, 100 * big) == torch.float32


def test_parameters_are_counted_from_the_config_alone():
    count = memory.parameter_count(EIGHT_B)
    assert 7.4e9 < count < 7.6e9  # 8.03 B with Llama-3's untied 128k-token LM head, which a classifier has not


def test_a_model_too_large_for_its_device_is_refused_before_its_weights_load(tmp_path, monkeypatch):
    folder = make_decoder_dir("llama", tmp_path / "llama", seed=1)
    loaded = []
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1000)  # a device with 1 kB free
    import transformers

    real = transformers.AutoModelForSequenceClassification.from_pretrained
    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained",
                        lambda *a, **k: loaded.append(a) or real(*a, **k))
    output = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--base", str(folder), "--finetuned", str(folder), "--text", "fine",
                                       "--device", "cpu", "-q", "-o", str(output)])
    message = result.output.strip()
    assert result.exit_code == 1 and not output.exists() and not loaded
    count = memory.parameter_count(transformers.AutoConfig.from_pretrained(folder))
    assert len(message.splitlines()) == 1 and "for its weights alone in float32" in message, message
    assert f"{count * 4 / 1e9:.1f} GB" in message and "0.0 GB of memory available" in message


def test_the_memory_per_row_grows_with_the_text_and_the_attention():
    short, long = memory.bytes_per_row(EIGHT_B, 128), memory.bytes_per_row(EIGHT_B, 512)
    assert long == 4 * short  # linear in tokens without attention probabilities
    attention = memory.bytes_per_row(EIGHT_B, 512, attention=True)
    assert attention - long == 32 * 2 * 32 * 512 * 512 * 4
    assert memory.bytes_per_row(EIGHT_B, 512, value_bytes=2) * 2 == long


def test_a_model_kept_in_half_precision_runs_every_method(tmp_path, monkeypatch):
    """As on a GPU for a large model: weights in bfloat16 and every pass under its autocast (here the CPU's),
    probabilities within bf16 rounding of the fp32 model's, the header saying so."""
    folder = make_decoder_dir("qwen2", tmp_path / "qwen2", seed=5)
    exact = reportgen.explain(base=folder, finetuned=folder, texts=TEXTS, method="gradient", max_length=MAX_LENGTH,
                              device="cpu", faithfulness=False, quiet=True)
    import reportgen.loading.models as models

    monkeypatch.setattr(models, "computation_dtype", lambda device, parameters: torch.bfloat16)
    half = reportgen.explain(base=folder, finetuned=folder, texts=TEXTS, method=list(METHODS), steps=16,
                             max_length=MAX_LENGTH,
                             device="cpu", faithfulness=True, quiet=True)
    for a, b in zip(exact.report.samples, half.report.samples):
        torch.testing.assert_close(torch.tensor(b.models["base"].probabilities),
                                   torch.tensor(a.models["base"].probabilities), atol=2e-2, rtol=0)
        for method in METHODS:
            assert all(torch.isfinite(torch.tensor(b.models["base"].methods[method].scores)))
    assert "weights kept in bfloat16 and computed under its autocast" in half.report.meta.models[0].note
