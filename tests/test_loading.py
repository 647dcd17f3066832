"""Loading the user's checkpoints: the same predictions as their own module, strict shapes, safe unpickling."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig

from reportgen.errors import ReportgenError
from reportgen.inference import predict_logits
from reportgen.loading.classifier import PooledBertClassifier
from reportgen.loading.inputs import encode
from reportgen.loading.models import LoadedModel, load_model
from reportgen.pipeline import ExplainOptions, Texts, explain
from tests.builders import load_user_module, make_classifier, make_encoder_dir, save_checkpoint

MAX_LENGTH = 40
TEXTS = ["this movie was great and the acting was wonderful",
         "awful plot, boring scenes and the worst ending",
         "dull",
         "it was not good. not good at all. " * 10]  # longer than MAX_LENGTH: truncated
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tokenizer(encoder_dir):
    return AutoTokenizer.from_pretrained(encoder_dir)


def load(spec: Path | str, encoder_dir: Path, pooling: str = "mean-all", role: str = "base") -> LoadedModel:
    return load_model(str(spec), role=role, encoder=str(encoder_dir), pooling=pooling, device=CPU)


@torch.no_grad()
def direct_logits(module: torch.nn.Module, tokenizer, texts: list[str], max_length: int = MAX_LENGTH,
                  padding: str | bool = "max_length") -> torch.Tensor:
    """The user's pipeline: one text at a time, `tokenizer(text, max_length, padding, truncation=True)`."""
    rows = []
    for text in texts:
        x = tokenizer(text, max_length=max_length, padding=padding, truncation=True, return_tensors="pt")
        out = module(input_ids=x["input_ids"], attention_mask=x["attention_mask"])
        rows.append((out if isinstance(out, torch.Tensor) else out.logits)[0])
    return torch.stack(rows)


def reportgen_logits(model: LoadedModel, texts: list[str], batch_size: int = 3) -> torch.Tensor:
    inputs = encode(model.tokenizer, texts, MAX_LENGTH, model.info.pads_to_max_length)
    return predict_logits(model, inputs, batch_size=batch_size)


# ---- predictions --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["base", "finetuned"])  # finetuned carries the legacy position_ids buffer
def test_checkpoint_predicts_like_the_users_module(role, checkpoints, encoder_dir, tokenizer):
    if role == "finetuned":
        assert "bert.embeddings.position_ids" in torch.load(checkpoints[role], weights_only=True)
    model = load(checkpoints[role], encoder_dir, role=role)
    assert model.info.format == "checkpoint"
    user_module = load_user_module(encoder_dir, checkpoints[role])
    for texts in (TEXTS[:3], TEXTS[3:]):  # short texts only: padding them to the longest would differ
        torch.testing.assert_close(reportgen_logits(model, texts), direct_logits(user_module, tokenizer, texts),
                                   atol=2e-5, rtol=1e-4)


def test_report_probabilities_equal_the_users_module(checkpoints, encoder_dir, tokenizer):
    """The whole pipeline (encode, predict, package) keeps the user's predictions."""
    models = {role: load(checkpoints[role], encoder_dir, role=role) for role in ("base", "finetuned")}
    report = explain(models, Texts(texts=TEXTS, indices=[None] * 4, labels=[None] * 4),
                     ExplainOptions(method="gradient", max_length=MAX_LENGTH, batch_size=2, progress=False))
    for role in models:
        want = direct_logits(load_user_module(encoder_dir, checkpoints[role]), tokenizer, TEXTS).softmax(-1)
        got = torch.tensor([s.models[role].probabilities for s in report.samples])
        torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-4)
        assert [s.models[role].predicted for s in report.samples] == want.argmax(-1).tolist()
    assert [s.truncated for s in report.samples] == [False, False, False, True]


def test_safetensors_checkpoint(checkpoints, encoder_dir, tokenizer, tmp_path):
    from safetensors.torch import save_file

    state = torch.load(checkpoints["base"], weights_only=True)
    path = tmp_path / "base.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    model = load(path, encoder_dir)
    reference = direct_logits(load_user_module(encoder_dir, checkpoints["base"]), tokenizer, TEXTS)
    torch.testing.assert_close(reportgen_logits(model, TEXTS), reference, atol=2e-5, rtol=1e-4)


def test_wrapped_state_dict_loads(checkpoints, encoder_dir, tmp_path):
    """`{"state_dict": …}` (a common training-loop format) is unwrapped."""
    path = tmp_path / "wrapped.pt"
    torch.save({"state_dict": torch.load(checkpoints["base"], weights_only=True), "epoch": 3}, path)
    torch.testing.assert_close(reportgen_logits(load(path, encoder_dir), TEXTS),
                               reportgen_logits(load(checkpoints["base"], encoder_dir), TEXTS))


def test_mean_all_pooling_depends_on_padding_and_masked_mean_does_not(encoder_dir, tokenizer, tmp_path):
    mean_all = make_classifier(encoder_dir, seed=5, pooling="mean-all")
    at_40 = direct_logits(mean_all, tokenizer, TEXTS[:3], max_length=40)
    at_64 = direct_logits(mean_all, tokenizer, TEXTS[:3], max_length=64)
    assert (at_40 - at_64).abs().max() > 1e-3, "mean over all positions must change with the padding length"

    masked = make_classifier(encoder_dir, seed=5, pooling="masked-mean")
    torch.testing.assert_close(direct_logits(masked, tokenizer, TEXTS[:3], max_length=40),
                               direct_logits(masked, tokenizer, TEXTS[:3], max_length=64), atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(direct_logits(masked, tokenizer, TEXTS[:3], padding=False),
                               direct_logits(masked, tokenizer, TEXTS[:3], max_length=64), atol=2e-5, rtol=1e-4)

    # reportgen pads mean-all models to --max-length, masked-mean ones only as far as needed
    path = save_checkpoint(masked, tmp_path / "masked.pth")
    model = load(path, encoder_dir, pooling="masked-mean")
    assert not model.info.pads_to_max_length
    assert encode(model.tokenizer, TEXTS[:3], MAX_LENGTH, False).input_ids.shape[1] < MAX_LENGTH
    torch.testing.assert_close(reportgen_logits(model, TEXTS[:3]),
                               direct_logits(masked, tokenizer, TEXTS[:3], padding=False), atol=2e-5, rtol=1e-4)


def test_head_shape_is_read_from_the_state_dict(encoder_dir, tokenizer, tmp_path):
    """A 3-class head with other widths, and a deeper one, load without any option."""
    three = make_classifier(encoder_dir, seed=6, head_width=24, num_classes=3)
    model = load(save_checkpoint(three, tmp_path / "three.pth"), encoder_dir)
    assert model.info.num_classes == 3
    assert [m.out_features for m in model.module.classifier if isinstance(m, torch.nn.Linear)] == [24, 3]
    torch.testing.assert_close(reportgen_logits(model, TEXTS), direct_logits(three, tokenizer, TEXTS),
                               atol=2e-5, rtol=1e-4)

    torch.manual_seed(7)
    config = BertConfig.from_pretrained(encoder_dir)
    deep = PooledBertClassifier(config, [config.hidden_size, 20, 12, 4]).eval()
    model = load(save_checkpoint(deep, tmp_path / "deep.pth"), encoder_dir)
    assert [m.out_features for m in model.module.classifier if isinstance(m, torch.nn.Linear)] == [20, 12, 4]
    torch.testing.assert_close(reportgen_logits(model, TEXTS), direct_logits(deep, tokenizer, TEXTS),
                               atol=2e-5, rtol=1e-4)


def test_huggingface_directory_loads_through_auto_model(hf_dir, encoder_dir, tokenizer):
    model = load(hf_dir, encoder_dir)
    assert model.info.format == "huggingface" and model.info.num_classes == 2 and model.info.sha256
    reference = AutoModelForSequenceClassification.from_pretrained(hf_dir).eval()
    torch.testing.assert_close(reportgen_logits(model, TEXTS),
                               direct_logits(reference, tokenizer, TEXTS, padding=False), atol=2e-5, rtol=1e-4)


def test_loaded_models_are_frozen_and_in_eval_mode(checkpoints, encoder_dir, hf_dir):
    for model in (load(checkpoints["base"], encoder_dir), load(hf_dir, encoder_dir)):
        assert not any(m.training for m in model.module.modules())
        assert not any(p.requires_grad for p in model.module.parameters())


# ---- errors --------------------------------------------------------------------------------------

def test_shape_mismatch_names_the_key_and_both_shapes(encoder_dir, tmp_path):
    """A checkpoint trained on a 32-wide encoder, loaded against a 48-wide encoder config."""
    wide_encoder = make_encoder_dir(tmp_path / "wide", hidden=48)
    path = save_checkpoint(make_classifier(encoder_dir, seed=1), tmp_path / "narrow.pth")
    with pytest.raises(ReportgenError) as caught:
        load(path, wide_encoder)
    message = str(caught.value)
    vocab = BertConfig.from_pretrained(encoder_dir).vocab_size
    assert "'bert.embeddings.word_embeddings.weight'" in message
    assert f"({vocab}, 32)" in message and f"({vocab}, 48)" in message
    assert str(path) in message and "\n" not in message


def test_missing_and_unexpected_keys_are_named(checkpoints, encoder_dir, tmp_path):
    state = torch.load(checkpoints["base"], weights_only=True)
    missing = {k: v for k, v in state.items() if k != "bert.encoder.layer.1.output.dense.bias"}
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(ReportgenError, match=r"'bert\.encoder\.layer\.1\.output\.dense\.bias' is missing.*\(32\)"):
        load(tmp_path / "missing.pth", encoder_dir)

    torch.save({**state, "extra.weight": torch.zeros(2, 3)}, tmp_path / "extra.pth")
    with pytest.raises(ReportgenError, match=r"unexpected key 'extra\.weight' with shape \(2, 3\)"):
        load(tmp_path / "extra.pth", encoder_dir)


@pytest.mark.parametrize("content", [[1, 2, 3], {"a": 1}, {}, torch.zeros(3)], ids=["list", "non-tensor", "empty",
                                                                                   "tensor"])
def test_not_a_state_dict(content, encoder_dir, tmp_path):
    path = tmp_path / "thing.pth"
    torch.save(content, path)
    with pytest.raises(ReportgenError, match="is not a state dict"):
        load(path, encoder_dir)


def test_corrupt_and_truncated_files(checkpoints, encoder_dir, tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00\x01 definitely not a checkpoint" * 10)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(checkpoints["base"].read_bytes()[:5000])
    bad_safetensors = tmp_path / "bad.safetensors"
    bad_safetensors.write_bytes(b"\xff" * 64)
    for path in (garbage, truncated, bad_safetensors):
        with pytest.raises(ReportgenError, match="cannot read checkpoint") as caught:
            load(path, encoder_dir)
        assert "\n" not in str(caught.value)


def test_missing_files_and_wrong_kinds(encoder_dir, tmp_path):
    with pytest.raises(ReportgenError, match="no such file"):
        load(tmp_path / "nope.pth", encoder_dir)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ReportgenError, match="expected a checkpoint"):
        load(tmp_path / "notes.txt", encoder_dir)
    with pytest.raises(ReportgenError, match="without config.json"):
        load(tmp_path, encoder_dir)


def test_unknown_pooling_and_missing_encoder(checkpoints, encoder_dir, tmp_path):
    with pytest.raises(ReportgenError, match="unknown pooling"):
        load(checkpoints["base"], encoder_dir, pooling="max")
    with pytest.raises(ReportgenError, match="cannot load encoder"):
        load(checkpoints["base"], tmp_path / "no-encoder")


class _RunsCode:
    """Unpickling this calls `exec`, which would create the marker file: a malicious checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


@pytest.mark.parametrize("wrap", [False, True], ids=["bare-object", "inside-state-dict"])
def test_pickled_code_is_refused_not_executed(wrap, checkpoints, encoder_dir, tmp_path):
    marker = tmp_path / "executed"
    evil = _RunsCode(marker)
    payload = {**torch.load(checkpoints["base"], weights_only=True), "evil": evil} if wrap else evil
    path = tmp_path / "evil.pth"
    torch.save(payload, path)
    with pytest.raises(ReportgenError, match="cannot read checkpoint"):
        load(path, encoder_dir)
    assert not marker.exists(), "loading a checkpoint executed code from its pickle"
