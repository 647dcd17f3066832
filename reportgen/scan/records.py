"""Scan results on disk: one row per dataset row, plus a header (`meta`) that says what produced them.

Rows are appended and flushed batch by batch, so an interrupted scan keeps everything it
computed; the header's `settings` let a rerun resume only onto a file made the same way.

* CSV: a plain header-plus-rows file, so pandas, `csv`, spreadsheets and DuckDB read it as it is;
  the header lives beside it in `<name>.meta.json`. Rows are appended to the CSV itself. CSVs of
  the first layout (the header as a `# reportgen-scan {...}` first line) are still read, and
  rewritten in this layout when a scan resumes onto them.
* JSON and Parquet cannot be appended to: rows are collected in `<name>.partial` (JSON lines,
  the header first) and the file is written whole, atomically, when the scan finishes. Parquet
  keeps typed columns (`label` a nullable int) and the header in its schema metadata.
"""

from __future__ import annotations

import csv
import glob
import io
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.errors import ReportgenError
from reportgen.output import (
    AppendedFile,
    atomic_file,
    make_folders,
    remove_folders,
    remove_quietly,
    write_atomically,
    writing,
)

if TYPE_CHECKING:
    import pyarrow

FORMAT = "reportgen-scan"
FORMAT_VERSION = 1
CSV_MARK = "# reportgen-scan "  # the first CSV layout's header line; read, never written
PARQUET_KEY = FORMAT.encode()  # the Parquet schema metadata entry holding the header
EXTENSIONS = (".csv", ".json", ".parquet")
COLLECTED = (".json", ".parquet")  # formats written whole at the end, their rows collected in a .partial


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
    finished: bool  # False for a JSON or Parquet scan whose rows are still in its .partial

    def missing(self) -> int:
        """Dataset rows the scan has not reached (interrupted, or run with --limit)."""
        return self.settings["dataset_rows"] - len(self.rows)

    @property
    def settings(self) -> dict[str, Any]:
        return self.meta["settings"]


def check_extension(path: Path) -> None:
    if path.suffix.lower() not in EXTENSIONS:
        raise ReportgenError(f"{path}: scan results are written as .csv, .json or .parquet; choose one of those "
                             "extensions")


def collects(path: Path) -> bool:
    """Whether the format is written whole at the end (JSON, Parquet), its rows collected in a .partial."""
    return path.suffix.lower() in COLLECTED


def partial_path(path: Path) -> Path:
    """Where a JSON or Parquet scan collects its rows until it is finished."""
    return path.with_name(path.name + ".partial")


def rank_log_path(path: Path, rank: int) -> Path:
    """Where rank `rank` of a scan launched by torchrun collects its rows until rank 0 merges them."""
    return path.with_name(f"{path.name}.rank{rank}.partial")


def rank_logs(path: Path) -> list[Path]:
    """Every rank's log beside `path`, this run's or an interrupted earlier run's (any world size)."""
    return sorted(path.parent.glob(f"{glob.escape(path.name)}.rank*.partial"))


def sidecar_path(path: Path) -> Path:
    """Where a CSV scan keeps its header, so that the CSV itself is only the header row and the rows."""
    return path.with_name(path.name + ".meta.json")


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


def _read_csv(path: Path) -> tuple[ScanFile, int | None]:
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
            rows.append(_row_from_strings(values))
        except (TypeError, ValueError, KeyError):
            raise ReportgenError(f"{path}: line {number} is damaged; rescan with --overwrite") from None
    return ScanFile(path, meta, _unique(rows, path), finished=True), None if legacy else end


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


def _parquet_schema(meta: dict[str, Any]) -> pyarrow.Schema:
    """Typed columns (a missing label is null, not NaN), and the header in the schema metadata."""
    import pyarrow as pa

    types = {"index": pa.int64(), "label": pa.int64(), "base_pred": pa.int64(), "base_prob": pa.float64(),
             "finetuned_pred": pa.int64(), "finetuned_prob": pa.float64(), "gap": pa.float64()}
    return pa.schema([pa.field(name, types[name], nullable=name == "label") for name in COLUMNS],
                     metadata={PARQUET_KEY: json.dumps(meta, ensure_ascii=False).encode("utf-8")})


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
    return ScanFile(path, meta, _unique([_row_from_dict(row) for row in table.to_pylist()], path), finished=True)


def _read_finished(path: Path) -> ScanFile:
    """A scan file as it is on disk, leaving out any .partial beside it."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".parquet":
        return _read_parquet(path)
    return _read_csv(path)[0]


def read_scan(path: Path) -> ScanFile:
    """Read a finished or unfinished scan (for `report --from-scan` and for resuming)."""
    check_extension(path)
    if collects(path) and partial_path(path).is_file():
        return _read_json_lines(partial_path(path))[0]
    if not path.is_file():
        raise ReportgenError(f"no such scan file: {path}")
    return _read_finished(path)


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


def csv_documents(path: Path, meta: dict[str, Any], rows: list[ScanRow]) -> dict[Path, str]:
    """A CSV scan's two files: the header beside it, then the plain CSV (renamed into place in that order)."""
    return {sidecar_path(path): json.dumps(meta, indent=1, ensure_ascii=False) + "\n",
            path: _csv_text(rows, header=True)}


def json_document(meta: dict[str, Any], rows: list[ScanRow], summary: dict[str, Any]) -> str:
    return json.dumps({"meta": meta, "summary": summary, "rows": [asdict(r) for r in rows]},
                      indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def write_parquet(path: Path, meta: dict[str, Any], rows: list[ScanRow]) -> None:
    """Written to a temporary sibling and renamed into place, so no half-written Parquet is ever left."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([asdict(r) for r in rows], schema=_parquet_schema(meta))
    with atomic_file(path) as handle:
        pq.write_table(table, handle)


class ScanLog:
    """An output file that rows are appended to as batches finish, then finalised.

    Opening it resumes an existing file, but only one made with the same settings. A log that
    fails (`discard`) removes the files it started; errors are one line (`ReportgenError`), naming
    `path`, the output asked for, never the `.partial` or settings file kept for it.
    """

    def __init__(self, path: Path, meta: dict[str, Any], *, overwrite: bool, rank: int | None = None) -> None:
        """`rank`: a rank's own log beside `path` (JSON lines, always started afresh), for rank 0 to absorb."""
        check_extension(path)
        self.path = path
        self.meta = meta
        self.collects = collects(path) or rank is not None
        self.log_path = rank_log_path(path, rank) if rank is not None else \
            partial_path(path) if self.collects else path
        self.added = 0
        self._handle: AppendedFile | None = None
        self.rows: list[ScanRow] = []
        self.fresh = overwrite or rank is not None or not (self.log_path.is_file() or path.is_file())
        # This run's own files, removed if it fails once written: a fresh log, or the .partial a finished
        # JSON or Parquet scan is grown in (never a file holding rows of an earlier run).
        self._owns = self.fresh or (self.collects and not self.log_path.is_file())
        self.started = False
        self._folders: list[Path] = []
        try:
            with writing(path):
                make_folders(path.parent, self._folders)
            if self.fresh:
                self._start([])
            else:
                self._resume()
        except BaseException:
            self.discard()
            raise

    def _resume(self) -> None:
        """Keep the rows already computed with the same settings; refuse a file made differently."""
        if self.collects and not self.log_path.is_file():
            existing, end = _read_finished(self.path), None  # finished: its rows seed a new .partial
        elif self.collects:
            existing, end = _read_json_lines(self.log_path)
        else:
            existing, end = _read_csv(self.log_path)  # end None: a first-layout CSV, rewritten
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
        with writing(self.log_path, self.path), self.log_path.open("r+b") as handle:  # drop a line cut short
            handle.truncate(end)
        self._handle = AppendedFile(self.log_path, self.path)

    def _start(self, rows: list[ScanRow]) -> None:
        """A log holding the header and `rows`, written atomically so no half header is ever left."""
        if self.collects:
            write_atomically({self.log_path: "".join(json.dumps(item, ensure_ascii=False) + "\n"
                                                      for item in [self.meta] + [asdict(r) for r in rows])}, self.path)
        else:
            write_atomically(csv_documents(self.path, self.meta, rows), self.path)
        # from here on the files are this run's (a first-layout CSV being rewritten was there before, so it is kept)
        self.started = self._owns
        self._handle = AppendedFile(self.log_path, self.path)

    def done(self) -> set[int]:
        return {row.index for row in self.rows}

    def absorb(self, logs: list[Path]) -> int:
        """Append the rows of other ranks' logs that this log lacks, then delete those logs.

        Only logs made with the same settings are taken: rank logs left by an interrupted run with
        other settings are refused like any other file made differently.
        """
        done, added = self.done(), 0
        for log in logs:
            if not log.is_file():
                raise ReportgenError(f"{log} is missing: every rank must write beside {self.path} on a file "
                                     "system that rank 0 sees too (a shared directory across nodes)")
            existing, _ = _read_json_lines(log)
            differences = describe_mismatch(existing.settings, self.meta["settings"])
            if differences:
                raise ReportgenError(f"{log} holds rows made with other settings ({'; '.join(differences)}); "
                                     "rerun with the same settings, or pass --overwrite to start again")
            fresh = [row for row in existing.rows if row.index not in done]
            if fresh:
                self.append(fresh)
                done.update(row.index for row in fresh)
                added += len(fresh)
        for log in logs:
            log.unlink(missing_ok=True)
        return added

    def append(self, rows: list[ScanRow]) -> None:
        """Write a finished batch and flush it, so an interrupt loses at most the batch in flight."""
        if self.collects:
            text = "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in rows)
        else:
            text = _csv_text(rows, header=False)
        self._handle.append(text)
        self.rows.extend(rows)
        self.added += len(rows)

    def close(self) -> None:
        """Close after success (an error writing what remains is one line)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def abandon(self) -> None:
        """Close after an interrupt, keeping the rows for a rerun to resume from; cannot fail."""
        if self._handle is not None:
            self._handle.abandon()
            self._handle = None

    def discard(self) -> None:
        """After a failure: remove the files this log started (a file it resumed keeps its rows), and
        the folders made for them. Cannot fail: a full disk that fails again on closing changes nothing."""
        try:
            self.abandon()
        finally:
            if self.started:
                remove_quietly([self.log_path] + ([] if self.collects else [sidecar_path(self.path)]))
            remove_folders(self._folders)

    def finalise(self, summary: dict[str, Any]) -> list[ScanRow]:
        """Rewrite the file sorted by row index, atomically; a JSON or Parquet scan is written whole."""
        self.close()
        rows = sorted(self.rows, key=lambda r: r.index)
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            write_atomically(csv_documents(self.path, self.meta, rows), self.path)
            return rows
        if suffix == ".json":
            write_atomically({self.path: json_document(self.meta, rows, summary)})
        else:
            write_parquet(self.path, self.meta, rows)
        self.log_path.unlink(missing_ok=True)
        return rows
