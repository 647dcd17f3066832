"""A disk that fills up while a command writes: one line, exit status 1, and nothing left behind.

Each command is run once on an unlimited disk to learn which files it writes, then once per file
with a disk that runs out halfway through that one (`tests/full_disk.py`), so every stage of its
writing (headers, rows appended batch by batch, the final rewrite, the report's files) meets a full
disk in some run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.scan.reading import read_scan
from tests.builders import random_texts, write_csv
from tests.full_disk import FullDisk

MAX_LENGTH = 32
ROWS = 10


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("full-disk-data") / "rows.csv", random_texts(ROWS, seed=7),
                     [i % 2 for i in range(ROWS)])


def model_args(checkpoints, encoder_dir, dataset) -> list[str]:
    return ["--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
            "--encoder", str(encoder_dir), "--dataset", str(dataset), "--max-length", str(MAX_LENGTH),
            "--device", "cpu", "--batch-size", "4", "-q"]


def scan_args(checkpoints, encoder_dir, dataset, output: Path, *extra: str) -> list[str]:
    return ["scan", *model_args(checkpoints, encoder_dir, dataset), "-o", str(output), *extra]


def corpus_args(checkpoints, encoder_dir, dataset, output: Path) -> list[str]:
    return ["corpus", *model_args(checkpoints, encoder_dir, dataset), "--limit", "8", "--min-count", "2",
            "--bootstrap", "20", "-o", str(output)]


def report_args(checkpoints, encoder_dir, dataset, output: Path) -> list[str]:
    return ["report", *model_args(checkpoints, encoder_dir, dataset), "--indices", "0,1", "--method", "gradient",
            "-o", str(output), "--json", str(output.with_suffix(".json")), "--markdown",
            str(output.with_suffix(".md"))]


def on_disk(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"/"
            for p in sorted(folder.rglob("*"))}


def run(args: list[str], folder: Path, room: int | None, monkeypatch, fault: type[BaseException] | None = None):
    """The command with `room` bytes left under `folder` (None: unlimited); the result and the disk."""
    with monkeypatch.context() as patch:
        disk = FullDisk(folder, room, fault).install(patch)
        result = CliRunner().invoke(main, args)
    return result, disk


def rooms_for(args: list[str], folder: Path, monkeypatch) -> list[int]:
    """Run once with room to spare (it must succeed), then empty the folder: a room per file it wrote."""
    result, disk = run(args, folder, None, monkeypatch)
    assert result.exit_code == 0, result.output
    rooms = disk.rooms()
    assert rooms  # it wrote something
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    return rooms


# What only reportgen's own working files are called: a scan's .partial, a corpus's parts, temporary siblings.
WORKING_FILES = (".partial", "/parts/", ".tmp", ".bak", ".check", ".meta.json")


def assert_one_line(result, disk: FullDisk, asked: list[Path]) -> None:
    """Exit status 1 and one line of error (after the news that a scan resumes, if it does), no traceback,
    naming one of the outputs `asked` for, as given, and none of the working files reportgen keeps for them."""
    assert disk.failures, "the disk never filled up"
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("Resuming ")]
    assert len(lines) == 1 and "No space left on device" in lines[-1], result.stderr
    assert "free some space" in lines[-1]  # it says what to do
    assert any(f"cannot write {path}: " in lines[-1] for path in asked), (lines[-1], asked)
    assert not any(name in lines[-1] for name in WORKING_FILES), lines[-1]


def assert_full_disk_failure(result, disk: FullDisk, folder: Path, before: dict[str, bytes], asked: list[Path]) -> None:
    assert_one_line(result, disk, asked)
    assert on_disk(folder) == before  # nothing new (no folder either), nothing changed, no temporary file


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_a_scan_on_a_full_disk_is_one_line_and_leaves_nothing(suffix, checkpoints, encoder_dir, dataset, tmp_path,
                                                              monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / "new" / f"scan{suffix}"  # in a folder it makes
    args = scan_args(checkpoints, encoder_dir, dataset, output)
    for room in rooms_for(args, folder, monkeypatch):
        result, disk = run(args, folder, room, monkeypatch)
        assert_full_disk_failure(result, disk, folder, {}, [output])


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_a_resumed_scan_on_a_full_disk_keeps_the_rows_it_had(suffix, checkpoints, encoder_dir, dataset, tmp_path,
                                                             monkeypatch):
    """Growing a finished scan fails cleanly: its file is as it was, and the rows it held stay readable."""
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / f"scan{suffix}"
    first = CliRunner().invoke(main, scan_args(checkpoints, encoder_dir, dataset, output, "--limit", "3"))
    assert first.exit_code == 0, first.output
    before = on_disk(folder)
    kept = read_scan(output).rows
    args = scan_args(checkpoints, encoder_dir, dataset, output)
    rooms = rooms_for(args, folder, monkeypatch)
    for room in rooms:
        for name, content in before.items():  # the finished scan, back as it was
            (folder / name).write_bytes(content)
        result, disk = run(args, folder, room, monkeypatch)
        if suffix == ".csv":  # rows appended before the disk filled stay, for the next run to resume from
            assert_one_line(result, disk, [output])
            assert read_scan(output).rows[:len(kept)] == kept and sorted(on_disk(folder)) == sorted(before)
        else:
            assert_full_disk_failure(result, disk, folder, before, [output])


def test_a_corpus_on_a_full_disk_is_one_line_and_leaves_nothing(checkpoints, encoder_dir, dataset, tmp_path,
                                                                monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / "new" / "corpus.html"
    args = corpus_args(checkpoints, encoder_dir, dataset, output)
    asked = [output, output.with_suffix(".json"), folder / "new" / "corpus.words.parquet",
             folder / "new" / "corpus-scores"]  # the report, its aggregates and its --scores folder, by default
    for room in rooms_for(args, folder, monkeypatch):
        result, disk = run(args, folder, room, monkeypatch)
        assert_full_disk_failure(result, disk, folder, {}, asked)


def test_a_report_on_a_full_disk_is_one_line_and_leaves_nothing(checkpoints, encoder_dir, dataset, tmp_path,
                                                                monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / "new" / "report.html"
    args = report_args(checkpoints, encoder_dir, dataset, output)
    for room in rooms_for(args, folder, monkeypatch):
        result, disk = run(args, folder, room, monkeypatch)
        assert_full_disk_failure(result, disk, folder, {}, [output, output.with_suffix(".json"),
                                                             output.with_suffix(".md")])


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_a_scan_interrupted_in_any_write_leaves_no_temporary_file_and_resumes(suffix, checkpoints, encoder_dir,
                                                                              dataset, tmp_path, monkeypatch):
    """Ctrl-C in the middle of each file a scan writes: exit status 130, no temporary or cut-short file
    under a real name, and the same command then finishes the scan with every row once."""
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / f"scan{suffix}"
    args = scan_args(checkpoints, encoder_dir, dataset, output)
    for room in rooms_for(args, folder, monkeypatch):
        result, disk = run(args, folder, room, monkeypatch, fault=KeyboardInterrupt)
        assert disk.failures and result.exit_code == 130, result.output
        assert "Traceback" not in result.output
        assert not [p for p in folder.rglob(".*")], sorted(folder.rglob("*"))  # no temporary sibling, no backup
        resumed = CliRunner().invoke(main, args)
        assert resumed.exit_code == 0, resumed.output
        assert [row.index for row in read_scan(output).rows] == list(range(ROWS))
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
