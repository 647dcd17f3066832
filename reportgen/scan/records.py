"""Scan results on disk: one row per dataset row, plus a header that says what produced them.

Rows are appended and flushed batch by batch, so an interrupted scan keeps everything it
computed; the header (`settings`) lets a rerun resume only onto a file made the same way.
CSV files carry the header as a first comment line (`pandas.read_csv(path, comment="#")`
reads them); JSON files collect rows in `<name>.partial` (JSON lines) and become one JSON
document, written atomically, when the scan finishes.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from reportgen.errors import ReportgenError
from reportgen.rendering.output import write_atomically

FORMAT = "reportgen-scan"
FORMAT_VERSION = 1
CSV_MARK = "# reportgen-scan "
EXTENSIONS = (".csv", ".json")


@dataclass(frozen=True)
class ScanRow:
    """Both models' verdicts on one dataset row; probabilities are rounded to 6 decimals."""

    index: int
    label: int | None
    base_pred: int
    base_prob: float  # the base model's probability of its own predicted class
    finetuned_pred: int
    finetuned_prob: float
    gap: float  # total-variation distance between the two probability vectors: ½ Σ |p_base − p_finetuned|

    def wrong(self, role: str) -> bool | None:
        """Whether `role` ("base" or "finetuned") missed the label; None when there is no label."""
        if self.label is None:
            return None
        return getattr(self, f"{role}_pred") != self.label

    @property
    def disagree(self) -> bool:
        return self.base_pred != self.finetuned_pred


COLUMNS = [f.name for f in fields(ScanRow)]


def _row_from_strings(values: dict[str, str]) -> ScanRow:
    label = values["label"]
    return ScanRow(index=int(values["index"]), label=int(label) if label not in ("", None) else None,
                   base_pred=int(values["base_pred"]), base_prob=float(values["base_prob"]),
                   finetuned_pred=int(values["finetuned_pred"]), finetuned_prob=float(values["finetuned_prob"]),
                   gap=float(values["gap"]))


def _row_from_dict(values: dict[str, Any]) -> ScanRow:
    return ScanRow(**{name: values[name] for name in COLUMNS})


@dataclass
class ScanFile:
    """What a scan file holds: its header and the rows computed so far (in file order)."""

    path: Path
    meta: dict[str, Any]
    rows: list[ScanRow]
    finished: bool  # False for a JSON scan whose rows are still in its .partial

    def missing(self) -> int:
        """Dataset rows the scan has not reached (interrupted, or run with --limit)."""
        return self.settings["dataset_rows"] - len(self.rows)

    @property
    def settings(self) -> dict[str, Any]:
        return self.meta["settings"]


def check_extension(path: Path) -> None:
    if path.suffix.lower() not in EXTENSIONS:
        raise ReportgenError(f"{path}: scan results are written as .csv or .json; choose one of those extensions")


def partial_path(path: Path) -> Path:
    """Where a JSON scan collects its rows until it is finished."""
    return path.with_name(path.name + ".partial")


def _check_meta(meta: object, path: Path) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("settings"), dict):
        raise ReportgenError(f"{path} is not a reportgen scan file; give another -o, or --overwrite to replace it")
    if meta.get("version") != FORMAT_VERSION:
        raise ReportgenError(f"{path} was written by another version of reportgen (scan format "
                             f"{meta.get('version')}, this one reads {FORMAT_VERSION}); rescan with --overwrite")
    return meta


def _unique(rows: list[ScanRow], path: Path) -> list[ScanRow]:
    seen: set[int] = set()
    for row in rows:
        if row.index in seen:
            raise ReportgenError(f"{path} lists row {row.index} twice; it is damaged: rescan with --overwrite")
        seen.add(row.index)
    return rows


def _complete_lines(path: Path) -> tuple[list[str], int]:
    """Lines that end in a newline, and how many bytes they take: a line cut short by a kill is left out."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    try:
        return data[:end].decode("utf-8").splitlines(), end
    except UnicodeDecodeError:
        raise ReportgenError(f"{path} is not a reportgen scan file; give another -o, or --overwrite to "
                             "replace it") from None


def _read_csv(path: Path) -> tuple[ScanFile, int]:
    lines, end = _complete_lines(path)
    if not lines or not lines[0].startswith(CSV_MARK):
        raise ReportgenError(f"{path} is not a reportgen scan file; give another -o, or --overwrite to replace it")
    try:
        meta = json.loads(lines[0][len(CSV_MARK):])
    except json.JSONDecodeError:
        raise ReportgenError(f"{path}: its first line (what produced the scan) is damaged; "
                             "rescan with --overwrite") from None
    meta = _check_meta(meta, path)
    body = lines[1:]
    if body and body[0].split(",") != COLUMNS:
        raise ReportgenError(f"{path}: expected the columns {','.join(COLUMNS)} on line 2")
    rows = []
    for number, values in enumerate(csv.DictReader(body), start=3):
        try:
            rows.append(_row_from_strings(values))
        except (TypeError, ValueError, KeyError):
            raise ReportgenError(f"{path}: line {number} is damaged; rescan with --overwrite") from None
    return ScanFile(path, meta, _unique(rows, path), finished=True), end


def _read_json_lines(path: Path) -> tuple[ScanFile, int]:
    lines, end = _complete_lines(path)
    try:
        meta = _check_meta(json.loads(lines[0]) if lines else None, path)
        rows = [_row_from_dict(json.loads(line)) for line in lines[1:]]
    except (json.JSONDecodeError, TypeError, KeyError):
        raise ReportgenError(f"{path} is damaged; rescan with --overwrite") from None
    return ScanFile(path, meta, _unique(rows, path), finished=False), end


def _read_json(path: Path) -> ScanFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise ReportgenError(f"{path} is not a reportgen scan file (not valid JSON); give another -o, "
                             "or --overwrite to replace it") from None
    meta = _check_meta(data.get("meta") if isinstance(data, dict) else None, path)
    try:
        rows = [_row_from_dict(row) for row in data["rows"]]
    except (TypeError, KeyError):
        raise ReportgenError(f"{path}: its rows are damaged; rescan with --overwrite") from None
    return ScanFile(path, meta, _unique(rows, path), finished=True)


def read_scan(path: Path) -> ScanFile:
    """Read a finished or unfinished scan (for `report --from-scan` and for resuming)."""
    check_extension(path)
    if path.suffix.lower() == ".json":
        partial = partial_path(path)
        if partial.is_file():
            return _read_json_lines(partial)[0]
        if not path.is_file():
            raise ReportgenError(f"no such scan file: {path}")
        return _read_json(path)
    if not path.is_file():
        raise ReportgenError(f"no such scan file: {path}")
    return _read_csv(path)[0]


def describe_mismatch(recorded: dict[str, Any], current: dict[str, Any], keys: list[str] | None = None) -> list[str]:
    """'max_length: 128 in the file, 512 now' for each setting that differs."""
    return [f"{key}: {recorded.get(key)!r} in the file, {current.get(key)!r} now"
            for key in (keys if keys is not None else sorted(set(recorded) | set(current)))
            if recorded.get(key) != current.get(key)]


def _csv_text(rows: list[ScanRow], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else value for value in asdict(row).values()])
    return buffer.getvalue()


def csv_document(meta: dict[str, Any], rows: list[ScanRow]) -> str:
    return CSV_MARK + json.dumps(meta, ensure_ascii=False) + "\n" + _csv_text(rows, header=True)


def json_document(meta: dict[str, Any], rows: list[ScanRow], summary: dict[str, Any]) -> str:
    return json.dumps({"meta": meta, "summary": summary, "rows": [asdict(r) for r in rows]},
                      indent=1, ensure_ascii=False, allow_nan=False) + "\n"


class ScanLog:
    """An output file that rows are appended to as batches finish, then finalised.

    Opening it resumes an existing file, but only one made with the same settings.
    """

    def __init__(self, path: Path, meta: dict[str, Any], *, overwrite: bool) -> None:
        check_extension(path)
        self.path = path
        self.meta = meta
        self.is_json = path.suffix.lower() == ".json"
        self.log_path = partial_path(path) if self.is_json else path
        self.added = 0
        self._handle = None
        self.rows: list[ScanRow] = []
        if overwrite:
            self._start([])
        else:
            self._resume()

    def _resume(self) -> None:
        """Keep the rows already computed with the same settings; refuse a file made differently."""
        if not (self.log_path.is_file() or self.path.is_file()):
            self._start([])
            return
        if self.is_json and not self.log_path.is_file():
            existing, end = _read_json(self.path), None  # finished: its rows seed a new .partial
        elif self.is_json:
            existing, end = _read_json_lines(self.log_path)
        else:
            existing, end = _read_csv(self.log_path)
        differences = describe_mismatch(existing.settings, self.meta["settings"])
        if differences:
            raise ReportgenError(
                f"{existing.path} holds a scan made with other settings ({'; '.join(differences)}); rerun with "
                "the same settings to resume it, or pass --overwrite (or another -o) to start again")
        self.meta = existing.meta  # keeps when and with which reportgen the scan began
        self.rows = list(existing.rows)
        if end is None:
            self._start(self.rows)
            return
        try:
            with self.log_path.open("r+b") as handle:  # drop a last line cut short by a kill
                handle.truncate(end)
            self._handle = self.log_path.open("a", encoding="utf-8", newline="")
        except OSError as exc:
            raise ReportgenError(f"cannot append to {self.log_path}: {exc.strerror or exc}") from None

    def _start(self, rows: list[ScanRow]) -> None:
        """A log holding the header and `rows`, written atomically so no half header is ever left."""
        if self.is_json:
            text = "".join(json.dumps(item, ensure_ascii=False) + "\n"
                           for item in [self.meta] + [asdict(r) for r in rows])
        else:
            text = csv_document(self.meta, rows)
        write_atomically({self.log_path: text})
        self._handle = self.log_path.open("a", encoding="utf-8", newline="")

    def done(self) -> set[int]:
        return {row.index for row in self.rows}

    def append(self, rows: list[ScanRow]) -> None:
        """Write a finished batch and flush it, so an interrupt loses at most the batch in flight."""
        if self.is_json:
            text = "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in rows)
        else:
            text = _csv_text(rows, header=False)
        self._handle.write(text)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.rows.extend(rows)
        self.added += len(rows)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def finalise(self, summary: dict[str, Any]) -> list[ScanRow]:
        """Rewrite the file sorted by row index, atomically; a JSON scan becomes one document."""
        self.close()
        rows = sorted(self.rows, key=lambda r: r.index)
        if self.is_json:
            write_atomically({self.path: json_document(self.meta, rows, summary)})
            self.log_path.unlink(missing_ok=True)
        else:
            write_atomically({self.path: csv_document(self.meta, rows)})
        return rows
