"""The benchmark scripts still run end to end, so a session lent a GPU for a few minutes can start
them at once: a one-layer bert-base-size model, two texts, 16 tokens, a few steps. Speed is not
checked here (figures go in docs/benchmarks.md); that every figure is produced and consistent is."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import adaptive_steps, attribution

SMOKE = ["--reviews-file", "", "--max-length", "16", "--layers", "1"]


@pytest.fixture()
def texts(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("a wonderful film, truly great\nthe plot was dull and the acting awful\n", encoding="utf-8")
    return str(path)


def smoke_args(texts: str) -> list[str]:
    return [texts if a == "" else a for a in SMOKE]


def test_adaptive_steps_runs_on_a_bare_machine(texts, tmp_path):
    """`--model bert-base`: the path a GPU session runs (no demo models needed)."""
    out = tmp_path / "adaptive.json"
    result = adaptive_steps.main(["--model", "bert-base", "--reviews", "2", "--max-steps", "17", "--batch-size", "8",
                                  "--no-captum", "--json", str(out), *smoke_args(texts)])
    assert json.loads(out.read_text())["table"] == json.loads(json.dumps(result["table"]))
    runs = {row["run"]: row for row in result["table"]}
    assert set(runs) == {"reportgen auto", "reportgen GL 50"}
    assert all(row["samples"] == 2 and 0 <= row["within"] <= 2 and row["gflops_per_s"] > 0 for row in runs.values())
    assert sum(result["steps_taken"].values()) == 2 and set(result["steps_taken"]) <= {9, 17}
    assert result["info"]["model"].startswith("bert-base size (1 layers")


def test_attribution_benchmark_runs_on_a_bare_machine(texts, tmp_path):
    out = tmp_path / "attribution.json"
    attribution.main(["--samples", "2", "--steps", "2", "--fast-steps", "2", "--batch-size", "4", "--no-memory",
                      "--no-trim-ablation", "--json", str(out), *smoke_args(texts)])
    figures = json.loads(out.read_text())
    runs = {row["run"]: row for row in figures["table"]}
    assert {"reportgen riemann-left 2 fp32", "reportgen gauss-legendre 2 fp32"} <= set(runs)  # with or without Captum
    assert all(row["samples_per_s"] > 0 and math.isfinite(row["mean_abs_delta"]) for row in runs.values())
    assert figures["info"]["samples"] == 2 and all(2 < n <= 16 for n in figures["info"]["real_tokens"])


def test_evidence_ratio_reads_a_reports_time_line(tmp_path, capsys):
    """benchmarks/evidence.py ratio: attributions are every method's stage, the evidence the three
    forward-only stages, prediction neither."""
    from benchmarks import evidence

    seconds = {"prediction": 5.0, "integrated-gradients": 90.0, "attention-gradient": 10.0,
               "faithfulness-metrics": 20.0, "flip-test": 30.0, "aopc-bounds": 25.0}
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"meta": {"seconds": seconds}}), encoding="utf-8")
    (row,) = evidence.ratio([str(path)])
    assert row["attributions"] == 100.0 and row["evidence"] == 75.0 and row["ratio"] == 0.75
    assert "0.75×" in capsys.readouterr().out
