"""Weights stored in bfloat16 or float16 (a Hugging Face directory, a state dict, a module in memory):
every method and `scan` run on them, in fp32, exactly as on the same weights stored in fp32; the report
records the stored precision and its header says it; a module in memory is given back as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import reportgen
from reportgen.cli import main
from reportgen.loading.device import resolve_device
from reportgen.loading.models import load_model
from reportgen.loading.precision import weights_dtype
from reportgen.methods import REGISTRY
from reportgen.rendering.pieces import describe_model
from reportgen.results import ModelInfo
from reportgen.scan.reading import read_scan
from tests.builders import load_user_module, make_classifier, save_checkpoint, write_csv
from tests.tolerances import assert_close_fp32, row_magnitude

MAX_LENGTH = 32
TEXTS = ["the acting was wonderful, but the plot was boring", "awful movie, not good at all"]
HALVES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
CPU = resolve_device("cpu")


@pytest.fixture(scope="module")
def stored(hf_dir, tmp_path_factory) -> dict[str, Path]:
    """hf_dir's classifier saved in bfloat16 and in float16, and (the references) those very weights upcast
    to float32 and saved so: bfloat16/float16 → float32 is exact, so both must give the same results."""
    folder = tmp_path_factory.mktemp("precision")
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    out = {}
    for name, dtype in HALVES.items():
        model = AutoModelForSequenceClassification.from_pretrained(hf_dir).to(dtype)
        model.classifier.weight.data.mul_(8.0)  # probabilities far from uniform, in the stored precision
        for key, convert in ((name, dtype), (f"{name} as float32", torch.float32)):
            model.to(convert).save_pretrained(folder / key)
            tokenizer.save_pretrained(folder / key)
            out[key] = folder / key
    return out


def explain(base, finetuned, **options) -> reportgen.ExplainedReport:
    """Every method (or `method`), with few IG steps and Shapley orders where those methods run (their options are
    refused beside other methods alone)."""
    settings = {"texts": TEXTS, "method": list(REGISTRY), "max_length": MAX_LENGTH, "device": "cpu",
                "faithfulness": False, "quiet": True, **options}
    methods = settings["method"].split(",") if isinstance(settings["method"], str) else settings["method"]
    own = {"steps": 4} if "integrated-gradients" in methods else {}
    own |= {"shapley_samples": 2} if "shapley-sampling" in methods else {}
    return reportgen.explain(base=base, finetuned=finetuned, **own, **settings)


def logit_sizes(modules: dict[str, torch.nn.Module], tokenizer) -> dict[str, torch.Tensor]:
    """Per role, (texts,): max |logit| at each text plus at the text with no words ([CLS] [SEP]), from the
    reference modules: the size of the logits whose differences a forward-only method's scores are."""
    sizes = {}
    for role, module in modules.items():
        with torch.no_grad():
            logits = [module(**tokenizer(texts, max_length=MAX_LENGTH, padding="max_length", truncation=True,
                                         return_tensors="pt"))
                      for texts in (TEXTS, [""] * len(TEXTS))]
        sizes[role] = sum(getattr(out, "logits", out).abs().amax(dim=1) for out in logits)
    return sizes


def assert_same_results(got: reportgen.ExplainedReport, want: reportgen.ExplainedReport,
                        logits: dict[str, torch.Tensor]) -> None:
    """The same numbers within fp32 rounding of what each is made of: a gradient method's scores of Σ|score|;
    a forward-only method's (occlusion, Shapley sampling, LIME, KernelSHAP) of the logits it subtracts too
    (`logits`: `logit_sizes`): a Shapley value of 4e-5 is a mean of differences of logits ~1e-1, and on an AMD
    EPYC the upcast weights, the very same values, gave it 9.3e-9 apart (one ulp of those logits, 67 of
    Σ|score|). A lost fp32 upcast (bf16 keeps 8 bits: ~4e-3 of a logit) or a wrong weight moves them far more."""
    for n, (a, b) in enumerate(zip(got.report.samples, want.report.samples, strict=True)):
        for role in ("base", "finetuned"):
            assert_close_fp32(torch.tensor(a.models[role].probabilities), torch.tensor(b.models[role].probabilities),
                              1.0)
            assert a.models[role].methods.keys() == b.models[role].methods.keys()
            for method, result in b.models[role].methods.items():
                expected = torch.tensor(result.scores)
                scale = row_magnitude(expected) + (logits[role][n] if REGISTRY[method].needs == "forward" else 0.0)
                assert_close_fp32(torch.tensor(a.models[role].methods[method].scores), expected, scale)


def test_every_method_runs_on_half_precision_weights_as_on_the_same_weights_in_fp32(stored):
    half = explain(str(stored["bfloat16"]), str(stored["float16"]), faithfulness=True, naopc=False)
    full = explain(str(stored["bfloat16 as float32"]), str(stored["float16 as float32"]), faithfulness=True,
                   naopc=False)
    assert set(half.report.meta.methods) == set(REGISTRY)
    references = {role: AutoModelForSequenceClassification.from_pretrained(stored[name]).eval()
                  for role, name in (("base", "bfloat16 as float32"), ("finetuned", "float16 as float32"))}
    assert_same_results(half, full, logit_sizes(references, AutoTokenizer.from_pretrained(stored["float16"])))
    assert [m.weights_dtype for m in half.report.meta.models] == ["bfloat16", "float16"]
    assert [m.weights_dtype for m in full.report.meta.models] == ["float32", "float32"]
    html = half.html()
    assert "weights bfloat16, computed in fp32" in html and "weights float16, computed in fp32" in html
    assert "weights float" not in full.html()  # fp32 weights: the header says nothing new
    data = json.loads(half.report.to_json())
    assert [m["weights_dtype"] for m in data["meta"]["models"]] == ["bfloat16", "float16"]


def test_a_scan_of_half_precision_weights_predicts_as_in_fp32_and_records_them(stored, tmp_path):
    dataset = write_csv(tmp_path / "rows.csv", TEXTS * 3, [0, 1] * 3)
    scans = {}
    for kind in ("bfloat16", "bfloat16 as float32"):
        output = tmp_path / f"{kind}.json"
        result = CliRunner().invoke(main, ["scan", "--base", str(stored[kind]), "--finetuned", str(stored["float16"]),
                                           "--dataset", str(dataset), "--max-length", str(MAX_LENGTH),
                                           "--device", "cpu", "-o", str(output), "-q"])
        assert result.exit_code == 0, result.output
        scans[kind] = read_scan(output)
    half, full = scans["bfloat16"], scans["bfloat16 as float32"]
    assert [m["weights_dtype"] for m in half.meta["models"]] == ["bfloat16", "float16"]
    assert [m["weights_dtype"] for m in full.meta["models"]] == ["float32", "float16"]
    for a, b in zip(half.rows, full.rows, strict=True):
        assert (a.index, a.base_pred, a.finetuned_pred) == (b.index, b.base_pred, b.finetuned_pred)
        assert a.base_prob == pytest.approx(b.base_prob, abs=1e-5)  # the scan rounds to 6 decimals


def test_a_half_precision_state_dict_is_read_exactly_and_named(encoder_dir, tmp_path):
    module = make_classifier(encoder_dir, seed=5).to(torch.bfloat16)
    half = save_checkpoint(module, tmp_path / "half.pth")
    full = save_checkpoint(module.float(), tmp_path / "full.pth")
    loaded = {path.stem: load_model(str(path), role="base", encoder=str(encoder_dir), pooling="mean-all", device=CPU)
              for path in (half, full)}
    assert (loaded["half"].info.weights_dtype, loaded["full"].info.weights_dtype) == ("bfloat16", "float32")
    for name, parameter in loaded["full"].module.named_parameters():
        assert torch.equal(dict(loaded["half"].module.named_parameters())[name], parameter), name
    report = explain(str(half), str(full), encoder=str(encoder_dir), method="gradient,integrated-gradients")
    assert "weights bfloat16, computed in fp32" in report.html()


def test_half_precision_modules_in_memory_run_every_method_and_come_back_as_they_were(stored, checkpoints,
                                                                                      encoder_dir):
    """A notebook's bf16 module (reportgen's own kind) and fp16 Hugging Face module: every method runs, in
    fp32, and afterwards each parameter and buffer is the caller's tensor again, dtype, device and bits."""
    modules = {"base": load_user_module(encoder_dir, checkpoints["base"]).to(torch.bfloat16).train(),
               "finetuned": AutoModelForSequenceClassification.from_pretrained(stored["float16"]).to(torch.float16)}
    modules["base"].classifier[0].bias.requires_grad_(False)
    before = {role: {"training": [m.training for m in module.modules()],
                     "parameters": [(p, p.data.data_ptr(), p.dtype, p.device, p.requires_grad, p.detach().clone())
                                    for p in module.parameters()],
                     "buffers": [(name, b, b.dtype) for name, b in module.named_buffers()]}
              for role, module in modules.items()}
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    half = explain(modules["base"], modules["finetuned"], tokenizer=tokenizer)
    upcast = {role: load_user_module(encoder_dir, checkpoints["base"]).to(torch.bfloat16).float()
              if role == "base" else AutoModelForSequenceClassification.from_pretrained(stored["float16 as float32"])
              for role in modules}
    full = explain(upcast["base"], upcast["finetuned"], tokenizer=tokenizer)
    assert_same_results(half, full, logit_sizes(upcast, tokenizer))
    assert [m.weights_dtype for m in half.report.meta.models] == ["bfloat16", "float16"]
    for role, module in modules.items():
        assert [m.training for m in module.modules()] == before[role]["training"]
        for parameter, (same, pointer, dtype, device, requires_grad, values) in zip(
                module.parameters(), before[role]["parameters"], strict=True):
            assert parameter is same and parameter.data.data_ptr() == pointer
            assert (parameter.dtype, parameter.device, parameter.requires_grad) == (dtype, device, requires_grad)
            assert torch.equal(parameter.detach(), values) and parameter.grad is None
        assert [(name, b, b.dtype) for name, b in module.named_buffers()] == before[role]["buffers"]


def test_the_header_names_stored_weights_and_the_computation():
    info = ModelInfo(role="base", name="model", source="model", format="huggingface", sha256=None, encoder=None,
                     pooling=None, num_classes=2, pads_to_max_length=False)
    assert describe_model(info, "fp32") == "model · Hugging Face model"  # reports written before it was recorded
    info.weights_dtype = "float32"
    assert describe_model(info, "bf16") == "model · Hugging Face model"
    info.weights_dtype = "bfloat16"
    assert describe_model(info, "fp32") == "model · Hugging Face model · weights bfloat16, computed in fp32"
    assert describe_model(info, "fp16").endswith("weights bfloat16, computed in fp32 with fp16 autocast")


def test_the_stored_precision_is_the_one_holding_most_weights():
    tensors = [torch.zeros(10, dtype=torch.bfloat16), torch.zeros(3), torch.zeros(50, dtype=torch.long)]
    assert weights_dtype(tensors) == "bfloat16"  # a LayerNorm kept in fp32 does not rename the model
    assert weights_dtype([torch.zeros(2, dtype=torch.float16)]) == "float16"
    assert weights_dtype([torch.zeros(4, dtype=torch.long)]) == "float32"


def test_one_half_precision_module_as_both_models_is_named_alike(checkpoints, encoder_dir):
    """Preparing the module for one role upcasts it in place: the other role still names what the caller gave."""
    module = load_user_module(encoder_dir, checkpoints["base"]).to(torch.bfloat16)
    report = explain(module, module, tokenizer=AutoTokenizer.from_pretrained(encoder_dir), method="gradient")
    base, finetuned = report.report.meta.models
    assert (base.weights_dtype, finetuned.weights_dtype) == ("bfloat16", "bfloat16")
    assert base.sha256 == finetuned.sha256
    assert all(p.dtype == torch.bfloat16 for p in module.parameters())
