"""A corpus's per-row results on disk: Parquet shards written as rows finish, resumed, merged.

The folder (`--scores DIR`) holds:

* `meta.json`: what made the rows (models by SHA-256, method, max length, dataset, …). A rerun
  resumes only onto rows made the same way; anything else is refused before any work.
* `parts/<run>-r<rank>-<n>.parquet`: one small file per finished batch, written atomically, so a
  killed run loses at most the batch in flight. Each rank writes its own; every part also
  carries the settings in its schema metadata.
* `rows.parquet`: the merge, one row per dataset row, sorted by index, written by rank 0 when
  every rank is done (a k-way merge of sorted runs, so memory does not grow with the rows). The
  parts it absorbed are deleted afterwards.

The Parquet columns are `CorpusRow`'s fields; `pandas.read_parquet(DIR / "rows.parquet")` reads them.
"""

from __future__ import annotations

import heapq
import itertools
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import reportgen
from reportgen.corpus.plausibility import COLUMNS as PLAUSIBILITY_COLUMNS
from reportgen.corpus.run import CorpusRow
from reportgen.errors import ReportgenError
from reportgen.output import atomic_file, make_folders, remove_folders, remove_quietly, write_atomically, writing
from reportgen.scan.reading import describe_mismatch

if TYPE_CHECKING:
    import pyarrow

FORMAT = "reportgen-corpus"
FORMAT_VERSION = 5  # 2: the integrated-gradients columns (steps, delta, logit change per model); 3: converged
# and score error per model; 4: LIME's fit per model; 5: auto steps' settings name the score errors' estimator
# (`choices.ESTIMATOR`: rows of format 3–4 hold another's errors, judged by another guard)
PARQUET_KEY = FORMAT.encode()  # the schema metadata entry holding the settings
META = "meta.json"
MERGED = "rows.parquet"
PARTS = "parts"
MERGE_GROUP_ROWS = 1024  # rows per row group of the merged file
COLUMNS = [f.name for f in fields(CorpusRow)]


def schema(settings: dict[str, Any]) -> pyarrow.Schema:
    """Typed columns (a missing label is null; scores float32, all fp32 arithmetic vouches for) and the
    settings in the schema metadata, so every file says what made it."""
    import pyarrow as pa

    integer, number, text = pa.int64(), pa.float64(), pa.string()
    types = {"index": integer, "label": integer, "target": integer, "truncated": pa.bool_(),
             "words": pa.list_(text), "starts": pa.list_(pa.int32()), "ends": pa.list_(pa.int32()),
             "base_scores": pa.list_(pa.float32()), "finetuned_scores": pa.list_(pa.float32())}
    optional = {"label"}  # null where unknown; the path columns are null for methods without a path
    for role in ("base", "finetuned"):
        types |= {f"{role}_pred": integer, f"{role}_prob": number, f"{role}_target_prob": number,
                  f"{role}_total": number, f"{role}_steps": integer, f"{role}_delta": number,
                  f"{role}_logit_change": number, f"{role}_converged": pa.bool_(), f"{role}_score_error": number,
                  f"{role}_fit": number}
        optional |= {f"{role}_steps", f"{role}_delta", f"{role}_logit_change", f"{role}_converged",
                     f"{role}_score_error", f"{role}_fit"}
    for name in PLAUSIBILITY_COLUMNS:  # null without a rationale
        types[name] = number
        optional.add(name)
    return pa.schema([pa.field(name, types[name], nullable=name in optional) for name in COLUMNS],
                     metadata={PARQUET_KEY: json.dumps(settings, sort_keys=True).encode("utf-8")})


def corpus_meta(settings: dict[str, Any], class_names: list[str], models: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": FORMAT, "version": FORMAT_VERSION, "settings": settings, "class_names": class_names,
            "models": models, "reportgen": reportgen.__version__,
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _file_settings(path: Path) -> dict[str, Any] | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        header = (pq.read_schema(path).metadata or {}).get(PARQUET_KEY)
        return json.loads(header) if header is not None else None
    except (pa.ArrowException, OSError, ValueError):
        return None


class CorpusStore:
    """The --scores folder of one corpus: its settings, the rows done, writers for new rows, the merge.

    A write that fails is one line naming the folder (as given), never a part or temporary file in it."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder = folder
        self.meta = meta
        self.schema = schema(meta["settings"])
        self.started = False  # True once this run has written meta.json: the whole store is its own
        self._folders: list[Path] = []  # folders this run made, removed again if it fails

    @property
    def settings(self) -> dict[str, Any]:
        return self.meta["settings"]

    @property
    def merged_path(self) -> Path:
        return self.folder / MERGED

    @property
    def parts_dir(self) -> Path:
        return self.folder / PARTS

    # --- opening -------------------------------------------------------------------------------------

    @classmethod
    def prepare(cls, folder: Path, meta: dict[str, Any], *, overwrite: bool) -> CorpusStore:
        """Rank 0, before any work: resume a folder made with the same settings, or start one.

        A folder with other settings, or one that is not a corpus folder and not empty, is refused
        (--overwrite empties a corpus folder; it never deletes files it did not write).
        """
        store = cls(folder, meta)
        recorded = store._recorded_meta()
        if overwrite:
            store._clear()
            recorded = None
        elif recorded is None and folder.is_dir() and any(folder.iterdir()):
            raise ReportgenError(f"{folder} is not empty and holds no reportgen corpus; give --scores a new or empty "
                                 "folder")
        if recorded is not None:
            store.check_settings(recorded["settings"], folder / META)
            store.meta = recorded  # keeps when and with which reportgen the corpus began
            return store
        try:
            with writing(folder):
                make_folders(folder, store._folders)
            write_atomically({folder / META: json.dumps(meta, indent=1, sort_keys=True) + "\n"}, folder)
            store.started = True
        except BaseException:
            store.discard()
            raise
        return store

    def discard(self) -> None:
        """Rank 0, after a failure: remove what this run started. A store it began goes whole (meta.json,
        parts, merged rows and the folders made for them); a resumed one keeps its rows and loses only
        an empty parts folder. Cannot fail: what cannot be removed is left, the first error is what counts."""
        try:
            if self.started:
                remove_quietly([self.folder / META, self.merged_path, *self._parts()])
            self._drop_empty_parts_dir()
        except OSError:
            pass
        remove_folders(self._folders)

    @classmethod
    def join(cls, folder: Path, meta: dict[str, Any], rank: int) -> CorpusStore:
        """Other ranks, after rank 0 prepared the folder: it must be the same folder (a shared file system)."""
        store = cls(folder, meta)
        recorded = store._recorded_meta()
        if recorded is None:
            raise ReportgenError(f"rank {rank} cannot see {folder / META}, which rank 0 wrote: give --scores a "
                                 "folder on a file system every node shares")
        store.check_settings(recorded["settings"], folder / META)
        store.meta = recorded
        return store

    @classmethod
    def load(cls, folder: Path) -> CorpusStore:
        """A finished corpus folder, to read its rows (`read`) or settings (`meta`) without the models."""
        store = cls.__new__(cls)
        store.folder = folder
        recorded = store._recorded_meta()
        if recorded is None:
            raise ReportgenError(f"{folder} holds no reportgen corpus (no {META})")
        return cls(folder, recorded)

    def _recorded_meta(self) -> dict[str, Any] | None:
        path = self.folder / META
        if not path.is_file():
            return None
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            meta = None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("settings"), dict):
            raise ReportgenError(f"{path} is damaged or not a reportgen corpus; pass --overwrite to start again")
        if meta.get("version") != FORMAT_VERSION:
            raise ReportgenError(f"{self.folder} was written by another version of reportgen (corpus format "
                                 f"{meta.get('version')}; this one reads {FORMAT_VERSION}, whose rows have other "
                                 "columns): give --scores a new folder, or pass --overwrite to start this one again")
        return meta

    def check_settings(self, recorded: dict[str, Any], where: Path) -> None:
        differences = describe_mismatch(recorded, self.settings)
        if differences:
            raise ReportgenError(f"{where} holds rows made with other models or settings ({'; '.join(differences)}); "
                                 "rerun with the same settings to resume, or pass --overwrite (or another --scores) "
                                 "to start again")

    def _clear(self) -> None:
        """Delete what a corpus writes (and nothing else) from the folder."""
        for path in [self.folder / META, self.merged_path, *self._parts()]:
            path.unlink(missing_ok=True)

    # --- what is done ----------------------------------------------------------------------------------

    def _parts(self) -> list[Path]:
        return sorted(self.parts_dir.glob("*.parquet")) if self.parts_dir.is_dir() else []

    def _files(self) -> list[Path]:
        return ([self.merged_path] if self.merged_path.is_file() else []) + self._parts()

    def done(self, dataset_rows: int) -> np.ndarray:
        """A flag per dataset row: computed already (one byte a row, whatever the corpus's size)."""
        import pyarrow.parquet as pq

        flags = np.zeros(dataset_rows, dtype=bool)
        for path in self._files():
            self._check_file(path)
            flags[pq.read_table(path, columns=["index"]).column("index").to_numpy()] = True
        return flags

    def _check_file(self, path: Path) -> None:
        """A Parquet file with other settings (copied in, or a damaged write) must not mix with the rest."""
        recorded = _file_settings(path)
        if recorded is None:
            raise ReportgenError(f"{path} is not a reportgen corpus shard (unreadable, or no settings in its "
                                 "metadata); delete it, or pass --overwrite to start again")
        self.check_settings(recorded, path)

    # --- writing -------------------------------------------------------------------------------------

    def writer(self, rank: int) -> PartWriter:
        with writing(self.parts_dir, self.folder):
            self.parts_dir.mkdir(parents=True, exist_ok=True)
        return PartWriter(self, rank)

    def table(self, rows: Iterable[dict[str, Any]]) -> pyarrow.Table:
        import pyarrow as pa

        return pa.Table.from_pylist(list(rows), schema=self.schema)

    # --- merging and reading ---------------------------------------------------------------------------

    def _runs(self) -> list[list[Path]]:
        """Sorted runs: the merged file, and each writer's parts in order (each writer's rows ascend)."""
        runs: dict[str, list[Path]] = {}
        for part in self._parts():
            runs.setdefault(part.stem.rsplit("-", 1)[0], []).append(part)
        merged = [[self.merged_path]] if self.merged_path.is_file() else []
        return merged + [sorted(v) for _, v in sorted(runs.items())]

    def merge(self) -> int:
        """Fold every part into rows.parquet, sorted by index, each row once; returns the row count.

        Rank 0, after every rank finished. Memory: one batch per run plus one row group. A kill
        midway leaves rows.parquet and the parts as they were, so the next run merges again.
        """
        import pyarrow.parquet as pq

        parts = self._parts()
        if not parts and self.merged_path.is_file():
            self._drop_empty_parts_dir()
            return pq.ParquetFile(self.merged_path).metadata.num_rows
        for path in self._files():
            self._check_file(path)
        streams = [_rows_of(run) for run in self._runs()]
        count, last, group = 0, None, []
        with atomic_file(self.merged_path, self.folder) as handle, pq.ParquetWriter(handle, self.schema) as writer:
            for row in heapq.merge(*streams, key=lambda r: r["index"]):
                if row["index"] == last:
                    continue  # the same row in two places (a kill between a merge and deleting its parts)
                last = row["index"]
                group.append(row)
                if len(group) == MERGE_GROUP_ROWS:
                    writer.write_table(self.table(group))
                    count, group = count + len(group), []
            if group or not count:
                writer.write_table(self.table(group))
                count += len(group)
        for part in parts:
            part.unlink(missing_ok=True)
        self._drop_empty_parts_dir()
        return count

    def _drop_empty_parts_dir(self) -> None:
        if self.parts_dir.is_dir() and not any(self.parts_dir.iterdir()):
            self.parts_dir.rmdir()

    def read(self, columns: list[str] | None = None, batch_rows: int = 512) -> Iterator[list[dict[str, Any]]]:
        """The merged rows in index order, a batch at a time, with `columns` (None: all)."""
        import pyarrow.parquet as pq

        if not self.merged_path.is_file():
            return
        for batch in pq.ParquetFile(self.merged_path).iter_batches(batch_size=batch_rows, columns=columns):
            yield batch.to_pylist()


def _rows_of(files: list[Path]) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=MERGE_GROUP_ROWS):
            yield from batch.to_pylist()


class PartWriter:
    """One rank's writer: each finished batch becomes one Parquet part, atomically."""

    def __init__(self, store: CorpusStore, rank: int) -> None:
        self.store = store
        # Parts of one writer sort in the order written; the run is unique (start time, random, rank).
        self.run = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}-r{rank:05d}"
        self.counter = itertools.count()

    def write(self, rows: list[CorpusRow]) -> None:
        import pyarrow.parquet as pq

        if not rows:
            return
        table = self.store.table(asdict(r) for r in sorted(rows, key=lambda r: r.index))
        path = self.store.parts_dir / f"{self.run}-{next(self.counter):06d}.parquet"
        with atomic_file(path, self.store.folder) as handle:
            pq.write_table(table, handle)
