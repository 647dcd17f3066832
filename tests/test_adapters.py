"""PEFT adapters as either model: a LoRA adapter (with its own classification head) on a tiny BERT and on a tiny
Llama, both columns through every method, equal to the PEFT model called directly; the header's facts; the
caller's in-memory PeftModel given back unchanged; and the three refusals (no peft, a base that cannot be
found offline, an adapter for another base), each one line with nothing written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import reportgen
from reportgen.cli import main
from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.model_options import ModelOptions
from reportgen.loading.models import load_model
from reportgen.methods import METHODS
from tests.test_architectures import MAX_LENGTH, TEXTS, check_every_method, from_folder
from tests.tiny_models import make_architecture_dir, make_decoder_dir

TARGETS = {"bert": ["query", "value"], "llama": ["q_proj", "v_proj"]}


def make_adapter(base: Path, folder: Path, targets: list[str], seed: int, rank: int = 4) -> Path:
    """A LoRA adapter of `rank` on `targets` with the head trained beside it (`modules_to_save`), its weights
    random (LoRA's B starts at zero, which would make the adapter a no-op), saved in `folder`."""
    model = AutoModelForSequenceClassification.from_pretrained(base)
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=rank, lora_alpha=2 * rank,
                                                  target_modules=targets))
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in peft_model.parameters():
            if parameter.requires_grad:  # LoRA A and B, and the head's copy
                parameter.normal_(0.0, 0.3)
    peft_model.save_pretrained(folder)
    return folder


def adapted(base: Path, adapter: Path):
    """The PEFT model as its documentation loads it: the base model, then the adapter on it."""
    return lambda **options: PeftModel.from_pretrained(
        AutoModelForSequenceClassification.from_pretrained(base, **options), adapter)


@pytest.mark.parametrize("architecture", ["bert", "llama"])
def test_a_lora_adapter_is_the_model_with_its_adapter(architecture, tmp_path):
    make = make_decoder_dir if architecture == "llama" else make_architecture_dir
    base = make(architecture, tmp_path / architecture, seed=7)
    adapter = make_adapter(base, tmp_path / "lora", TARGETS[architecture], seed=3)
    explained = reportgen.explain(base=base, finetuned=adapter, texts=TEXTS, method=list(METHODS),
                                  max_length=MAX_LENGTH, device="cpu", faithfulness=False, quiet=True)
    check_every_method(base, explained, references={"base": from_folder(base),
                                                    "finetuned": adapted(base, adapter)})
    for sample in explained.report.samples:  # the adapter changes the model: the columns differ
        assert sample.models["base"].probabilities != sample.models["finetuned"].probabilities
    base_info, tuned = explained.report.meta.models
    targets = ", ".join(sorted(TARGETS[architecture]))
    head = "score" if architecture == "llama" else "classifier"
    assert (f"LoRA adapter (rank 4, alpha 8, on {targets}, head {head} saved with the adapter) on base model "
            f"{architecture}") in tuned.note
    assert base_info.note is None or "adapter" not in base_info.note
    assert tuned.sha256 and tuned.sha256 != base_info.sha256


def test_the_hash_covers_the_adapter_weights(tmp_path):
    base = make_architecture_dir("bert", tmp_path / "bert", seed=7)
    one = make_adapter(base, tmp_path / "one", TARGETS["bert"], seed=1)
    two = make_adapter(base, tmp_path / "two", TARGETS["bert"], seed=2)
    explained = reportgen.explain(base=one, finetuned=two, texts=TEXTS[:1], method="gradient", max_length=MAX_LENGTH,
                                  device="cpu", faithfulness=False, quiet=True)
    first, second = explained.report.meta.models
    assert first.sha256 != second.sha256 and "LoRA adapter" in first.note and "LoRA adapter" in second.note


def test_adapter_base_finds_the_base_offline(tmp_path, monkeypatch):
    """The adapter names a base that is not here (a hub id, offline): --adapter-base gives a local copy."""
    base = make_architecture_dir("bert", tmp_path / "bert", seed=7)
    adapter = make_adapter(base, tmp_path / "lora", TARGETS["bert"], seed=3)
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "org/tiny-bert"}))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    output = tmp_path / "report.html"
    runner = CliRunner()
    common = ["report", "--base", str(base), "--finetuned", str(adapter), "--text", TEXTS[0], "--device", "cpu",
              "--method", "gradient", "--no-faithfulness", "-q", "-o", str(output)]
    refused = runner.invoke(main, common)
    assert refused.exit_code == 1 and not output.exists()
    message = refused.output.strip()
    assert len(message.splitlines()) == 1 and "org/tiny-bert" in message and "--adapter-base" in message, message
    done = runner.invoke(main, [*common, "--adapter-base", str(base)])
    assert done.exit_code == 0, done.output
    assert "LoRA adapter" in output.read_text()


def test_an_adapter_for_another_base_is_refused(tmp_path):
    other = make_architecture_dir("bert", tmp_path / "bert", seed=7)
    wider = tmp_path / "wide"
    from transformers import BertConfig, BertForSequenceClassification

    from tests.tiny_models import save_model, wordpiece_tokenizer

    tokenizer = wordpiece_tokenizer(wider)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, num_labels=2, pad_token_id=tokenizer.pad_token_id)
    save_model(BertForSequenceClassification(config), tokenizer, wider)
    adapter = make_adapter(other, tmp_path / "lora", TARGETS["bert"], seed=3)
    output = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--base", str(other), "--finetuned", str(adapter), "--adapter-base",
                                       str(wider), "--text", TEXTS[0], "--device", "cpu", "--method", "gradient",
                                       "--no-faithfulness", "-q", "-o", str(output)])
    message = result.output.strip()
    assert result.exit_code == 1 and not output.exists()
    assert len(message.splitlines()) == 1 and "does not fit its base model" in message and "size mismatch" in message
    assert "--adapter-base" in message, message


def test_without_peft_one_line_says_what_to_install(tmp_path, monkeypatch):
    base = make_architecture_dir("bert", tmp_path / "bert", seed=7)
    adapter = make_adapter(base, tmp_path / "lora", TARGETS["bert"], seed=3)
    monkeypatch.setitem(sys.modules, "peft", None)  # `import peft` now raises ImportError
    output = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--base", str(base), "--finetuned", str(adapter), "--text",
                                       TEXTS[0], "--device", "cpu", "-q", "-o", str(output)])
    message = result.output.strip()
    assert result.exit_code == 1 and not output.exists()
    assert len(message.splitlines()) == 1 and 'pip install "reportgen-saliency[peft]"' in message, message
    with pytest.raises(ReportgenError, match="peft"):
        reportgen.explain(base=base, finetuned=adapter, texts=TEXTS[:1], device="cpu", quiet=True)


def test_an_in_memory_peft_model_is_given_back_unchanged(tmp_path):
    """The API's PeftModel is used as it is (adapter applied, header facts from its config) and given back with its
    own training mode, trainable LoRA parameters and tensors."""
    base = make_decoder_dir("llama", tmp_path / "llama", seed=7)
    model = get_peft_model(AutoModelForSequenceClassification.from_pretrained(base),
                           LoraConfig(task_type="SEQ_CLS", r=2, lora_alpha=4, target_modules=TARGETS["llama"]))
    model.train()
    before = {name: (p.data_ptr(), p.dtype, p.requires_grad, p.detach().clone())
              for name, p in model.named_parameters()}

    explained = reportgen.explain(base=base, finetuned=model, tokenizer=AutoTokenizer.from_pretrained(base),
                                  texts=TEXTS, method="gradient", max_length=MAX_LENGTH, device="cpu",
                                  faithfulness=False, quiet=True)
    assert model.training
    for name, p in model.named_parameters():
        pointer, dtype, grad, values = before[name]
        assert (p.data_ptr(), p.dtype, p.requires_grad) == (pointer, dtype, grad) and torch.equal(p, values), name
    assert "LoRA adapter (rank 2, alpha 4, on q_proj, v_proj, head score trained with the adapter)" in \
        explained.report.meta.models[1].note
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    with torch.no_grad():
        direct = torch.cat([model(**tokenizer(t, return_tensors="pt")).logits for t in TEXTS]).softmax(-1)
    for sample, expected in zip(explained.report.samples, direct):
        torch.testing.assert_close(torch.tensor(sample.models["finetuned"].probabilities), expected, atol=1e-5,
                                   rtol=1e-4)


def test_an_adapter_on_a_language_model_checkpoint_brings_its_head(tmp_path):
    """The usual LoRA classifier: trained on a causal LM checkpoint, its `score` head saved with the adapter. The
    adapter runs with that head; an adapter without a saved head on that checkpoint is refused in one line."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.tiny_models import save_model, sentencepiece_tokenizer, tiny_config

    tokenizer = sentencepiece_tokenizer(tmp_path / "lm")
    torch.manual_seed(0)
    lm = save_model(LlamaForCausalLM(tiny_config(LlamaConfig, tokenizer, num_key_value_heads=2)), tokenizer,
                    tmp_path / "lm")
    adapter = make_adapter(lm, tmp_path / "lora", TARGETS["llama"], seed=4)
    torch.manual_seed(1)  # the base's random head that PEFT replaces: a different draw must not matter
    explained = reportgen.explain(base=adapter, finetuned=adapter, texts=TEXTS, method="gradient",
                                  max_length=MAX_LENGTH, device="cpu", faithfulness=False, quiet=True)
    peft_model = adapted(lm, adapter)().eval()
    with torch.no_grad():
        direct = torch.cat([peft_model(**tokenizer(t, return_tensors="pt")).logits for t in TEXTS]).softmax(-1)
    for sample, expected in zip(explained.report.samples, direct):
        torch.testing.assert_close(torch.tensor(sample.models["finetuned"].probabilities), expected, atol=1e-5,
                                   rtol=1e-4)
    # An adapter that saves no head, on that checkpoint, would run a random head: refused in one line.
    headless = get_peft_model(AutoModelForSequenceClassification.from_pretrained(lm),
                              LoraConfig(r=2, lora_alpha=4, target_modules=TARGETS["llama"]))
    headless.save_pretrained(tmp_path / "headless")
    output = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--base", str(adapter), "--finetuned", str(tmp_path / "headless"),
                                       "--text", TEXTS[0], "--device", "cpu", "-q", "-o", str(output)])
    message = result.output.strip()
    assert result.exit_code == 1 and not output.exists()
    assert len(message.splitlines()) == 1 and "saves no classification head" in message and "score.weight" in message, \
        message


def test_a_corpus_example_command_repeats_adapter_base():
    """A corpus page's `reportgen report` command for a row loads the same models: --adapter-base included."""
    from types import SimpleNamespace

    from reportgen.api import ModelSpec
    from reportgen.commands.corpus import report_command
    from reportgen.corpus.run import CorpusOptions

    rows = SimpleNamespace(name="reviews.csv", split=None, text_column="text", label_column="label", class_names=None,
                           rationale_column=None)
    command = report_command(ModelSpec("base", "lora", adapter_base="/models/llama"), rows, CorpusOptions(),
                             include_paths=True)
    assert "--finetuned lora " in command and " --adapter-base /models/llama " in command


def refusal(arguments: list[str], output: Path) -> str:
    """`reportgen report` with `arguments`: it must fail in one line and write nothing; the line."""
    result = CliRunner().invoke(main, ["report", *arguments, "--text", TEXTS[0], "--device", "cpu", "--method",
                                       "gradient", "--no-faithfulness", "-q", "-o", str(output)])
    message = result.output.strip()
    assert result.exit_code == 1 and not output.exists() and len(message.splitlines()) == 1, result.output
    return message


@pytest.mark.parametrize("weights", ["adapter_model.safetensors", "adapter_model.bin"])
def test_an_adapter_folder_without_its_weights_is_refused_before_any_model_loads(weights, tmp_path):
    """PEFT would look for the missing weights file on the hub and fail with a network error; the folder is
    judged first, torch-free (`ModelOptions.check`), and again where an adapter loads (`load_model`)."""
    base = make_architecture_dir("bert", tmp_path / "bert", seed=7)
    adapter = make_adapter(base, tmp_path / "lora", TARGETS["bert"], seed=3)
    if weights == "adapter_model.bin":  # a folder saved with safe_serialization=False: its .bin is the one missing
        (adapter / "adapter_model.safetensors").rename(adapter / weights)
    (adapter / weights).unlink()
    expected = f"Error: {adapter} has no adapter_model.safetensors (or adapter_model.bin)"
    for role in ("--base", "--finetuned"):
        other = "--finetuned" if role == "--base" else "--base"
        assert refusal([role, str(adapter), other, str(base)], tmp_path / "report.html").startswith(expected)
    with pytest.raises(ReportgenError, match="has no adapter_model.safetensors"):
        ModelOptions(base=str(base), finetuned=str(adapter)).check()
    with pytest.raises(ReportgenError, match="has no adapter_model.safetensors"):
        load_model(str(adapter), role="finetuned", encoder="", pooling="mean-all", device=torch.device("cpu"))


def test_adapter_base_that_is_not_there_is_refused_before_any_model_loads(tmp_path):
    base = make_architecture_dir("bert", tmp_path / "bert", seed=7)
    adapter = make_adapter(base, tmp_path / "lora", TARGETS["bert"], seed=3)
    missing = str(tmp_path / "nonexistent" / "dir")
    message = refusal(["--base", str(base), "--finetuned", str(adapter), "--adapter-base", missing],
                      tmp_path / "report.html")
    assert message == f"Error: --adapter-base: no such file: {missing}", message
    with pytest.raises(OptionError, match="adapter_base=: no such file"):
        ModelOptions(base=str(base), finetuned=str(adapter), adapter_base=missing).check()
    ModelOptions(base=str(base), finetuned=str(adapter), adapter_base="org/tiny-bert").check()  # a hub id: at load


def test_adapter_base_without_an_adapter_folder_is_a_mistake(tmp_path):
    """--adapter-base names the base of an adapter folder; given when neither model is one, it would be ignored."""
    base = make_architecture_dir("bert", tmp_path / "bert", seed=7)
    for adapter_base in (str(base), "org/tiny-bert", str(tmp_path / "nonexistent")):
        message = refusal(["--base", str(base), "--finetuned", str(base), "--adapter-base", adapter_base],
                          tmp_path / "report.html")
        assert "neither --base nor --finetuned is one" in message and "leave --adapter-base out" in message, message
    with pytest.raises(OptionError, match="neither base= nor finetuned= is one"):
        ModelOptions(base=str(base), finetuned="org/tiny-bert", adapter_base=str(base)).check()
    model = AutoModelForSequenceClassification.from_pretrained(base)  # a module in memory is no adapter folder
    with pytest.raises(OptionError, match="neither base= nor finetuned= is one"):
        ModelOptions(base=model, finetuned=str(base), adapter_base=str(base)).check()
