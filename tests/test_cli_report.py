"""`reportgen report` end to end through Click: outputs, and one-line errors that leave no file behind."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import torch
from click.testing import CliRunner, Result
from transformers import AutoTokenizer

from reportgen.cli import main
from reportgen.results import Report
from tests.builders import REVIEWS, load_user_module, make_classifier, make_encoder_dir, save_checkpoint, write_dataset
from tests.test_rendering import assert_scores_match

MAX_LENGTH = 48


@pytest.fixture(scope="module")
def files(tmp_path_factory, encoder_dir) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    not_state = folder / "list.pth"
    torch.save([1, 2, 3], not_state)
    wide_encoder = make_encoder_dir(folder / "wide-encoder", hidden=48)
    return {
        "csv": write_dataset(folder / "reviews.csv", "csv"),
        "disk": write_dataset(folder / "saved", "disk"),
        "labelless": write_dataset(folder / "plain.jsonl", "jsonl", label_column=None),
        "not_state": not_state,
        "wide": save_checkpoint(make_classifier(wide_encoder, seed=9), folder / "wide.pth"),
        "latin": write_latin1_csv(folder / "latin.csv"),
        "lists": write_label_lists(folder / "lists.jsonl"),
    }


def write_label_lists(path: Path) -> Path:
    """Multi-label data (go_emotions' layout): each row's true labels as a list."""
    path.write_text('{"text": "great fun", "labels": [0, 1]}\n{"text": "dull", "labels": [1]}\n', encoding="utf-8")
    return path


def write_latin1_csv(path: Path) -> Path:
    """A CSV saved as Latin-1 (é is the byte 0xe9): not UTF-8, which is all datasets reads."""
    path.write_bytes("text,label\nfine,1\ncafé noir,0\n".encode("latin-1"))
    return path


def report_args(checkpoints, encoder_dir, files, output: Path,
                changes: dict[str, str | list[str] | None] | None = None) -> list[str]:
    """`report` with working defaults; `changes` sets (or, with None, drops) options. --steps 8 goes only where
    integrated gradients runs: it applies to no other method, and is refused beside them alone."""
    options: dict[str, str | list[str] | None] = {
        "--base": str(checkpoints["base"]), "--finetuned": str(checkpoints["finetuned"]),
        "--encoder": str(encoder_dir), "--dataset": str(files["csv"]), "--indices": "0,2,4",
        "--max-length": str(MAX_LENGTH), "--steps": "8", "--device": "cpu", "-o": str(output),
    }
    method = (changes or {}).get("--method")
    if isinstance(method, str) and "integrated-gradients" not in method:
        options["--steps"] = None
    options.update(changes or {})
    args = ["report", "-q"]
    for name, value in options.items():
        for item in ([] if value is None else [value] if isinstance(value, str) else value):
            args += [name, item]
    return args


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def assert_one_line_error(result: Result, expected: str) -> None:
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    assert expected in errors[0], result.output


@torch.no_grad()
def user_probabilities(encoder_dir: Path, checkpoint: Path, texts: list[str]) -> torch.Tensor:
    module = load_user_module(encoder_dir, checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    x = tokenizer(texts, max_length=MAX_LENGTH, padding="max_length", truncation=True, return_tensors="pt")
    return module(input_ids=x["input_ids"], attention_mask=x["attention_mask"]).softmax(-1)


def test_full_run_writes_html_and_json(checkpoints, encoder_dir, files, tmp_path):
    html_path, json_path = tmp_path / "out" / "report.html", tmp_path / "out" / "report.json"
    result = invoke(report_args(checkpoints, encoder_dir, files, html_path, {"--json": str(json_path)}))
    assert result.exit_code == 0, result.output
    assert f"Wrote {html_path} and {json_path} (3 samples)" in result.output
    data = json.loads(json_path.read_text(encoding="utf-8"))
    indices = [0, 2, 4]
    assert [s["index"] for s in data["samples"]] == indices
    assert [s["text"] for s in data["samples"]] == [REVIEWS[i][0] for i in indices]
    assert [s["label"] for s in data["samples"]] == [REVIEWS[i][1] for i in indices]
    assert [s["truncated"] for s in data["samples"]] == [False, False, True]  # the long review is cut at 48
    assert data["meta"]["methods"] == ["integrated-gradients", "attention-gradient"]
    assert data["meta"]["steps"] == 8 and data["meta"]["faithfulness"]["ks"] == [0.01, 0.05, 0.1, 0.2, 0.5]
    for role in ("base", "finetuned"):
        want = user_probabilities(encoder_dir, checkpoints[role], [REVIEWS[i][0] for i in indices])
        got = torch.tensor([s["models"][role]["probabilities"] for s in data["samples"]])
        torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-4)
        assert all(s["models"][role]["methods"]["integrated-gradients"]["convergence_delta"] is not None
                   for s in data["samples"])
        assert all(s["models"][role]["methods"][m]["faithfulness"]["scores"]["comprehensiveness"]["value"] is not None
                   for s in data["samples"] for m in data["meta"]["methods"])
    html = html_path.read_text(encoding="utf-8")
    assert_scores_match(html, data)
    assert Report.from_json(json_path.read_text(encoding="utf-8")).to_dict() == data
    assert not list(html_path.parent.glob(".*.tmp"))


def test_free_text(checkpoints, encoder_dir, files, tmp_path):
    json_path = tmp_path / "text.json"
    changes = {"--dataset": None, "--indices": None, "--text": ["a wonderful film", "boring plot"],
               "--method": "gradient-x-input", "--label-names": "negative,positive", "--json": str(json_path)}
    result = invoke(report_args(checkpoints, encoder_dir, files, tmp_path / "text.html", changes))
    assert result.exit_code == 0, result.output
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert [(s["text"], s["index"], s["label"]) for s in data["samples"]] == [
        ("a wonderful film", None, None), ("boring plot", None, None)]
    assert data["meta"]["class_names"] == ["negative", "positive"] and data["meta"]["dataset"] is None
    assert_scores_match((tmp_path / "text.html").read_text(encoding="utf-8"), data)


def test_empty_texts_are_explained_with_a_note(checkpoints, encoder_dir, files, tmp_path):
    """Only [CLS] and [SEP]: integrated gradients has nothing to attribute, and says so without failing."""
    json_path, html_path = tmp_path / "empty.json", tmp_path / "empty.html"
    changes = {"--dataset": None, "--indices": None, "--text": ["   ", "", "good"], "--json": str(json_path)}
    result = invoke(report_args(checkpoints, encoder_dir, files, html_path, changes))
    assert result.exit_code == 0, result.output
    samples = json.loads(json_path.read_text(encoding="utf-8"))["samples"]
    assert [s["tokens"] for s in samples[:2]] == [["[CLS]", "[SEP]"]] * 2
    assert all(m["methods"]["integrated-gradients"]["scores"] == [0.0, 0.0]
               for s in samples[:2] for m in s["models"].values())
    assert html_path.read_text(encoding="utf-8").count("empty or whitespace only") == 2


def test_checkpoint_against_a_huggingface_directory(checkpoints, encoder_dir, files, hf_dir, tmp_path):
    json_path = tmp_path / "mixed.json"
    changes = {"--finetuned": str(hf_dir), "--method": "gradient", "--json": str(json_path),
               "--dataset": str(files["disk"])}
    result = invoke(report_args(checkpoints, encoder_dir, files, tmp_path / "mixed.html", changes))
    assert result.exit_code == 0, result.output
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert [m["format"] for m in data["meta"]["models"]] == ["checkpoint", "huggingface"]
    assert data["meta"]["class_names"] == ["neg", "pos"] and data["meta"]["split"] == "test"


ERRORS = {
    "missing checkpoint": ({"--base": "/nonexistent/base.pth"}, "no such file"),
    "not a state dict": ({"--base": "{not_state}"}, "is not a state dict"),
    "mismatched shapes": ({"--finetuned": "{wide}"}, "'bert.embeddings.word_embeddings.weight' has shape"),
    "missing encoder": ({"--encoder": "/nonexistent/encoder"},
                        "cannot load encoder '/nonexistent/encoder': no such file or directory; pass --encoder"),
    "unknown dataset": ({"--dataset": "no-such-user/no-such-dataset"}, "cannot load dataset"),
    "unknown split": ({"--dataset": "{disk}", "--split": "validation"}, "has no split 'validation'; it has: test"),
    "missing column": ({"--text-column": "body"}, "--text-column 'body' is not a column"),
    "index out of range": ({"--indices": "0,6"}, "valid indices are 0 to 5"),
    "bad index": ({"--indices": "1;2"}, "is not an index"),
    "zero steps": ({"--steps": "0"}, "--steps must be at least 1"),
    "steps neither auto nor a number": ({"--steps": "many"}, "--steps must be at least 1, or auto"),
    "zero tolerance": ({"--steps": "auto", "--tolerance": "0"}, "--tolerance must be above 0"),
    "negative tolerance": ({"--tolerance": "-0.01"}, "--tolerance must be above 0"),
    "tolerance as a percentage": ({"--tolerance": "2"}, "--tolerance must be above 0 and below 1, a fraction (got "
                                                        "2.0); e.g. 0.01 for 1 %"),
    "infinite tolerance": ({"--tolerance": "inf"}, "--tolerance must be above 0 and below 1"),
    "max steps below the first refinement": ({"--steps": "auto", "--max-steps": "6"},
                                             "--max-steps must be at least 9 with --steps auto (the first refinement's "
                                             "9 nodes are what the scores' error is estimated from) (got 6)"),
    "max steps past what memory holds": ({"--max-steps": "100000000"},
                                         "--max-steps must be at most 4097 (each text being refined holds max-steps × "
                                         "tokens gradients in memory) (got 100000000)"),
    "a fixed rule with auto steps": ({"--steps": "auto", "--quadrature": "gauss-legendre"}, "needs a fixed --steps N"),
    "max length over the position embeddings": ({"--max-length": "200"}, "use --max-length 128 or less"),
    "max length over a hugging face model's positions": ({"--base": "{hf_dir}", "--max-length": "129"},
                                                         "base model's position embeddings allow (128 tokens)"),
    "max length below two": ({"--max-length": "1"}, "--max-length must be at least 2"),
    "unknown method": ({"--method": "anchors"}, "--method: unknown method 'anchors'"),
    "unknown method in a list": ({"--method": "gradient,anchors"}, "--method: unknown method 'anchors'"),
    "method listed twice": ({"--method": "gradient,gradient"}, "lists a method twice"),
    "unknown granularity": ({"--granularity": "sentence"},
                            "--granularity: unknown granularity 'sentence'; choose one of"),
    "markdown and html the same file": ({"--markdown": "{output}"}, "named as two different outputs"),
    "an output over an input": ({"--markdown": "{csv}"}, "would overwrite an input"),
    "a latin-1 data file": ({"--dataset": "{latin}", "--indices": "0"},
                            "latin.csv is not UTF-8 text (byte 0xe9 at offset 21, line 3); convert it"),
    "label target without labels": ({"--dataset": "{labelless}", "--target": "label"}, "--target label"),
    "class index target too large": ({"--target": "7"}, "--target '7'"),
    "text and dataset": ({"--text": "hello"}, "not both"),
    "nothing to explain": ({"--dataset": None, "--indices": None}, "nothing to explain"),
    "dataset without indices": ({"--indices": None}, "--dataset needs --indices"),
    "bad batch size": ({"--batch-size": "0"}, "--batch-size"),
    "wrong number of class names": ({"--label-names": "a,b,c"}, "3 class names"),
    "repeated class names": ({"--label-names": "pos,pos"}, "--label-names gives classes 0 and 1 the same name 'pos'"),
    "label lists for single-label models": ({"--dataset": "{lists}", "--indices": "1"},
                                            "row 1 has a list of labels ([1]), which only multi-label models"),
    "unknown precision": ({"--precision": "fp8"}, "--precision: unknown precision 'fp8'; choose one of"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_one_line_and_write_nothing(case, checkpoints, encoder_dir, files, hf_dir, tmp_path):
    changes, expected = ERRORS[case]
    output, json_path = tmp_path / "report.html", tmp_path / "report.json"
    paths = {**{name: str(path) for name, path in files.items()}, "hf_dir": str(hf_dir), "output": str(output)}
    changes = {k: v.format(**paths) if isinstance(v, str) else v for k, v in changes.items()}
    before = files["csv"].read_bytes()
    result = invoke(report_args(checkpoints, encoder_dir, files, output, {**changes, "--json": str(json_path)}))
    assert_one_line_error(result, expected)
    assert list(tmp_path.iterdir()) == []  # no report, no JSON, no temporary file
    assert files["csv"].read_bytes() == before


def test_quiet_silences_the_datasets_library_too(checkpoints, encoder_dir, files, tmp_path):
    """-q: no bar at all, the datasets library's "Generating train split" included (a fresh file is converted)."""
    fresh = write_dataset(tmp_path / "fresh.csv", "csv")
    result = invoke(report_args(checkpoints, encoder_dir, files, tmp_path / "r.html", {"--dataset": str(fresh)}))
    assert result.exit_code == 0, result.output
    assert "Generating" not in result.output and "examples/s" not in result.output, result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present, so --device cuda is not an error here")
def test_cuda_without_a_gpu(checkpoints, encoder_dir, files, tmp_path):
    result = invoke(report_args(checkpoints, encoder_dir, files, tmp_path / "r.html", {"--device": "cuda"}))
    assert_one_line_error(result, "no CUDA GPU")
    assert not (tmp_path / "r.html").exists()


def test_a_failed_run_leaves_existing_reports_untouched(checkpoints, encoder_dir, files, tmp_path):
    output, json_path = tmp_path / "report.html", tmp_path / "report.json"
    output.write_text("OLD REPORT")
    json_path.write_text("OLD JSON")
    # fails after both models are loaded and the texts chosen
    late = invoke(report_args(checkpoints, encoder_dir, files, output,
                              {"--dataset": str(files["labelless"]), "--target": "label", "--json": str(json_path)}))
    assert_one_line_error(late, "--target label")
    # fails while writing: the JSON's folder cannot be created, after the HTML was rendered and staged
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    writing = invoke(report_args(checkpoints, encoder_dir, files, output,
                                 {"--method": "gradient", "--json": str(blocker / "sub" / "r.json")}))
    assert_one_line_error(writing, "cannot write")
    assert output.read_text() == "OLD REPORT" and json_path.read_text() == "OLD JSON"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "report.html", "report.json"]


def test_interrupt_leaves_existing_report_untouched(checkpoints, encoder_dir, files, tmp_path, monkeypatch):
    import reportgen.api as api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "run_pipeline", interrupted)
    output = tmp_path / "report.html"
    output.write_text("OLD REPORT")
    result = invoke(report_args(checkpoints, encoder_dir, files, output))
    assert result.exit_code == 130 and "Traceback" not in result.output
    assert "no output file was written" in result.output
    assert output.read_text() == "OLD REPORT"


def test_help_mentions_every_option_and_an_example():
    result = invoke(["report", "--help"])
    assert result.exit_code == 0
    command = main.commands["report"]
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            for name in parameter.opts + parameter.secondary_opts:
                assert name in result.output, name
            assert parameter.help, f"{parameter.name} has no help text"
    assert "Example" in result.output
    assert "reportgen report --base base.pth --finetuned finetuned.pth" in result.output
    assert "report" in invoke(["--help"]).output
