"""stderr is reportgen's while it reads data and models: a read that fails is one line, with nothing the
libraries logged above it; a read that succeeds still shows what they warned about."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from transformers import BertConfig, BertModel, BertTokenizerFast

from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.loading.library_logs import LIBRARIES, held_library_logs
from tests.builders import random_texts, write_csv

MALFORMED = {  # a delimited file pandas refuses: the datasets library logs the failure, then raises it
    "semicolons-too-many-fields.csv": "text;label\nhello world;1\nbad;row;extra;1\nfine;0\n",
    "commas-too-many-fields.csv": "text,label\nhello world,1\nbad,row,extra,1\nfine,0\n",
    "unclosed-quote.csv": 'text,label\n"never closed,1\nfine,0\n',
}


class _CurrentStderr:
    """Whatever `sys.stderr` is at the time of writing: Click's, inside CliRunner."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@pytest.fixture(autouse=True)
def library_handlers_print_to_stderr(monkeypatch) -> None:
    """The libraries' own handlers write to the stderr of their time of import (here pytest's capture); in a run
    of reportgen that is the process's stderr, which under CliRunner is `result.stderr`: point them there."""
    import datasets  # noqa: F401 (its handler installed)
    import transformers  # noqa: F401

    for name in LIBRARIES:
        for handler in logging.getLogger(name).handlers:
            if type(handler) is logging.StreamHandler:  # the libraries' own, not pytest's capture
                monkeypatch.setattr(handler, "stream", _CurrentStderr())


def library_records(caplog) -> list[str]:
    """What the libraries logged that reached the root logger's handlers (torch's have no handler of their own)."""
    return [record.getMessage() for record in caplog.records if record.name.split(".")[0] in LIBRARIES]


def command(name: str, checkpoints, encoder_dir, dataset: Path, folder: Path) -> list[str]:
    models = ["--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
              "--encoder", str(encoder_dir), "--dataset", str(dataset), "--device", "cpu", "-q"]
    if name == "scan":
        return ["scan", *models, "-o", str(folder / "scan.csv")]
    return ["report", *models, "--indices", "0", "-o", str(folder / "report.html")]


@pytest.mark.parametrize("data", sorted(MALFORMED))
@pytest.mark.parametrize("name", ["report", "scan"])
def test_a_malformed_data_file_is_one_line_on_stderr(name, data, checkpoints, encoder_dir, tmp_path, caplog):
    dataset = tmp_path / data
    dataset.write_text(MALFORMED[data], encoding="utf-8")
    output = tmp_path / "out"
    result = CliRunner().invoke(main, command(name, checkpoints, encoder_dir, dataset, output))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    lines = result.stderr.strip().splitlines()
    read_as = "semicolon" if "semicolons" in data else "comma"
    assert len(lines) == 1 and lines[0].startswith(f"Error: cannot read {dataset} as {read_as}-separated values:"), \
        result.stderr
    assert library_records(caplog) == []
    assert not output.exists()


def test_a_checkpoint_torch_refuses_is_one_line_whatever_torch_logged(checkpoints, encoder_dir, tmp_path, caplog,
                                                                      recwarn, monkeypatch):
    """The models' side: what torch logs and warns while it fails to read a checkpoint is not printed."""
    import torch

    def refuse(*args, **kwargs):
        logging.getLogger("torch.serialization").warning("torch's own account of the failure")
        warnings.warn("torch's own warning about the failure", UserWarning, stacklevel=2)
        raise RuntimeError("invalid load key, 'x'.")

    monkeypatch.setattr(torch, "load", refuse)
    dataset = write_csv(tmp_path / "rows.csv", random_texts(2, seed=3), [0, 1])
    result = CliRunner().invoke(main, command("scan", checkpoints, encoder_dir, dataset, tmp_path / "out"))
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: cannot read checkpoint {checkpoints['base']}: invalid load key")
    assert library_records(caplog) == []
    assert not [w for w in recwarn if "torch's own warning" in str(w.message)]


def test_what_a_library_warns_about_a_model_that_loads_is_still_shown(encoder_dir, tmp_path):
    """A model folder without its classifier head loads (transformers initialises one at random): transformers'
    report of the missing weights is shown once the model has loaded, not swallowed."""
    folder = tmp_path / "headless"
    BertModel(BertConfig.from_pretrained(encoder_dir)).save_pretrained(folder)
    BertTokenizerFast.from_pretrained(encoder_dir).save_pretrained(folder)
    dataset = write_csv(tmp_path / "rows.csv", random_texts(2, seed=3), [0, 1])
    result = CliRunner().invoke(main, ["scan", "--base", str(folder), "--finetuned", str(folder), "--dataset",
                                       str(dataset), "--max-length", "32", "--device", "cpu", "-q",
                                       "-o", str(tmp_path / "scan.csv")])
    assert result.exit_code == 0, result.output
    assert "classifier.weight" in result.stderr and "MISSING" in result.stderr, result.stderr


@pytest.mark.parametrize("fails", [True, False])
def test_held_records_are_dropped_on_failure_and_shown_after_success(fails, capsys):
    """Each library's handlers and propagation are as they were afterwards, whichever way the block ends."""
    loggers = {name: logging.getLogger(name) for name in LIBRARIES}
    before = {name: (logger.handlers[:], logger.propagate) for name, logger in loggers.items()}
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        try:
            with held_library_logs():
                logging.getLogger("datasets.builder").warning("a record from the datasets library")
                warnings.warn("a warning from a library", UserWarning, stacklevel=1)
                assert capsys.readouterr().err == "" and shown == []  # held while the block runs
                if fails:
                    raise ReportgenError("the one line")
        except ReportgenError:
            pass
    err = capsys.readouterr().err
    if fails:
        assert err == "" and shown == []
    else:
        assert "a record from the datasets library" in err
        assert [str(w.message) for w in shown] == ["a warning from a library"]
    assert {name: (logger.handlers[:], logger.propagate) for name, logger in loggers.items()} == before
