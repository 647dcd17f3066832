"""Outputs: written together or not at all, and proven writable before any work starts."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import reportgen.output as output_module
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.output import check_writable, write_atomically


def failing_on_call(number: int, monkeypatch, fault: BaseException | None = None) -> list[tuple[str, str]]:
    """Make the `number`-th os.replace inside output.py fail, as a full disk or a lost mount would
    (or raise `fault`, e.g. a Ctrl-C between two renames)."""
    calls: list[tuple[str, str]] = []
    real = os.replace

    def replace(source, destination):
        calls.append((str(source), str(destination)))
        if len(calls) == number:
            raise fault or OSError(28, "No space left on device", str(destination))
        return real(source, destination)

    monkeypatch.setattr(output_module.os, "replace", replace)
    return calls


def test_second_rename_failing_leaves_both_old_files(tmp_path, monkeypatch):
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    html.write_text("OLD HTML")
    data.write_text("OLD JSON")
    calls = failing_on_call(2, monkeypatch)
    with pytest.raises(ReportgenError, match="cannot write .*report.json: No space left on device"):
        write_atomically({html: "NEW HTML", data: "NEW JSON"})
    assert len(calls) >= 2  # the first rename really happened before the failure
    assert html.read_text() == "OLD HTML" and data.read_text() == "OLD JSON"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]  # no temp, no backup


def test_second_rename_failing_removes_a_file_that_did_not_exist(tmp_path, monkeypatch):
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    data.write_text("OLD JSON")
    failing_on_call(2, monkeypatch)
    with pytest.raises(ReportgenError):
        write_atomically({html: "NEW HTML", data: "NEW JSON"})
    assert not html.exists() and data.read_text() == "OLD JSON"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_an_interrupt_between_the_renames_puts_the_old_files_back(tmp_path, monkeypatch):
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    html.write_text("OLD HTML")
    data.write_text("OLD JSON")
    failing_on_call(2, monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        write_atomically({html: "NEW HTML", data: "NEW JSON"})
    assert html.read_text() == "OLD HTML" and data.read_text() == "OLD JSON"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_a_backup_cut_short_by_a_full_disk_is_not_left(tmp_path, monkeypatch):
    """Without hard links the old file is copied aside; a copy the disk cuts short is removed."""
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    html.write_text("OLD HTML")
    data.write_text("OLD JSON")

    def no_link(source, destination):
        raise OSError(errno.EPERM, "Operation not permitted")

    def copy_cut_short(source, destination):
        Path(destination).write_bytes(Path(source).read_bytes()[:3])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output_module.os, "link", no_link)
    monkeypatch.setattr(output_module.shutil, "copy2", copy_cut_short)
    with pytest.raises(ReportgenError, match="No space left on device; free some space"):
        write_atomically({html: "NEW HTML", data: "NEW JSON"})
    assert html.read_text() == "OLD HTML" and data.read_text() == "OLD JSON"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


@pytest.mark.parametrize("code, advice", [(errno.ENOSPC, "free some space on that disk"),
                                          (errno.EDQUOT, "within the disk quota"),
                                          (errno.EFBIG, "another file system"), (errno.EIO, "check that disk")])
def test_a_disk_that_refuses_a_write_leaves_no_file_or_folder(code, advice, tmp_path, monkeypatch):
    """The error can come at the write, the flush or the close: one line, and the folders made are gone."""
    def refuse(self, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(output_module.tempfile._TemporaryFileWrapper, "close", refuse)
    target = tmp_path / "new" / "deeper" / "report.html"
    with pytest.raises(ReportgenError, match=f"cannot write {target}: {os.strerror(code)}; .*{advice}"):
        write_atomically({target: "<p>"})
    with pytest.raises(ReportgenError, match=f"cannot write {target}: {os.strerror(code)}; .*{advice}"):
        with output_module.atomic_file(target) as handle:
            handle.write(b"x")
            raise OSError(code, os.strerror(code))
    assert list(tmp_path.iterdir()) == []


def test_a_working_file_is_named_only_where_it_is_what_to_fix(tmp_path):
    """A file kept for an asked-for output (a scan's .partial): a full disk names the output alone, as given;
    a working file that is refused for itself (a permission) is named beside the output."""
    output, working = tmp_path / "scan.json", tmp_path / "scan.json.partial"
    with pytest.raises(ReportgenError) as full:
        with output_module.writing(working, output):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(full.value).startswith(f"cannot write {output}: {os.strerror(errno.ENOSPC)}; free some space")
    assert ".partial" not in str(full.value)
    with pytest.raises(ReportgenError) as refused:
        with output_module.writing(working, output):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    assert str(refused.value) == f"cannot write {output} (its working file {working}): {os.strerror(errno.EACCES)}"


def test_both_files_change_when_nothing_fails(tmp_path):
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    html.write_text("OLD HTML")
    write_atomically({html: "NEW HTML", data: "NEW JSON"})
    assert html.read_text() == "NEW HTML" and data.read_text() == "NEW JSON"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_unwritable_places_are_found_before_any_work(tmp_path):
    with pytest.raises(ReportgenError, match="cannot write /proc"):
        check_writable([Path("/proc/x.html")])
    with pytest.raises(ReportgenError, match="is a directory"):
        check_writable([tmp_path])
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ReportgenError, match="cannot write"):
        check_writable([blocker / "sub" / "r.json"])
    with pytest.raises(ReportgenError, match="two different outputs"):
        check_writable([tmp_path / "same.html", tmp_path / "same.html"])
    check_writable([tmp_path / "new" / "deeper" / "report.html", None])
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]  # the probe file and the folders made for it are gone
    (tmp_path / "kept").mkdir()
    check_writable([tmp_path / "kept" / "report.html"])
    assert (tmp_path / "kept").is_dir()  # a folder that was there stays
    write_atomically({tmp_path / "new" / "deeper" / "report.html": "<p>"})  # the writer makes the folders
    assert (tmp_path / "new" / "deeper" / "report.html").read_text() == "<p>"


@pytest.mark.parametrize("command", ["report", "scan"])
def test_an_unwritable_output_fails_before_models_are_loaded(command, monkeypatch, tmp_path):
    import reportgen.commands.scan as scan_command
    from reportgen.api import ModelSpec

    def never(*args, **kwargs):
        raise AssertionError("models were loaded although the output cannot be written")

    monkeypatch.setattr(ModelSpec, "load", never)
    monkeypatch.setattr(scan_command, "open_dataset", never)
    for name in ("b.pth", "f.pth"):  # there, so that only the output is wrong
        (tmp_path / name).touch()
    args = [command, "--base", str(tmp_path / "b.pth"), "--finetuned", str(tmp_path / "f.pth"), "--dataset", "d.csv",
            "-q"]
    args += ["--indices", "0", "-o", "/proc/x.html"] if command == "report" else ["-o", "/proc/x.csv"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "Error: cannot write /proc/x" in result.output


def test_batch_size_help_is_true_for_each_command():
    scan_help = CliRunner().invoke(main, ["scan", "--help"]).output
    report_help = CliRunner().invoke(main, ["report", "--help"]).output
    scan_batch = scan_help.split("--batch-size")[1].split("--precision")[0]
    assert "backward" not in scan_batch and "path step" not in scan_batch
    assert "forward pass" in scan_batch
    assert "backward" in report_help.split("--batch-size")[1].split("--precision")[0]


def test_no_output_may_be_an_input_or_another_output_however_named(tmp_path, monkeypatch):
    """One check for every command: relative names, symlinks and hard links name the same file."""
    data = tmp_path / "in.json"
    data.write_text("{}")
    (tmp_path / "link.json").symlink_to(data)
    os.link(data, tmp_path / "hard.json")
    monkeypatch.chdir(tmp_path)
    for output in (data, Path("in.json"), Path("./sub/../in.json"), tmp_path / "link.json", tmp_path / "hard.json"):
        with pytest.raises(ReportgenError, match=r"would overwrite an input \(.*in\.json\); choose another"):
            check_writable([tmp_path / "r.html", output], inputs=[str(data), "a-hub/id", None, object()])
    with pytest.raises(ReportgenError, match=r"two different outputs \(r\.html and .*r\.html\)"):
        check_writable([Path("r.html"), tmp_path / "r.html"])
    with pytest.raises(ReportgenError, match="two different outputs"):
        check_writable([tmp_path / "link.json", tmp_path / "hard.json"])
    check_writable([tmp_path / "r.html", tmp_path / "r.json"], inputs=[data])
    assert data.read_text() == "{}"


@pytest.fixture
def report_json(tmp_path) -> Path:
    from tests.test_rendering import report, sample

    source = tmp_path / "in.json"
    source.write_text(report([sample(["[CLS]", "fine", "[SEP]"], "fine")]).to_json(), encoding="utf-8")
    return source


@pytest.mark.parametrize("outputs, expected", [
    (["-o", "{source}"], "would overwrite an input"),
    (["-o", "{dir}/r.html", "--json", "{source}"], "would overwrite an input"),
    (["-o", "{dir}/d.html", "--markdown", "{dir}/d.html"], "is named as two different outputs"),
    (["-o", "{dir}/d.html", "--json", "{dir}/./d.html"], "is named as two different outputs"),
])
def test_render_never_writes_over_its_input_or_one_output_over_another(outputs, expected, report_json):
    before = report_json.read_bytes()
    args = [a.format(source=report_json, dir=report_json.parent) for a in outputs]
    result = CliRunner().invoke(main, ["render", str(report_json), *args])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert expected in result.output and "Wrote" not in result.output, result.output
    assert report_json.read_bytes() == before
    assert sorted(p.name for p in report_json.parent.iterdir()) == ["in.json"]


def test_saving_a_loaded_report_over_its_json_is_refused(report_json):
    from reportgen.rendering.document import ExplainedReport

    loaded = ExplainedReport.load(report_json)
    with pytest.raises(ReportgenError, match="would overwrite an input"):
        loaded.save(json=report_json)
    with pytest.raises(ReportgenError, match="two different outputs"):
        loaded.save(report_json.parent / "a.html", markdown=report_json.parent / "a.html")
    loaded.save(report_json.parent / "a.html")
    assert (report_json.parent / "a.html").is_file()


def test_scan_refuses_an_output_over_its_dataset_before_loading_models(tmp_path, monkeypatch):
    from reportgen.loading import models
    from tests.builders import write_dataset

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded before the output check")

    monkeypatch.setattr(models, "load_model", no_loading)
    data = write_dataset(tmp_path / "rows.csv", "csv")
    before = data.read_bytes()
    checkpoint = tmp_path / "model.pth"
    checkpoint.write_bytes(b"not loaded")  # exists, so the torch-free file check passes
    result = CliRunner().invoke(main, ["scan", "--base", str(checkpoint), "--finetuned", str(checkpoint),
                                       "--dataset", str(data), "-o", str(data)])
    assert result.exit_code == 1 and "would overwrite an input" in result.output, result.output
    assert data.read_bytes() == before
