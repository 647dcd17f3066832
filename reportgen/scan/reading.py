"""Reading a scan file of any layout (`read_scan`): CSV (its header beside it, or a first-layout CSV's first
line), JSON, Parquet, and the JSON lines of a `.partial`; each refusal one line naming the file.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from reportgen.errors import ReportgenError
from reportgen.scan.layout import (
    COLUMNS,
    CSV_MARK,
    FORMAT,
    FORMAT_VERSION,
    PARQUET_KEY,
    ScanFile,
    ScanRow,
    check_extension,
    collects,
    partial_path,
    row_from_dict,
    row_from_strings,
    sidecar_path,
)


def _not_a_scan(path: Path) -> ReportgenError:
    return ReportgenError(f"{path} is not a reportgen scan file; give another -o, or --overwrite to replace it")


def _wrong_columns(path: Path, where: str = "") -> ReportgenError:
    return ReportgenError(f"{path}: expected the columns {','.join(COLUMNS)}{where}; rescan with --overwrite")


def _check_meta(meta: object, path: Path) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("settings"), dict):
        raise _not_a_scan(path)
    if meta.get("version") != FORMAT_VERSION:
        raise ReportgenError(f"{path} was written by another version of reportgen (scan format "
                             f"{meta.get('version')}, this one reads {FORMAT_VERSION}); rescan with --overwrite")
    return meta


def _parse_meta(text: str | bytes, path: Path, where: str) -> dict[str, Any]:
    """A header kept apart from the rows (CSV line 1 or sidecar, Parquet metadata): unreadable means damaged."""
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ReportgenError(f"{path}: {where} is damaged; rescan with --overwrite")
    return _check_meta(meta, path)


def _read_sidecar(path: Path) -> dict[str, Any]:
    sidecar = sidecar_path(path)
    try:
        text = sidecar.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportgenError(f"{path} has no {sidecar.name} beside it (the settings that made the scan); put it "
                             "back, or rescan with --overwrite") from None
    except (OSError, UnicodeDecodeError):
        text = ""
    return _parse_meta(text, path, f"its settings file {sidecar.name}")


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
        raise _not_a_scan(path) from None


def read_csv(path: Path) -> tuple[ScanFile, int | None]:
    """The scan, and how many bytes to keep when appending to it: None for a CSV of the first layout
    (header on line 1), which is rewritten in the current one rather than appended to."""
    lines, end = _complete_lines(path)
    legacy = bool(lines) and lines[0].startswith(CSV_MARK)
    body = lines[1:] if legacy else lines
    if not body or body[0].split(",") != COLUMNS:
        raise _wrong_columns(path, " on line 2") if legacy else _not_a_scan(path)
    if legacy:
        meta = _parse_meta(lines[0][len(CSV_MARK):], path, "its first line (what produced the scan)")
    else:
        meta = _read_sidecar(path)
    rows = []
    for number, values in enumerate(csv.DictReader(body), start=len(lines) - len(body) + 2):
        try:
            rows.append(row_from_strings(values))
        except (TypeError, ValueError, KeyError):
            raise ReportgenError(f"{path}: line {number} is damaged; rescan with --overwrite") from None
    return ScanFile(path, meta, _unique(rows, path), finished=True), None if legacy else end


def read_json_lines(path: Path) -> tuple[ScanFile, int]:
    lines, end = _complete_lines(path)
    try:
        meta = _check_meta(json.loads(lines[0]) if lines else None, path)
        rows = [row_from_dict(json.loads(line)) for line in lines[1:]]
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
        rows = [row_from_dict(row) for row in data["rows"]]
    except (TypeError, KeyError):
        raise ReportgenError(f"{path}: its rows are damaged; rescan with --overwrite") from None
    return ScanFile(path, meta, _unique(rows, path), finished=True)

def _read_parquet(path: Path) -> ScanFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        header = (parquet.schema_arrow.metadata or {}).get(PARQUET_KEY)
        if header is None:
            raise _not_a_scan(path)
        meta = _parse_meta(header, path, "its Parquet metadata (what produced the scan)")
        table = parquet.read()
    except (pa.ArrowException, OSError):
        raise _not_a_scan(path) from None
    if table.column_names != COLUMNS:
        raise _wrong_columns(path)
    return ScanFile(path, meta, _unique([row_from_dict(row) for row in table.to_pylist()], path), finished=True)


def read_finished(path: Path) -> ScanFile:
    """A scan file as it is on disk, leaving out any .partial beside it."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".parquet":
        return _read_parquet(path)
    return read_csv(path)[0]


def read_scan(path: Path) -> ScanFile:
    """Read a finished or unfinished scan (for `report --from-scan` and for resuming)."""
    check_extension(path)
    if collects(path) and partial_path(path).is_file():
        return read_json_lines(partial_path(path))[0]
    if not path.is_file():
        raise ReportgenError(f"no such scan file: {path}")
    return read_finished(path)


def describe_mismatch(recorded: dict[str, Any], current: dict[str, Any], keys: list[str] | None = None) -> list[str]:
    """'max_length: 128 in the file, 512 now' for each setting that differs."""
    return [f"{key}: {recorded.get(key)!r} in the file, {current.get(key)!r} now"
            for key in (keys if keys is not None else sorted(set(recorded) | set(current)))
            if recorded.get(key) != current.get(key)]

