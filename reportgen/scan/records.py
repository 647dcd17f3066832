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
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

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
from reportgen.scan.layout import (
    COLUMNS,
    ScanRow,
    check_extension,
    collects,
    parquet_schema,
    partial_path,
    rank_log_path,
    sidecar_path,
)
from reportgen.scan.reading import describe_mismatch, read_csv, read_finished, read_json_lines


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

    table = pa.Table.from_pylist([asdict(r) for r in rows], schema=parquet_schema(meta))
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
            existing, end = read_finished(self.path), None  # finished: its rows seed a new .partial
        elif self.collects:
            existing, end = read_json_lines(self.log_path)
        else:
            existing, end = read_csv(self.log_path)  # end None: a first-layout CSV, rewritten
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
            existing, _ = read_json_lines(log)
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
