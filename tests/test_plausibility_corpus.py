"""`reportgen corpus --rationale-column` (issue 29): each row's plausibility for both models stored beside its
scores, the means with bootstrap intervals and the paired fine-tuned − base difference on the page and in the
JSON, rendered again from the JSON; a malformed rationale refused in one line before anything is written."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from reportgen.cli import main
from tests.builders import random_texts

ROWS = 16


def _dataset(folder, bad: str | None = None):
    texts = random_texts(ROWS, seed=3)
    rows = []
    for i, text in enumerate(texts):
        words = text.split()
        marks = [" ".join(words[:2])] if i % 4 else []  # every fourth row: an empty rationale
        rows.append({"text": text, "label": i % 2, "marks": bad if bad is not None and i == 5 else marks})
    path = folder / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _args(checkpoints, encoder_dir, data, out):
    return ["corpus", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
            "--encoder", str(encoder_dir), "--dataset", str(data), "--max-length", "48", "--device", "cpu",
            "--method", "gradient-x-input", "--batch-size", "4", "--min-count", "3", "--bootstrap", "200",
            "--rationale-column", "marks", "-o", str(out), "-q"]


@pytest.fixture(scope="module")
def run(checkpoints, encoder_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("plausible-corpus")
    out = folder / "c.html"
    result = CliRunner().invoke(main, _args(checkpoints, encoder_dir, _dataset(folder), out))
    assert result.exit_code == 0, result.output
    return folder, out


def test_rows_keep_each_models_plausibility_and_the_page_its_means_and_paired_difference(run):
    folder, out = run
    rows = pq.read_table(folder / "c-scores" / "rows.parquet").to_pylist()
    scored = [r for r in rows if r["base_auprc"] is not None]
    assert len(scored) == ROWS - ROWS // 4  # the rows with an empty rationale have none
    assert all(r["finetuned_auprc"] is not None and 0 <= r["base_token_f1"] <= 1 for r in scored)
    document = json.loads((folder / "c.json").read_text(encoding="utf-8"))
    stats = document["plausibility"]
    assert stats["rows"] == len(scored)
    auprc = stats["measures"]["auprc"]
    base = np.array([r["base_auprc"] for r in scored])
    finetuned = np.array([r["finetuned_auprc"] for r in scored])
    assert math.isclose(auprc["base"]["mean"], base.mean(), rel_tol=1e-12)
    assert math.isclose(auprc["difference"]["mean"], (finetuned - base).mean(), rel_tol=1e-12, abs_tol=1e-15)
    assert auprc["difference"]["low"] <= auprc["difference"]["high"]
    page = out.read_text(encoding="utf-8")
    assert "Did the models look where people looked?" in page and "AUPRC (tokens)" in page
    again = CliRunner().invoke(main, ["render", str(folder / "c.json"), "-o", str(folder / "again.html")])
    assert again.exit_code == 0, again.output
    assert (folder / "again.html").read_text(encoding="utf-8") == page


def test_a_damaged_plausibility_in_the_corpus_file_is_refused_in_one_line(run, tmp_path):
    folder, _ = run
    document = json.loads((folder / "c.json").read_text(encoding="utf-8"))
    document["plausibility"]["measures"]["auprc"]["base"]["mean"] = 1.5
    source = tmp_path / "bad.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 1 and "plausibility.measures.auprc.base.mean is 1.5" in result.output
    assert not (tmp_path / "x.html").exists()


def test_a_bad_rationale_is_refused_before_anything_is_written(checkpoints, encoder_dir, tmp_path):
    out = tmp_path / "c.html"
    result = CliRunner().invoke(main, _args(checkpoints, encoder_dir, _dataset(tmp_path, bad=[[3, 2]]), out))
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: row 5's rationale span [3, 2] is not inside its text of "
                                     f"{len(random_texts(ROWS, seed=3)[5])} characters with start < end: spans "
                                     "are [start, end) character offsets")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl"]
