"""Loading the user's checkpoints: the same predictions as their own module, strict shapes, safe unpickling."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

import huggingface_hub
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig

from reportgen.errors import ReportgenError
from reportgen.inference import predict_logits
from reportgen.loading import hub
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
                     ExplainOptions(methods=("gradient",), max_length=MAX_LENGTH, batch_size=2, progress=False))
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


def test_progress_false_silences_the_loading_weights_bar(hf_dir, capfd):
    """-q: transformers' own "Loading weights" bar stays off, and is on again afterwards."""
    from transformers.utils import logging

    load_model(str(hf_dir), role="base", encoder="unused", pooling="mean-all", device=torch.device("cpu"),
               progress=False)
    assert "Loading weights" not in capfd.readouterr().err
    assert logging.is_progress_bar_enabled()
    load_model(str(hf_dir), role="base", encoder="unused", pooling="mean-all", device=torch.device("cpu"))
    assert "Loading weights" in capfd.readouterr().err


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


def _edit(state: dict[str, torch.Tensor], drop: tuple[str, ...] = (),
          add: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The state dict without the keys in `drop`, with the tensors in `add` set."""
    return {**{k: v for k, v in state.items() if k not in drop}, **(add or {})}


@pytest.mark.parametrize("drop, add, key, problem", [
    (("classifier.3.weight",), None, "classifier.3.weight", r"is missing from the checkpoint \(the model expects "
                                                            r"shape \(2, 16\)\)"),
    (("classifier.3.bias",), None, "classifier.3.bias", r"is missing from the checkpoint \(the model expects "
                                                        r"shape \(2\)\)"),
    (("classifier.0.weight",), None, "classifier.0.weight", r"is missing .*\(16, 32\)"),
    (("bert.encoder.layer.1.output.dense.bias",), None, "bert.encoder.layer.1.output.dense.bias",
     r"is missing .*\(32\)"),
    ((), {"extra.weight": torch.zeros(2, 3)}, "extra.weight", r"with shape \(2, 3\)"),
    ((), {"classifier.3.weight": torch.zeros(2, 17)}, "classifier.3.weight",
     r"has shape \(2, 17\) in the checkpoint but \(2, 16\) in the model"),
    ((), {"classifier.3.bias": torch.zeros(3)}, "classifier.3.bias", r"has shape \(3\) in the checkpoint but \(2\)"),
    ((), {"classifier.0.weight": torch.zeros(16, 33)}, "classifier.0.weight",
     r"has shape \(16, 33\) in the checkpoint but \(16, 32\)"),  # the head must fit the encoder's hidden size
], ids=["missing-weight", "missing-bias", "missing-first-weight", "missing-encoder-key", "extra-key",
        "wrong-weight-shape", "wrong-bias-shape", "wrong-input-width"])
def test_mismatched_key_is_named_exactly(drop, add, key, problem, checkpoints, encoder_dir, tmp_path):
    """The message names the key that is really wrong (first quoted), says how, and fits on one line."""
    path = tmp_path / "broken.pth"
    torch.save(_edit(torch.load(checkpoints["base"], weights_only=True), drop, add), path)
    with pytest.raises(ReportgenError) as caught:
        load(path, encoder_dir)
    message = str(caught.value)
    assert re.search(r"'([^']+)'", message).group(1) == key, message
    kind = "unexpected key" if key == "extra.weight" else "key"
    assert re.search(f"{kind} '{re.escape(key)}' {problem}", message), message
    assert str(path) in message and "\n" not in message


def test_a_missing_head_layer_is_named_not_read_as_a_shallower_head(encoder_dir, tmp_path):
    """A 3-layer head without one of its tensors, or a whole layer, is an error naming the first missing key."""
    torch.manual_seed(7)
    config = BertConfig.from_pretrained(encoder_dir)
    state = PooledBertClassifier(config, [config.hidden_size, 20, 12, 4]).state_dict()
    for drop, key in [(("classifier.3.weight", "classifier.3.bias"), "classifier.3.weight"),
                      (("classifier.6.weight",), "classifier.6.weight"),
                      (("classifier.0.weight", "classifier.0.bias"), "classifier.0.weight")]:
        torch.save(_edit(state, drop), tmp_path / "deep.pth")
        with pytest.raises(ReportgenError, match=f"key '{re.escape(key)}' is missing from the checkpoint"):
            load(tmp_path / "deep.pth", encoder_dir)


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


# ---- the hub without network --------------------------------------------------------------------

T = TypeVar("T")
RETRIES_S = 15.0
"""How long the fake hub loaders below retry an online look-up (the real ones: about 27 s without network)."""
FAST_S = hub.PROBE_TIMEOUT_S + 2.0
"""What "at once" means for an error about an unreachable hub, with slack for a busy CPU."""


def closed_loopback_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlowHubLoader:
    """A hub loader (`from_pretrained`, `load_dataset`) on a machine without network: an online look-up
    retries for RETRIES_S before it fails, a cache-only one (`local_files_only=True`) fails at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def from_pretrained(self, spec: str, *args, local_files_only: bool = False, **kwargs):
        self.calls.append((str(spec), local_files_only))
        if not local_files_only:
            time.sleep(RETRIES_S)
        raise OSError(f"couldn't connect to the hub to load '{spec}', and couldn't find it in the cached files")

    def load_dataset(self, path: str, *args, **kwargs):
        return self.from_pretrained(path)


def _fresh_probe(value: T) -> Iterator[T]:
    """Forget the probe's verdicts before and after a test: a port number can come back in another test."""
    answers = hub._answers  # the cached function itself, even where a test replaces it
    answers.cache_clear()
    yield value
    answers.cache_clear()


@pytest.fixture()
def unreachable_hub(monkeypatch) -> Iterator[SlowHubLoader]:
    """No offline variable set, the hub endpoint a closed port on 127.0.0.1, and slow hub loaders in place
    of the real ones (which stay in offline mode too): nothing leaves this machine."""
    import datasets
    import transformers

    for variable in hub.OFFLINE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{closed_loopback_port()}")
    loader = SlowHubLoader()
    for name in ("AutoConfig", "AutoTokenizer", "AutoModelForSequenceClassification"):
        monkeypatch.setattr(transformers, name, loader)
    monkeypatch.setattr(datasets, "load_dataset", loader.load_dataset)
    yield from _fresh_probe(loader)


def assert_fails_fast_naming(call, spec: str, local_hint: str, loader: SlowHubLoader) -> None:
    """The error comes at once, names `spec`, says the hub is unavailable and to pass a local path."""
    started = time.monotonic()
    with pytest.raises(ReportgenError) as caught:
        call()
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert elapsed < FAST_S, f"took {elapsed:.1f} s: {message}"
    assert f"'{spec}'" in message and "hub is unavailable" in message and local_hint in message, message
    assert "\n" not in message
    assert all(local_only for _, local_only in loader.calls), loader.calls  # never an online look-up


@pytest.mark.parametrize("offline_variable", [None, "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_hub_model_id_without_network_fails_at_once(offline_variable, unreachable_hub, encoder_dir, monkeypatch):
    if offline_variable:
        monkeypatch.setenv(offline_variable, "1")
    assert_fails_fast_naming(lambda: load("some-org/some-model", encoder_dir), "some-org/some-model",
                             "pass base= a local checkpoint file", unreachable_hub)
    assert unreachable_hub.calls == [("some-org/some-model", True)]


def test_hub_encoder_id_without_network_fails_at_once(unreachable_hub, checkpoints):
    assert_fails_fast_naming(lambda: load(checkpoints["base"], "some-org/some-encoder"), "some-org/some-encoder",
                             "pass encoder= a local model directory", unreachable_hub)


def test_local_paths_never_ask_the_hub(checkpoints, encoder_dir, hf_dir, monkeypatch):
    for variable in hub.OFFLINE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(hub, "_answers", lambda endpoint: pytest.fail("probed the hub for a local path"))
    assert load(checkpoints["base"], encoder_dir).info.format == "checkpoint"
    assert load(hf_dir, encoder_dir).info.format == "huggingface"


@pytest.fixture()
def probe_loopback(monkeypatch) -> Iterator[None]:
    """Only the probe talks HTTP in these tests, and only to 127.0.0.1: let huggingface_hub's session send it."""
    for variable in hub.OFFLINE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    yield from _fresh_probe(None)


class _Answers(BaseHTTPRequestHandler):
    heads = 0

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).heads += 1
        self.send_response(404)  # any answer means the hub is up
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_probe_of_a_closed_port_says_unavailable_at_once(probe_loopback, monkeypatch):
    endpoint = f"http://127.0.0.1:{closed_loopback_port()}"
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", endpoint)
    started = time.monotonic()
    assert hub.hub_unavailable() == f"no answer from {endpoint} within {hub.PROBE_TIMEOUT_S:g} s"
    assert time.monotonic() - started < FAST_S


def test_probe_of_an_answering_endpoint_says_available_once_per_process(probe_loopback, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        assert hub.hub_unavailable() is None and hub.hub_unavailable() is None
        assert _Answers.heads == 1
    finally:
        server.shutdown()
        server.server_close()


def test_a_hanging_probe_is_cut_off(probe_loopback, monkeypatch):
    """A DNS look-up that hangs (no httpx timeout covers it) still costs only PROBE_TIMEOUT_S."""
    monkeypatch.setattr(hub, "PROBE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(hub, "_head", lambda endpoint: time.sleep(5) or True)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9/hanging")
    started = time.monotonic()
    assert hub.hub_unavailable() is not None
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("variable", hub.OFFLINE_VARIABLES)
def test_an_offline_variable_means_unavailable_without_a_probe(variable, probe_loopback, monkeypatch):
    monkeypatch.setattr(hub, "_answers", lambda endpoint: pytest.fail("probed the hub although offline"))
    monkeypatch.setenv(variable, "1")
    assert hub.hub_unavailable() == f"{variable} is set" and hub.offline_variable() == variable
