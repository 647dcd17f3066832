"""`reportgen corpus` and the sharding it shares with `reportgen scan`: one process, simulated
ranks, real `torchrun` processes on the CPU (gloo), resuming, refusals, the bootstrap and the HTML."""

from __future__ import annotations

import json
import math
import os
import random
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner

import reportgen.corpus.aggregate as aggregate_module
from reportgen.attribution import MethodOptions, PathSteps
from reportgen.choices import ESTIMATOR, allowed_delta, convergence_rule
from reportgen.cli import main
from reportgen.corpus.aggregate import aggregate, replicate_weights, selection_flags
from reportgen.corpus.convergence import summarise_paths
from reportgen.corpus.run import CorpusOptions, RowAttributor
from reportgen.corpus.statistics import AggregateOptions
from reportgen.corpus.store import FORMAT_VERSION, CorpusStore
from reportgen.distributed import Ranks, describe_devices, rank_device, shard, start
from reportgen.errors import ReportgenError
from reportgen.loading.data import open_dataset
from reportgen.loading.device import resolve_device
from reportgen.loading.inputs import encode
from reportgen.loading.models import load_model
from reportgen.methods import is_signed
from reportgen.scan.layout import ScanRow
from reportgen.scan.reading import read_scan
from reportgen.scan.records import ScanLog
from tests.builders import endpoint_logits, random_texts, write_csv
from tests.tolerances import assert_close_fp32, delta_magnitude

MAX_LENGTH = 48
ROWS = 24
HOSTILE = "<b>bold</b> & {{ 7*7 }}"  # in every row: its pieces become listed words and snippet text
SHARDED = 10  # rows of the simulated two-rank run
TORCHRUN_TIMEOUT = 180


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    texts = [f"{HOSTILE} {text}" for text in random_texts(ROWS, seed=5)]
    return write_csv(tmp_path_factory.mktemp("corpus-data") / "rows.csv", texts, [i % 2 for i in range(ROWS)])


def corpus_args(checkpoints, encoder_dir, dataset, output: Path, *extra: str) -> list[str]:
    return ["corpus", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
            "--encoder", str(encoder_dir), "--dataset", str(dataset), "--max-length", str(MAX_LENGTH),
            "--device", "cpu", "--batch-size", "4", "--min-count", "3", "--bootstrap", "200",
            "--label-names", "<i>neg</i>,pos&amp", "-o", str(output), "-q", *extra]


def invoke(args: list[str]):
    return CliRunner().invoke(main, args)


def stored_rows(folder: Path) -> list[dict]:
    return pq.read_table(folder / "rows.parquet").to_pylist()


def assert_same_rows(got: list[dict], want: list[dict], tolerance: float = 1e-5) -> None:
    assert [r["index"] for r in got] == [r["index"] for r in want]
    for g, w in zip(got, want):
        for name in ("label", "target", "base_pred", "finetuned_pred", "words", "starts", "ends", "truncated"):
            assert g[name] == w[name], (g["index"], name)
        for name in ("base_scores", "finetuned_scores"):
            assert g[name] == pytest.approx(w[name], rel=tolerance, abs=tolerance), (g["index"], name)
        for name in ("base_prob", "finetuned_prob", "base_total", "finetuned_total"):
            assert g[name] == pytest.approx(w[name], rel=tolerance, abs=tolerance), (g["index"], name)


def assert_same_aggregates(got: dict, want: dict, tolerance: float = 1e-6) -> None:
    assert got["rows"] == want["rows"] and got["outcomes"] == want["outcomes"]
    assert set(got["groups"]) == set(want["groups"])
    for name, group in want["groups"].items():
        mine = got["groups"][name]
        assert [w["word"] for w in mine["words"]] == [w["word"] for w in group["words"]], name
        assert (mine["more"], mine["less"]) == (group["more"], group["less"]), name
        for a, b in zip(mine["words"], group["words"]):
            for part in ("base", "finetuned", "difference"):
                assert a[part] == pytest.approx(b[part], rel=tolerance, abs=tolerance), (name, a["word"], part)


@pytest.fixture(scope="module")
def whole(checkpoints, encoder_dir, dataset, tmp_path_factory) -> Path:
    """A finished one-process run: the reference for the sharded, distributed and resumed ones."""
    output = tmp_path_factory.mktemp("whole") / "corpus.html"
    result = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--keep-punctuation",
                                "--top-words", "50"))
    assert result.exit_code == 0, result.output
    return output


# ---- sharding ----------------------------------------------------------------------------------

def test_shards_are_disjoint_and_cover_every_row():
    items = list(range(11))
    shares = [shard(items, Ranks(rank=r, world_size=3)) for r in range(3)]
    assert shares == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert sorted(sum(shares, [])) == items


def test_sharded_rows_merge_to_the_single_process_rows(checkpoints, encoder_dir, dataset, whole, tmp_path):
    """Two simulated ranks, each writing its own shard's parts, merge to exactly the one-process rows."""
    device = resolve_device("cpu")
    models = {role: load_model(str(checkpoints[role]), role=role, encoder=str(encoder_dir), pooling="mean-all",
                               device=device) for role in ("base", "finetuned")}
    meta = CorpusStore.load(whole.with_name("corpus-scores")).meta
    store = CorpusStore.prepare(tmp_path / "scores", meta, overwrite=False)
    rows = open_dataset(str(dataset), None)
    options = CorpusOptions(max_length=MAX_LENGTH, batch_size=3)  # other batches than the reference's
    first = list(range(SHARDED))
    for rank in (1, 0):
        writer = store.writer(rank)
        for batch in RowAttributor(models, options).batches(rows, shard(first, Ranks(rank, 2))):
            writer.write(batch)
    assert store.done(ROWS).tolist() == [i < SHARDED for i in range(ROWS)]
    assert store.merge() == SHARDED
    assert not store.parts_dir.exists()  # absorbed into rows.parquet
    assert_same_rows(stored_rows(tmp_path / "scores"), stored_rows(whole.with_name("corpus-scores"))[:SHARDED])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def torchrun(args: list[str], cwd: Path, processes: int = 2) -> subprocess.CompletedProcess:
    """`torchrun --nproc-per-node N -m reportgen …` on the CPU, on a free local port."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
               "--master-addr", "127.0.0.1", "--master-port", str(free_port()), "-m", "reportgen", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TORCHRUN_TIMEOUT,
                            env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_torchrun_two_processes_equal_one(checkpoints, encoder_dir, dataset, whole, tmp_path):
    output = tmp_path / "corpus.html"
    ran = torchrun(corpus_args(checkpoints, encoder_dir, dataset, output, "--keep-punctuation", "--top-words", "50"),
                   tmp_path)
    assert "Wrote" in ran.stderr
    assert_same_rows(stored_rows(tmp_path / "corpus-scores"), stored_rows(whole.with_name("corpus-scores")))
    sharded, single = (json.loads(path.read_text())
                       for path in (output.with_suffix(".json"), whole.with_suffix(".json")))
    assert_same_aggregates(sharded, single)
    assert sharded["meta"]["world_size"] == 2 and sharded["meta"]["devices"].startswith("2 × cpu")
    assert "world size 2" in output.read_text()


def test_scan_under_torchrun_equals_one_process(checkpoints, encoder_dir, dataset, tmp_path):
    args = ["scan", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
            "--encoder", str(encoder_dir), "--dataset", str(dataset), "--max-length", str(MAX_LENGTH),
            "--device", "cpu", "--batch-size", "4", "-q"]
    torchrun(args + ["-o", str(tmp_path / "sharded.parquet")], tmp_path)
    assert invoke(args + ["-o", str(tmp_path / "single.parquet")]).exit_code == 0
    sharded, single = read_scan(tmp_path / "sharded.parquet"), read_scan(tmp_path / "single.parquet")
    assert [r.index for r in sharded.rows] == list(range(ROWS))
    for got, want in zip(sharded.rows, single.rows):  # other batches: equal up to float rounding
        assert (got.label, got.base_pred, got.finetuned_pred) == (want.label, want.base_pred, want.finetuned_pred)
        assert (got.base_prob, got.finetuned_prob, got.gap) == pytest.approx(
            (want.base_prob, want.finetuned_prob, want.gap), abs=2e-6)
    assert not list(tmp_path.glob("*.partial"))  # every rank's log merged and removed


def test_a_scan_folds_in_rank_logs_an_interrupted_run_left(checkpoints, encoder_dir, dataset, tmp_path):
    """Rank 1's log from a killed torchrun scan is taken, not recomputed, by the next (one-process) run."""
    output = tmp_path / "scan.csv"
    args = ["scan", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
            "--encoder", str(encoder_dir), "--dataset", str(dataset), "--max-length", str(MAX_LENGTH),
            "--device", "cpu", "-q", "-o", str(output)]
    assert invoke(args + ["--limit", "2"]).exit_code == 0
    log = ScanLog(output, read_scan(output).meta, overwrite=False, rank=1)
    log.append([ScanRow(index=5, label=1, base_pred=1, base_prob=0.123456, finetuned_pred=1, finetuned_prob=0.5,
                        gap=0.0)])
    log.close()
    resumed = invoke(args + ["--limit", "8"])
    assert resumed.exit_code == 0, resumed.output
    assert "3 rows are already there, 5 to go" in resumed.output
    rows = read_scan(output).rows
    assert [r.index for r in rows] == list(range(8)) and rows[5].base_prob == 0.123456
    assert not list(tmp_path.glob("*.partial"))


# ---- resuming and refusing ---------------------------------------------------------------------

class Interrupt:
    """Wraps RowAttributor.attribute: Ctrl-C on the given call, and counts calls."""

    def __init__(self, original, on_call: int | None) -> None:
        self.original, self.on_call, self.calls = original, on_call, 0

    def __call__(self, attributor, rows, indices):
        self.calls += 1
        if self.calls == self.on_call:
            raise KeyboardInterrupt
        return self.original(attributor, rows, indices)

    def install(self, monkeypatch) -> Interrupt:
        monkeypatch.setattr(RowAttributor, "attribute",
                            lambda attributor, rows, indices: self(attributor, rows, indices))
        return self


def test_an_interrupted_corpus_resumes_where_it_stopped(checkpoints, encoder_dir, dataset, whole, tmp_path,
                                                        monkeypatch):
    output = tmp_path / "corpus.html"
    args = corpus_args(checkpoints, encoder_dir, dataset, output, "--keep-punctuation", "--top-words", "50")
    Interrupt(RowAttributor.attribute, on_call=3).install(monkeypatch)
    stopped = invoke(args)
    assert stopped.exit_code == 130 and "run the same command again to resume" in stopped.output
    assert not output.exists() and len(list((tmp_path / "corpus-scores" / "parts").glob("*.parquet"))) == 2

    monkeypatch.undo()
    counter = Interrupt(RowAttributor.attribute, on_call=None).install(monkeypatch)
    resumed = invoke(args)
    assert resumed.exit_code == 0, resumed.output
    assert "8 of the 24 rows are already there, 16 to go" in resumed.output
    assert counter.calls == 16 // 4  # finished rows are not attributed again
    assert_same_rows(stored_rows(tmp_path / "corpus-scores"), stored_rows(whole.with_name("corpus-scores")))
    assert_same_aggregates(json.loads(output.with_suffix(".json").read_text()),
                           json.loads(whole.with_suffix(".json").read_text()))

    again = invoke(args)  # all done: nothing attributed, the outputs written again
    assert again.exit_code == 0 and "24 of the 24 rows are already there, 0 to go" in again.output


def test_rows_made_with_other_settings_are_refused(checkpoints, encoder_dir, dataset, tmp_path):
    output = tmp_path / "corpus.html"
    assert invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--limit", "4")).exit_code == 0
    before = (tmp_path / "corpus-scores" / "rows.parquet").read_bytes()
    for extra, named in ((["--max-length", "32"], "max_length: 48 in the file, 32 now"),
                         (["--method", "attention-gradient"],
                          "method: 'gradient' in the file, 'attention-gradient' now"),
                         (["--target-class", "1"], "target_class: None in the file, 1 now")):
        refused = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--limit", "4", *extra))
        assert refused.exit_code == 1 and named in refused.output, refused.output
        assert refused.output.count("\n") == 1 and "--overwrite" in refused.output
    swapped = invoke(corpus_args({"base": checkpoints["finetuned"], "finetuned": checkpoints["base"]}, encoder_dir,
                                 dataset, output, "--limit", "4"))
    assert swapped.exit_code == 1 and "base weights" in swapped.output
    assert (tmp_path / "corpus-scores" / "rows.parquet").read_bytes() == before

    # a shard made with other settings, copied into the folder, does not mix in either
    other = tmp_path / "other.html"
    assert invoke(corpus_args(checkpoints, encoder_dir, dataset, other, "--limit", "4", "--max-length", "32"))\
        .exit_code == 0
    parts = tmp_path / "corpus-scores" / "parts"
    parts.mkdir()
    (parts / "copied-r00000-000000.parquet").write_bytes((tmp_path / "other-scores" / "rows.parquet").read_bytes())
    mixed = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--limit", "6"))
    assert mixed.exit_code == 1 and "copied-r00000-000000.parquet holds rows made with other" in mixed.output

    fresh = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--limit", "4", "--max-length", "32",
                               "--overwrite"))
    assert fresh.exit_code == 0, fresh.output
    assert len(stored_rows(tmp_path / "corpus-scores")) == 4


def test_a_folder_that_is_not_a_corpus_is_left_alone(checkpoints, encoder_dir, dataset, tmp_path):
    (tmp_path / "corpus-scores").mkdir()
    (tmp_path / "corpus-scores" / "notes.txt").write_text("mine")
    kept = invoke(corpus_args(checkpoints, encoder_dir, dataset, tmp_path / "corpus.html", "--overwrite",
                              "--limit", "2", "--min-count", "1"))
    assert kept.exit_code == 0, kept.output  # --overwrite deletes only what a corpus writes
    assert (tmp_path / "corpus-scores" / "notes.txt").read_text() == "mine"
    (tmp_path / "other-scores").mkdir()
    (tmp_path / "other-scores" / "notes.txt").write_text("mine")
    refused = invoke(corpus_args(checkpoints, encoder_dir, dataset, tmp_path / "other.html"))
    assert refused.exit_code == 1 and "is not empty and holds no reportgen corpus" in refused.output


# ---- integrated gradients: steps per row, convergence ------------------------------------------

def test_integrated_gradients_rows_keep_their_steps_and_deltas(checkpoints, encoder_dir, dataset, tmp_path):
    """--steps auto (the default) stores each row's steps and delta, equal to a direct attribution of
    the row; the header states their spread and how many rows missed the tolerance, per model."""
    output = tmp_path / "ig.html"
    result = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--method", "integrated-gradients",
                                "--limit", "6", "--tolerance", "0.02", "--max-steps", "33"))
    assert result.exit_code == 0, result.output
    stored = stored_rows(tmp_path / "ig-scores")
    rows = open_dataset(str(dataset), None)
    for role in ("base", "finetuned"):
        model = load_model(str(checkpoints[role]), role=role, encoder=str(encoder_dir), pooling="mean-all",
                           device=resolve_device("cpu"))
        options = CorpusOptions(method="integrated-gradients", max_length=MAX_LENGTH,
                                method_options=MethodOptions(path=PathSteps(tolerance=0.02, max_steps=33)))
        inputs = encode(model.tokenizer, rows.texts(list(range(6))), MAX_LENGTH, model.info.pads_to_max_length)
        targets = torch.tensor([r["target"] for r in stored])
        direct = options.attributor(16).attribute(model, inputs, targets)
        assert [r[f"{role}_steps"] for r in stored] == direct.steps.tolist()
        assert all(9 <= n <= 33 for n in direct.steps.tolist())  # one round at least (5 nodes never stop), the cap
        assert_close_fp32(torch.tensor([r[f"{role}_delta"] for r in stored]), direct.convergence_delta,
                          delta_magnitude(direct.scores, *endpoint_logits(model, inputs, targets)))
        assert [r[f"{role}_converged"] for r in stored] == direct.converged.tolist()
        # the score error is an L1 sum of gradient differences over Σ|score|: it rounds at the scale of the scores,
        # so as a share of Σ|score| at scale 1, not at its own (a small estimate is a difference of larger terms)
        assert_close_fp32(torch.tensor([r[f"{role}_score_error"] for r in stored]), direct.score_error, 1.0)
        for row in stored:  # a row stops early only once converged
            if row[f"{role}_steps"] < 33:
                assert row[f"{role}_converged"]
                assert abs(row[f"{role}_delta"]) <= allowed_delta(row[f"{role}_logit_change"], 0.02) \
                    or row[f"{role}_score_error"] <= 0.02
    page = Page()
    page.feed(output.read_text())
    text = " ".join(page.text)
    assert "steps chosen per text (riemann-trapezoid, halving the intervals whose error is large, at most 33) " \
           f"until it has converged: {convergence_rule(0.02, 33)}" in text  # in the words of a report and --help
    # a signed method: the difference moved a share toward or against each row's true label
    assert "Moved toward the true class" in text and "Moved against the true class" in text
    assert "Which words' shares moved toward the true class after fine-tuning, and which away from it?" in text
    assert "It is not a change of reliance" in text and "For an unsigned method" not in text
    for role, title in (("base", "Base"), ("finetuned", "Fine-tuned")):
        missed = sum(not r[f"{role}_converged"] for r in stored)  # the rule a report flags a sample by
        steps = sorted(r[f"{role}_steps"] for r in stored)
        spread = f"{steps[0]} steps" if steps[0] == steps[-1] else f"{steps[0]}–{steps[-1]} steps"
        assert f"{title}: {spread}" in text
        assert (f"{missed} of 6 rows not converged" if missed else "every row converged") in text
    data = json.loads(output.with_suffix(".json").read_text())
    assert data["meta"]["path"] == {"steps": "auto", "quadrature": "riemann-trapezoid", "tolerance": 0.02,
                                    "max_steps": 33, "score_error_estimator": ESTIMATOR.name}
    assert json.loads((tmp_path / "ig-scores" / "meta.json").read_text())["settings"]["score_error_estimator"] \
        == ESTIMATOR.name  # rows of another estimator are not resumed
    assert data["meta"]["convergence"]["base"]["rows"] == 6
    commands = [c for c in page.text if c.startswith("reportgen report ")]
    assert commands and all("--tolerance 0.02 --max-steps 33" in c for c in commands)

    # Other tolerances make other rows: a rerun with one is refused by name.
    refused = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--method", "integrated-gradients",
                                 "--limit", "6", "--tolerance", "0.05", "--max-steps", "33"))
    assert refused.exit_code == 1 and "tolerance: 0.02 in the file, 0.05 now" in refused.output


@pytest.mark.parametrize("version", [1, 3, 4])  # 1: before the integrated-gradients columns; 3: before LIME's fit;
# 4: before the score errors' estimator was named (its rows' errors were another's, judged by another guard)
def test_a_folder_from_an_older_corpus_format_is_refused_with_advice(checkpoints, encoder_dir, dataset, tmp_path,
                                                                     version):
    """A scores folder whose rows lack this format's columns is not resumed (its rows would mix with rows of other
    columns): one line saying to give --scores a new folder, or --overwrite; nothing in it is touched."""
    output = tmp_path / "corpus.html"
    assert invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--limit", "2")).exit_code == 0
    meta_path = tmp_path / "corpus-scores" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["version"] = version
    meta_path.write_text(json.dumps(meta))
    before = {path: path.read_bytes() for path in (tmp_path / "corpus-scores").rglob("*") if path.is_file()}
    refused = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--limit", "2"))
    assert refused.exit_code == 1 and refused.output.count("\n") == 1, refused.output
    assert f"corpus format {version}; this one reads {FORMAT_VERSION}" in refused.output
    assert "give --scores a new folder, or pass --overwrite" in refused.output
    assert {path: path.read_bytes() for path in (tmp_path / "corpus-scores").rglob("*") if path.is_file()} == before


def test_fixed_steps_say_how_many_rows_do_not_add_up(checkpoints, encoder_dir, dataset, tmp_path):
    output = tmp_path / "fixed.html"
    result = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--method", "integrated-gradients",
                                "--limit", "6", "--steps", "2", "--quadrature", "riemann-left",
                                "--tolerance", "0.001"))
    assert result.exit_code == 0, result.output
    stored = stored_rows(tmp_path / "fixed-scores")
    assert {r["base_steps"] for r in stored} == {r["finetuned_steps"] for r in stored} == {2}
    missed = sum(abs(r["base_delta"]) > allowed_delta(r["base_logit_change"], 0.001) for r in stored)
    assert missed > 0  # two left-Riemann steps do not add up to 0.1 %
    text = " ".join(Page.parsed(output.read_text()).text)
    assert "2 steps (riemann-left)" in text and f"Base: 2 steps, {missed} of 6 rows above 0.1 %" in text
    # the advice stands beside each model whose rows missed, not after the last model's part
    line = next(t for t in Page.parsed(output.read_text()).text if t.startswith("Base: 2 steps"))
    for part, role in zip(line.split("; "), ("base", "finetuned")):
        misses = sum(abs(r[f"{role}_delta"]) > allowed_delta(r[f"{role}_logit_change"], 0.001) for r in stored)
        assert ("— --steps auto refines each row until it is within" in part) == (misses > 0), line


def test_path_summary_counts_and_medians():
    rows = [{"index": i, "base_steps": steps, "finetuned_steps": 17, "base_delta": delta, "finetuned_delta": 0.0,
             "base_logit_change": 2.0, "finetuned_logit_change": 0.001}
            for i, (steps, delta) in enumerate([(9, 0.01), (17, 0.03), (33, -0.019), (257, 0.1), (17, 0.0)])]
    summary = summarise_paths(reader(rows, batch=2), selection_flags([0, 1, 2, 3], 5), 0.01)
    base, finetuned = summary["base"], summary["finetuned"]
    assert (base.rows, base.fewest_steps, base.median_steps, base.most_steps) == (4, 9, 17, 257)
    assert base.mean_steps == pytest.approx((9 + 17 + 33 + 257) / 4)
    assert base.above_tolerance == 2  # 0.03 and 0.1 exceed 1 % of 2.0; −0.019 does not
    assert base.worst_relative_delta == pytest.approx(0.05)
    assert (finetuned.above_tolerance, finetuned.median_steps) == (0, 17)  # a change below the floor: 1 % of 0.01


# ---- the bootstrap -----------------------------------------------------------------------------

def synthetic_rows(count: int, seed: int = 0) -> list[dict]:
    """Rows where "good" gains share after fine-tuning and "plot" loses it; the rest is noise."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        words = ["good", "plot"] + [rng.choice(["the", "film", "a", ","]) for _ in range(6)]
        base = [rng.uniform(0.05, 0.15) for _ in words]
        finetuned = [b + (0.1 if w == "good" else -0.05 if w == "plot" else 0.0) + rng.gauss(0, 0.02)
                     for b, w in zip(base, words)]
        finetuned = [abs(f) for f in finetuned]
        starts = list(range(0, 10 * len(words), 10))
        label = index % 2  # base right on rows 0, 1 (mod 4), fine-tuned on rows 0, 2: each outcome 1/4
        rows.append({"index": index, "label": label, "target": label,
                     "base_pred": label if index % 4 in (0, 1) else 1 - label, "base_prob": 0.9,
                     "base_target_prob": 0.9, "finetuned_pred": label if index % 4 in (0, 2) else 1 - label,
                     "finetuned_prob": 0.8, "finetuned_target_prob": 0.8, "truncated": False, "words": words,
                     "starts": starts, "ends": [s + 4 for s in starts], "base_scores": base,
                     "finetuned_scores": finetuned, "base_total": sum(base) + 0.1,
                     "finetuned_total": sum(finetuned) + 0.1})
    return rows


def reader(rows: list[dict], batch: int = 7):
    """A stand-in for CorpusStore.read over `rows` (every column whatever is asked)."""
    return lambda columns: (rows[i:i + batch] for i in range(0, len(rows), batch))


def test_bootstrap_is_reproducible_with_a_seed_and_independent_of_row_order(monkeypatch):
    rows = synthetic_rows(120)
    flags = selection_flags(range(120), 120)
    options = AggregateOptions(min_count=5, bootstrap=300, seed=7)
    first, again = (aggregate(reader(rows), flags, options).to_dict() for _ in range(2))
    assert first == again
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    assert_same_aggregates(aggregate(reader(shuffled, batch=11), flags, options).to_dict(), first, tolerance=1e-9)
    other_seed = aggregate(reader(rows), flags, AggregateOptions(min_count=5, bootstrap=300, seed=8)).to_dict()
    good = {w["word"]: w for w in first["groups"]["all"]["words"]}["good"]
    good_8 = {w["word"]: w for w in other_seed["groups"]["all"]["words"]}["good"]
    assert good["difference"]["mean"] == good_8["difference"]["mean"]
    assert good["difference"]["low"] != good_8["difference"]["low"]
    # Accumulators split over several passes (a tiny memory budget) give the same intervals.
    monkeypatch.setattr(aggregate_module, "MEMORY_BUDGET", 3 * 8 * 300 * 2)
    assert aggregate(reader(rows), flags, options).to_dict() == first
    assert replicate_weights(7, 3, 5).tolist() == replicate_weights(7, 3, 5).tolist()


def test_the_statistics_are_right_on_known_data():
    rows = synthetic_rows(200)
    result = aggregate(reader(rows), selection_flags(range(200), 200), AggregateOptions(min_count=5, bootstrap=2000))
    good = {w.word: w for w in result.groups["all"].words}["good"]
    diffs = np.array([r["finetuned_scores"][0] / r["finetuned_total"] - r["base_scores"][0] / r["base_total"]
                      for r in rows])
    assert good.rows == good.occurrences == 200
    assert good.difference.mean == pytest.approx(diffs.mean(), rel=1e-9)
    half_width = 1.96 * diffs.std(ddof=1) / math.sqrt(len(diffs))
    assert good.difference.high - good.difference.low == pytest.approx(2 * half_width, rel=0.2)
    assert good.difference.low < good.difference.mean < good.difference.high
    assert [w.word for w in result.groups["all"].more][:1] == ["good"]
    assert [w.word for w in result.groups["all"].less][:1] == ["plot"]
    assert "," not in {w.word for w in result.groups["all"].words}  # punctuation left out by default
    outcomes = result.outcomes
    assert (outcomes.both_right, outcomes.base_wrong_finetuned_right) == (50, 50)
    assert {name: g.rows for name, g in result.groups.items()} == {"all": 200, "base-wrong": 50,
                                                                   "finetuned-wrong": 50, "both-right": 50,
                                                                   "both-wrong": 50}
    examples = result.examples["good"]
    assert len(examples) == 3 and all(e.snippet[[w.focus for w in e.snippet].index(True)].text == "good"
                                      for e in examples)
    changes = [e.finetuned_share - e.base_share for e in examples]
    assert changes == sorted(changes, reverse=True)


# ---- the HTML ----------------------------------------------------------------------------------

class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    @classmethod
    def parsed(cls, html: str) -> Page:
        page = cls()
        page.feed(html)
        return page

    def having(self, tag: str, css: str | None = None) -> list[dict]:
        return [a for t, a in self.tags if t == tag and (css is None or css in (a.get("class") or "").split())]


def test_the_report_shows_tables_chart_and_examples_and_escapes_text(whole, dataset):
    html = whole.read_text()
    page = Page()
    page.feed(html)
    text = " ".join(page.text)
    assert not page.having("script") and not page.having("b") and not page.having("i")  # all escaped
    assert "&lt;" in html and "<i>neg</i>" in text and "&lt;i&gt;neg&lt;/i&gt;" in html
    assert "http://" not in html and "https://" not in html and str(dataset.parent) not in html
    assert page.having("table", "outcomes") and len(page.having("table", "words")) >= 2
    assert "Accuracy, base" in text and "world size 1" in text and "rows.csv" in text
    assert len(page.having("svg", "chart")) == 1 and page.having("path", "ci")
    assert page.having("rect", "more") and page.having("rect", "less")
    commands = [c for c in page.text if c.startswith("reportgen report ")]
    assert commands and all("--indices" in c and "--target label" in c for c in commands)
    assert page.having("span", "focus")
    assert "divided by its total Σ|score|" in text  # the normalisation is stated
    # the gradient norm is unsigned: its shares are magnitudes, their change one of reliance
    assert "Gained share" in text and "Lost share" in text and "teal: gained share after fine-tuning" in text
    assert "more in fine-tuned" not in html.lower() and "more say" not in html
    data = json.loads(whole.with_suffix(".json").read_text())
    listed = data["groups"]["all"]["more"] + data["groups"]["all"]["less"]
    assert "<" in {w["word"] for w in data["groups"]["all"]["words"]}  # --keep-punctuation
    assert all(f'id="word-{n}"' in html for n in range(1, len(listed) + 1))
    words = pq.read_table(whole.with_name("corpus.words.parquet")).to_pylist()
    assert {r["group"] for r in words} >= {"all"}
    assert len(words) == sum(len(g["words"]) for g in data["groups"].values())


# ---- mistakes ----------------------------------------------------------------------------------

def test_bad_input_is_a_one_line_error(checkpoints, encoder_dir, dataset, tmp_path):
    def refused(*args: str, data: Path = dataset) -> str:
        result = invoke(corpus_args(checkpoints, encoder_dir, data, tmp_path / "c.html", *args))
        assert result.exit_code == 1, result.output
        last = result.output.rstrip("\n").split("\n")[-1].split("\r")[-1]  # after datasets' progress bars
        assert last.startswith("Error: ") and result.output.endswith(last + "\n"), result.output
        return last

    unlabelled = write_csv(tmp_path / "unlabelled.csv", random_texts(6), None)
    assert "--target-class" in refused(data=unlabelled)
    assert "'maybe'" in refused("--target-class", "maybe", data=unlabelled)
    empty = write_csv(tmp_path / "empty.csv", [], [])
    assert "cannot read" in refused(data=empty)  # a dataset without rows
    assert "not both" in refused("--limit", "3", "--sample", "3")
    assert "at least 1" in refused("--limit", "0")
    with_gaps = tmp_path / "gaps.csv"
    with_gaps.write_text("text,label\ngood film,1\nbad plot,\n")
    assert "row 1 has no label" in refused(data=with_gaps)
    assert not (tmp_path / "c.html").exists()

    worked = invoke(corpus_args(checkpoints, encoder_dir, unlabelled, tmp_path / "u.html", "--target-class", "pos&amp",
                                "--min-count", "1"))
    assert worked.exit_code == 0, worked.output
    data = json.loads((tmp_path / "u.json").read_text())
    assert data["outcomes"] is None and set(data["groups"]) == {"all"} and data["meta"]["target_class"] == 1
    page = Page()
    page.feed((tmp_path / "u.html").read_text())
    text = " ".join(page.text)
    assert "no labels" in text
    # `reportgen render` draws the same page from the JSON alone; a damaged or newer file is refused in one line
    again = invoke(["render", str(tmp_path / "u.json"), "-o", str(tmp_path / "again.html")])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "again.html").read_bytes() == (tmp_path / "u.html").read_bytes()
    for broken, said in (({**data, "version": 99}, "has version 99"),
                         ({**data, "version": "1"}, "its version is '1' (a string), not a whole number"),
                         ({k: v for k, v in data.items() if k != "groups"}, "this corpus file: groups is missing"),
                         ({**data, "groups": "oops"}, "groups is 'oops' (a string), not an object"),
                         ({**data, "rows": float("nan")}, "rows is NaN, not a whole number")):
        (tmp_path / "broken.json").write_text(json.dumps(broken))
        refused_render = invoke(["render", str(tmp_path / "broken.json"), "-o", str(tmp_path / "broken.html")])
        assert refused_render.exit_code == 1 and said in refused_render.output, refused_render.output
        assert len(refused_render.output.strip().splitlines()) == 1 and not (tmp_path / "broken.html").exists()
    if is_signed(data["meta"]["method"]):  # the lede names the class every row explains
        assert "toward pos&amp (blue: for it" in text and "moved toward pos&amp after" in text
    else:
        assert "for pos&amp (magnitude only" in text and "gained a share of the model's influence" in text
        assert "toward the true class" not in text
        assert "not for which class" in text and "It is not a change of reliance" not in text


def test_a_scan_selection_that_picks_nothing_is_refused(checkpoints, encoder_dir, dataset, tmp_path):
    scan = tmp_path / "scan.csv"
    assert invoke(["scan", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["base"]),
                   "--encoder", str(encoder_dir), "--dataset", str(dataset), "--max-length", str(MAX_LENGTH),
                   "--device", "cpu", "-q", "-o", str(scan)]).exit_code == 0
    result = invoke(["corpus", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
                     "--encoder", str(encoder_dir), "--from-scan", str(scan), "--select", "disagree",
                     "--max-length", str(MAX_LENGTH), "--device", "cpu", "-q", "-o", str(tmp_path / "c.html")])
    assert result.exit_code == 1 and "no scanned row fits --select disagree" in result.output  # same model twice


def test_devices_under_torchrun_are_checked(monkeypatch):
    with pytest.raises(ReportgenError, match="local rank"):
        rank_device("cuda:1", local_rank=0, world_size=2)
    assert rank_device("cpu", local_rank=3, world_size=4).type == "cpu"
    assert describe_devices([{"device": "cpu (x86_64)", "host": "a"}] * 2) == "2 × cpu (x86_64)"
    assert describe_devices([{"device": "H100", "host": h} for h in "aabb"]) == "4 × H100 on 2 nodes"
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert start("cpu").world_size == 1
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(ReportgenError, match="torchrun"):
        start("cpu")


def test_every_option_is_documented_with_an_example():
    help_text = CliRunner().invoke(main, ["corpus", "--help"]).output
    for option in ("--sample", "--from-scan", "--target-class", "--min-count", "--bootstrap", "--scores",
                   "--keep-punctuation", "--top-words", "--examples"):
        assert option in help_text
    assert "torchrun --nproc-per-node 8 -m reportgen corpus" in help_text
    assert "--rdzv-endpoint" in help_text


@pytest.mark.browser
def test_the_report_fits_a_phone_and_loads_nothing(whole):
    """Headless Chromium, JavaScript off, 420 px wide: nothing sticks out and no request leaves the file."""
    pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e .[test]")
    from tests.browser import browser, chromium_path

    if chromium_path() is None:
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    with browser() as chromium:
        page = chromium.new_context(java_script_enabled=False, viewport={"width": 420, "height": 900}).new_page()
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(whole.resolve().as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        assert requests == [whole.resolve().as_uri()]
        assert page.locator("table.words").count() >= 2 and page.locator("svg.chart path.ci").count() >= 1


def test_a_row_whose_scores_are_accurate_is_not_counted_above_tolerance():
    """Auto steps store `converged`: a row with a large delta whose scores' estimated error was within tolerance
    (a path whose scores cancel) is not counted; one that converged by neither is."""
    rows = [{"index": i, "base_steps": 257, "finetuned_steps": 17, "base_delta": delta, "finetuned_delta": 0.0,
             "base_logit_change": 0.02, "finetuned_logit_change": 1.0, "base_converged": converged,
             "finetuned_converged": True}
            for i, (delta, converged) in enumerate([(0.004, True), (0.004, False), (0.0, True)])]
    summary = summarise_paths(reader(rows, batch=2), selection_flags([0, 1, 2], 3), 0.01)
    assert summary["base"].above_tolerance == 1 and summary["finetuned"].above_tolerance == 0
