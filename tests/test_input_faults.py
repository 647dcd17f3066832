"""Faults a new user meets with other models and awkward data: RoBERTa's position limit, labels the
models lack, byte-level whitespace tokens, a scan that fails, modules in memory, DeBERTa-v2,
DataParallel checkpoints, missing texts and texts that tokenize to nothing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result
from transformers import AutoTokenizer

import reportgen
from reportgen.choices import DEFAULT_TOLERANCE, FIXED_STEPS_DELTA, allowed_delta
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.loading.device import resolve_device
from reportgen.loading.inputs import encode
from reportgen.loading.models import load_model
from reportgen.rendering.views.report import build_view
from reportgen.results import Word
from reportgen.words import group_words, word_scores
from tests.builders import load_user_module, random_texts, write_csv
from tests.tiny_models import direct_probabilities, make_architecture_dir

CPU = resolve_device("cpu")
WHITESPACE_TEXTS = ["good  acting ", "the plot\nwas dull\n\nbut the music was great  ", "  i loved it"]


@pytest.fixture(scope="module")
def roberta(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("roberta")
    return {role: make_architecture_dir("roberta", folder / role, seed)
            for role, seed in (("base", 11), ("finetuned", 12))}


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rows")
    texts = random_texts(6, seed=4)
    return {"bad_label": write_csv(folder / "bad-label.csv", texts, [0, 1, 5, 0, 1, 0]),
            "missing_text": write_csv(folder / "missing-text.csv", texts[:2] + [""] + texts[3:], [0, 1, 0, 1, 0, 1])}


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, [*args, "--device", "cpu", "-q"])


def assert_refused(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, (AttributeError, IndexError,
                                                                                     RuntimeError, KeyError))
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and expected in errors[0], result.output


def pair(models: dict[str, Path]) -> list[str]:
    return ["--base", str(models["base"]), "--finetuned", str(models["finetuned"])]


def checkpoint_pair(checkpoints, encoder_dir) -> list[str]:
    return [*pair(checkpoints), "--encoder", str(encoder_dir)]


# ---- 1. positions that start after the padding index ---------------------------------------------

def test_roberta_takes_max_position_embeddings_minus_padding_index_minus_one(roberta, tmp_path):
    model = load_model(str(roberta["base"]), role="base", encoder="", pooling="mean-all", device=CPU)
    assert model.module.config.max_position_embeddings == 66 and model.module.config.pad_token_id == 1
    assert model.max_positions == 64
    long_text = "the acting was good and the plot was not " * 20  # far beyond 64 tokens
    for command, extra in (("report", ["--text", long_text]), ("scan", ["--dataset", str(write_csv(
            tmp_path / "long.csv", [long_text, "good"], [1, 0]))])):
        output = tmp_path / f"{command}-66.csv" if command == "scan" else tmp_path / "report-66.html"
        refused = invoke([command, *pair(roberta), *extra, "--max-length", "66", "-o", str(output)])
        assert_refused(refused, "use --max-length 64 or less")
        assert list(tmp_path.glob(f"{output.name}*")) == []
        advice = invoke([command, *pair(roberta), *extra, "--max-length", "100", "-o", str(output)])
        assert_refused(advice, "use --max-length 64 or less")
    json_path = tmp_path / "at-64.json"
    fits = invoke(["report", *pair(roberta), "--text", long_text, "--max-length", "64", "--method", "gradient",
                   "-o", str(tmp_path / "at-64.html"), "--json", str(json_path)])
    assert fits.exit_code == 0, fits.output
    sample = json.loads(json_path.read_text(encoding="utf-8"))["samples"][0]
    assert len(sample["tokens"]) == 64 and sample["truncated"]
    torch.testing.assert_close(torch.tensor(sample["models"]["base"]["probabilities"]),
                               direct_probabilities(roberta["base"], [long_text], 64)[0], atol=1e-5, rtol=1e-4)


# ---- 2, 4 and 8. labels the models lack, missing texts; a refused scan writes nothing ------------

@pytest.mark.parametrize("data, expected", [("bad_label", "row 2 has label 5, but the models have 2 classes"),
                                            ("missing_text", "row 2 has no text")])
def test_a_bad_row_is_refused_by_every_command_before_any_file(data, expected, checkpoints, encoder_dir, rows,
                                                               tmp_path):
    """A label the models lack would be explained as a class that does not exist; a missing text (an empty
    CSV cell) is not an empty review. Both stop every command with the row named, and nothing written:
    no file, and no folder (the corpus's -scores folder, a missing output folder) made to check writability."""
    models = [*checkpoint_pair(checkpoints, encoder_dir), "--dataset", str(rows[data]), "--max-length", "32"]
    assert_refused(invoke(["report", *models, "--indices", "1-3", "-o", str(tmp_path / "new" / "r.html")]), expected)
    assert_refused(invoke(["corpus", *models, "-o", str(tmp_path / "c.html")]), expected)
    assert_refused(invoke(["corpus", *models, "-o", str(tmp_path / "new" / "deeper" / "c.html")]), expected)
    for suffix in (".csv", ".json", ".parquet"):
        assert_refused(invoke(["scan", *models, "-o", str(tmp_path / "new" / f"s{suffix}")]), expected)
    assert list(tmp_path.rglob("*")) == []
    fine = invoke(["report", *models, "--indices", "0,1", "-o", str(tmp_path / "fine.html")])
    assert fine.exit_code == 0, fine.output  # the other rows still work


def test_a_scan_that_fails_midway_removes_the_files_it_started(checkpoints, encoder_dir, tmp_path):
    """Row 70 (in the second window of 64 rows, after the first rows were written) tokenizes to nothing."""
    texts = random_texts(80, seed=5)
    texts[70] = "\ufffd" * 50  # BERT's tokenizer drops U+FFFD
    data = write_csv(tmp_path / "late.csv", texts, [i % 2 for i in range(80)])
    for suffix in (".csv", ".json"):
        output = tmp_path / f"out{suffix}"
        result = invoke(["scan", *checkpoint_pair(checkpoints, encoder_dir), "--dataset", str(data),
                         "--max-length", "32", "--batch-size", "4", "-o", str(output)])
        assert_refused(result, "row 70 has 50 characters but the tokenizer turns them into no tokens")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["late.csv"]


def test_a_scan_that_fails_keeps_a_file_it_resumed(checkpoints, encoder_dir, tmp_path):
    texts = random_texts(8, seed=6)
    data = write_csv(tmp_path / "rows.csv", texts, [i % 2 for i in range(8)])
    output = tmp_path / "scan.csv"
    args = ["scan", *checkpoint_pair(checkpoints, encoder_dir), "--dataset", str(data), "--max-length", "32",
            "-o", str(output)]
    assert invoke([*args, "--limit", "4"]).exit_code == 0
    before = output.read_text(encoding="utf-8")
    texts[6] = "\ufffd"
    write_csv(data, texts, [i % 2 for i in range(8)])
    assert_refused(invoke(args), "row 6 has 1 character but")
    assert output.read_text(encoding="utf-8").startswith(before)


# ---- 3. byte-level whitespace tokens are not words -----------------------------------------------

def test_byte_level_whitespace_tokens_join_a_word(roberta, tmp_path):
    json_path, html_path = tmp_path / "ws.json", tmp_path / "ws.html"
    result = invoke(["report", *pair(roberta), *[a for t in WHITESPACE_TEXTS for a in ("--text", t)],
                     "--max-length", "64", "--method", "gradient-x-input,integrated-gradients", "--steps", "16",
                     "-o", str(html_path), "--json", str(json_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(json_path.read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(roberta["base"])
    sentences = reportgen.ExplainedReport.load(json_path).sentences()
    for sample, text, sentence in zip(report["samples"], WHITESPACE_TEXTS, sentences, strict=True):
        assert any(t in ("Ġ", "Ċ", "ĠĠ") for t in sample["tokens"])  # the fault's tokens are there…
        words = sample["words"]
        assert [w["text"] for w in words if w["start"] is not None] == text.split()  # …but no word is blank
        assert [w["text"] for w in words if w["start"] is None] == [tokenizer.cls_token, tokenizer.sep_token]
        covered = [i for w in words for i in range(w["first_token"], w["last_token"])]
        assert covered == list(range(len(sample["tokens"])))  # every token in exactly one word, in order
        for model in sample["models"].values():
            for method in model["methods"].values():
                scores = method["scores"]
                total = word_scores([Word(**w) for w in words], scores)
                assert math.fsum(total) == pytest.approx(math.fsum(scores), rel=1e-9,
                                                         abs=1e-9 * math.fsum(abs(s) for s in scores))
        assert "Ġ" not in sentence and "Ċ" not in sentence
    html = html_path.read_text(encoding="utf-8")
    assert "Ġ (" not in html and "*Ġ*" not in html
    blank = encode(tokenizer, ["   "], 16, False)  # whitespace alone: no word to join, so one empty word
    words = group_words(blank.word_ids[0], blank.offsets[0], "   ", blank.tokens(tokenizer)[0])
    n = len(blank.word_ids[0])
    assert n > 2 and [(w.text, w.first_token, w.last_token) for w in words] == [
        ("<s>", 0, 1), ("", 1, n - 1), ("</s>", n - 1, n)]


# ---- 5. modules in memory are the caller's -------------------------------------------------------

def test_explain_leaves_modules_in_memory_as_it_found_them(checkpoints, encoder_dir):
    modules = {role: load_user_module(encoder_dir, checkpoints[role]).train() for role in ("base", "finetuned")}
    modules["base"].classifier[0].bias.requires_grad_(False)  # one frozen tensor, as a user may have
    before = {role: ([m.training for m in module.modules()], [p.requires_grad for p in module.parameters()])
              for role, module in modules.items()}
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    reportgen.explain(base=modules["base"], finetuned=modules["finetuned"], tokenizer=tokenizer,
                      texts=["a good film"], method="gradient,integrated-gradients", steps=4, max_length=16,
                      device="cpu", faithfulness=False, quiet=True)
    with pytest.raises(ReportgenError):  # a failed run restores them too
        reportgen.explain(base=modules["base"], finetuned=modules["finetuned"], tokenizer=tokenizer,
                          texts=["a good film"], target="7", max_length=16, device="cpu", quiet=True)
    for role, module in modules.items():
        assert ([m.training for m in module.modules()], [p.requires_grad for p in module.parameters()]) == before[role]
        assert all(p.grad is None for p in module.parameters())


# ---- 6. DeBERTa-v2/v3, and load errors that name their cause --------------------------------------

def test_deberta_v2_loads_on_the_attention_it_supports(tmp_path):
    """DeBERTa has no SDPA in transformers: it runs on eager attention and predicts like a direct call. Its
    embedding LayerNorm jumps near the all-padding baseline, so IG may miss its tolerance: then every model
    column that misses it is flagged, with auto and with fixed steps alike."""
    folder = make_architecture_dir("deberta-v2", tmp_path / "deberta", seed=21)
    model = load_model(str(folder), role="base", encoder="", pooling="mean-all", device=CPU)
    assert model.module.config._attn_implementation == "eager"
    texts = ["the acting was good", "boring plot  and bad music\n"]
    direct = direct_probabilities(folder, texts, 32)
    flagged = []
    for steps, rule in (("auto", lambda result: abs(result.convergence_delta) <= allowed_delta(
                            result.target_logit_change, DEFAULT_TOLERANCE)),
                        (16, lambda result: result.relative_delta <= FIXED_STEPS_DELTA)):
        explained = reportgen.explain(base=folder, finetuned=folder, texts=texts, method="integrated-gradients",
                                      steps=steps, max_steps=33, max_length=32, device="cpu", faithfulness=False,
                                      quiet=True)
        view = build_view(explained.report)
        for i, sample in enumerate(explained.report.samples):
            torch.testing.assert_close(torch.tensor(sample.models["base"].probabilities), direct[i],
                                       atol=1e-5, rtol=1e-4)
            for column, model in zip(view.samples[i].methods[0].columns, sample.models.values()):
                result = model.methods["integrated-gradients"]
                assert (column.delta_warning is None) == rule(result), (steps, i, result)
                flagged.append(column.delta_warning is not None)
    assert any(flagged)  # this model really misses the tolerance somewhere


def test_a_model_folder_that_fails_to_load_names_the_cause_not_the_path(roberta, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"):
        (broken / name).write_bytes((roberta["base"] / name).read_bytes())
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(ReportgenError) as error:
        load_model(str(broken), role="base", encoder="", pooling="mean-all", device=CPU)
    assert str(broken) in str(error.value) and "check the path" not in str(error.value)
    assert "\n" not in str(error.value)


# ---- 7. DataParallel checkpoints ----------------------------------------------------------------

def test_a_data_parallel_checkpoint_loads_without_its_prefix(checkpoints, encoder_dir, tmp_path):
    state = torch.load(checkpoints["base"], map_location="cpu", weights_only=True)
    wrapped = tmp_path / "data-parallel.pth"
    torch.save({f"module.{key}": tensor for key, tensor in state.items()}, wrapped)
    plain = load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling="mean-all", device=CPU)
    loaded = load_model(str(wrapped), role="base", encoder=str(encoder_dir), pooling="mean-all", device=CPU)
    for key, tensor in plain.module.state_dict().items():
        torch.testing.assert_close(loaded.module.state_dict()[key], tensor, rtol=0, atol=0)
    assert "module." in loaded.info.note and plain.info.note is None
    html = tmp_path / "dp.html"
    result = invoke(["report", "--base", str(wrapped), "--finetuned", str(checkpoints["finetuned"]),
                     "--encoder", str(encoder_dir), "--text", "good", "--max-length", "16", "--method", "gradient",
                     "-o", str(html)])
    assert result.exit_code == 0, result.output
    assert "DataParallel" in html.read_text(encoding="utf-8")
    partly = tmp_path / "partly.pth"
    torch.save({(f"module.{key}" if key.startswith("classifier") else key): t for key, t in state.items()}, partly)
    with pytest.raises(ReportgenError, match="key 'classifier.0.weight' is missing|has no 'classifier.0.weight'"):
        load_model(str(partly), role="base", encoder=str(encoder_dir), pooling="mean-all", device=CPU)


# ---- 9. a text that tokenizes to nothing --------------------------------------------------------

def test_a_text_that_tokenizes_to_nothing_is_an_error_naming_it(checkpoints, encoder_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    unreadable = "\ufffd" * 2000
    assert tokenizer(unreadable, add_special_tokens=False)["input_ids"] == []
    with pytest.raises(ReportgenError, match="row 17 has 2,000 characters but the tokenizer turns them into no"):
        encode(tokenizer, ["good", unreadable], 16, False, rows=[3, 17])
    with pytest.raises(ReportgenError, match="text 2 has 2,000 characters"):
        encode(tokenizer, ["good", unreadable], 16, False)
    assert encode(tokenizer, ["", "   ", "good"], 16, False).lengths() == [2, 2, 3]  # empty texts are allowed
    result = invoke(["report", *checkpoint_pair(checkpoints, encoder_dir), "--text", "good", "--text", unreadable,
                     "--max-length", "16", "-o", str(tmp_path / "r.html")])
    assert_refused(result, "text 2 has 2,000 characters")
    assert list(tmp_path.iterdir()) == []
