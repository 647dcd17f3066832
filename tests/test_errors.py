"""reportgen.errors: an option's mistake names it as each face takes it (`steps=` in Python, `--steps` on the CLI)."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

import reportgen
from reportgen.cli import main
from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.model_options import ModelOptions


def test_an_option_error_names_keywords_in_python_and_flags_on_the_command_line():
    error = OptionError("{max_steps} must be at least 5 with {steps} auto (got {2})", "max_steps", "steps")
    assert isinstance(error, ReportgenError)
    assert str(error) == "max_steps= must be at least 5 with steps= auto (got {2})"
    assert error.for_cli() == "--max-steps must be at least 5 with --steps auto (got {2})"


@pytest.mark.parametrize("keywords, message", [
    ({"steps": 0}, "steps= must be at least 1, or auto (got 0)"),
    ({"max_steps": 8}, "max_steps= must be at least 9 with steps= auto (the first refinement's 9 nodes"),
    ({"max_steps": 4098}, "max_steps= must be at most 4097"),
    ({"method": "gradient,anchors"}, "method=: unknown method 'anchors'"),
    ({"method": "gradient,gradient"}, "method= lists a method twice"),
    ({"scale": "sideways"}, "scale=: unknown scale 'sideways'"),
])
def test_explain_names_its_keywords_not_the_cli_flags(keywords, message, tmp_path):
    """Refused before any model loads, so the models need not exist."""
    with pytest.raises(ReportgenError) as caught:
        reportgen.explain(tmp_path / "base.pth", tmp_path / "finetuned.pth", texts=["fine"], **keywords)
    assert message in str(caught.value) and "--" not in str(caught.value)


def test_model_and_length_mistakes_name_the_keyword_from_the_api_and_the_flag_from_the_cli(tmp_path):
    """Loading names what to fix as the caller gave it: `base=`, `max_length=` from `reportgen.explain`,
    `--base`, `--max-length` on the command line."""
    missing = str(tmp_path / "nowhere" / "base.pth")
    with pytest.raises(ReportgenError) as caught:
        reportgen.explain(missing, missing, texts=["a text"], device="cpu", quiet=True)
    assert "base=" in str(caught.value) and "--" not in str(caught.value)
    result = CliRunner().invoke(main, ["report", "--base", missing, "--finetuned", missing, "--text", "a text",
                                       "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and "--base" in result.output and "base=" not in result.output
    in_memory = torch.nn.Linear(2, 2)  # no file to look for: only the options are judged
    assert check_max_length_message(ModelOptions(in_memory, in_memory, max_length=1).check) == (
        "max_length= must be at least 2 (got 1)", "--max-length must be at least 2 (got 1)")


def check_max_length_message(call) -> tuple[str, str]:
    """The message a check raises, as the API shows it and as the command line prints it."""
    with pytest.raises(ReportgenError) as caught:
        call()
    return str(caught.value), caught.value.for_cli()


ROWS = "text,label\nfine,1\nawful,0\n"

# (the keywords given to reportgen.explain, the same as the command line's flags, what the API says, what the CLI says)
MISTAKES = [
    ({"label_names": "a,a"}, ["--label-names", "a,a", "--text", "x"],
     "label_names= gives classes 0 and 1 the same name 'a'", "--label-names gives classes 0 and 1 the same name 'a'"),
    ({"dataset": "{data}", "indices": "99"}, ["--dataset", "{data}", "--indices", "99"],
     "indices=: 99 is out of range", "--indices: 99 is out of range"),
    ({"dataset": "{data}", "indices": "1-0"}, ["--dataset", "{data}", "--indices", "1-0"],
     "indices=: range '1-0' runs backwards", "--indices: range '1-0' runs backwards"),
    ({"dataset": "{data}", "indices": "0", "text_column": "body"},
     ["--dataset", "{data}", "--indices", "0", "--text-column", "body"],
     "text_column= 'body' is not a column", "--text-column 'body' is not a column"),
    ({"dataset": "{data}", "indices": "0", "text_pair_column": "label"},
     ["--dataset", "{data}", "--indices", "0", "--text-pair-column", "label"],
     "text_pair_column= needs text_column=", "--text-pair-column needs --text-column"),
    ({"dataset": "{tmp}/missing/rows.csv", "indices": "0"}, ["--dataset", "{tmp}/missing/rows.csv", "--indices", "0"],
     "dataset=: no such file or directory", "--dataset: no such file or directory"),
    ({"from_scan": "{tmp}/scan.csv", "texts": ["x"]}, ["--from-scan", "{tmp}/scan.csv", "--text", "x"],
     "from_scan= takes the rows, dataset and columns from the scan file; leave out dataset=, indices=, texts=",
     "--from-scan takes the rows, dataset and columns from the scan file; leave out --dataset, --indices, --text"),
    ({"from_scan": "{tmp}/scan.csv"}, ["--from-scan", "{tmp}/scan.csv"],
     "from_scan= needs select=", "--from-scan needs --select"),
    ({"select": "all", "texts": ["x"]}, ["--select", "all", "--text", "x"],
     "select= and top= pick rows from a scan: give from_scan= too",
     "--select and --top pick rows from a scan: give --from-scan too"),
    ({"dataset": "{data}", "indices": "0", "texts": ["x"]}, ["--dataset", "{data}", "--indices", "0", "--text", "x"],
     "give either dataset= with indices=, or texts=, not both", "give either --dataset with --indices, or --text"),
    ({"texts": ["x"], "text_pairs": ["y", "z"]}, ["--text", "x", "--text-pair", "y", "--text-pair", "z"],
     "2 text_pairs= for 1 texts=: give one text_pairs= after each texts=",
     "2 --text-pair for 1 --text: give one --text-pair after each --text"),
    ({}, [], "nothing to explain: give dataset= with indices=, or texts=",
     "nothing to explain: give --dataset with --indices, or --text"),
    ({"dataset": "{data}"}, ["--dataset", "{data}"], "dataset= needs indices=", "--dataset needs --indices"),
]


def _filled(value, places: dict[str, str]):
    if isinstance(value, dict):
        return {k: _filled(v, places) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, places) for v in value]
    return value.format(**places) if isinstance(value, str) else value


@pytest.mark.parametrize("keywords, flags, said, printed", MISTAKES)
def test_mistakes_in_what_to_explain_name_keywords_from_the_api_and_flags_from_the_cli(
        keywords, flags, said, printed, checkpoints, tmp_path):
    """Every message `reportgen.explain` can raise names the options as it takes them (no `--` flag in it); the
    command line prints the same mistake with its flags, one line, exit status 1."""
    data = tmp_path / "rows.csv"
    data.write_text(ROWS, encoding="utf-8")
    places = {"data": str(data), "tmp": str(tmp_path)}
    models = [str(checkpoints["base"]), str(checkpoints["finetuned"])]
    with pytest.raises(ReportgenError) as caught:
        reportgen.explain(*models, device="cpu", quiet=True, **_filled(keywords, places))
    assert said in str(caught.value) and "--" not in str(caught.value), str(caught.value)
    result = CliRunner().invoke(main, ["report", "--base", models[0], "--finetuned", models[1], "--device", "cpu",
                                       "-q", *_filled(flags, places), "-o", str(tmp_path / "r.html")])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and printed in lines[0], result.output
    assert not (tmp_path / "r.html").exists()
