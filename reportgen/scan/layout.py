"""What a scan file is: its formats and their paths (the CSV's header beside it, the `.partial` a JSON or Parquet
scan collects its rows in, each torchrun rank's log), one row (`ScanRow`) and what a file holds (`ScanFile`).
Read in `reading.py`, written in `records.py` (docs there)."""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.errors import ReportgenError

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


def row_from_strings(values: dict[str, str]) -> ScanRow:
    label = values["label"]
    return ScanRow(index=int(values["index"]), label=int(label) if label not in ("", None) else None,
                   base_pred=int(values["base_pred"]), base_prob=float(values["base_prob"]),
                   finetuned_pred=int(values["finetuned_pred"]), finetuned_prob=float(values["finetuned_prob"]),
                   gap=float(values["gap"]))


def row_from_dict(values: dict[str, Any]) -> ScanRow:
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


def parquet_schema(meta: dict[str, Any]) -> pyarrow.Schema:
    """Typed columns (a missing label is null, not NaN), and the header in the schema metadata."""
    import pyarrow as pa

    types = {"index": pa.int64(), "label": pa.int64(), "base_pred": pa.int64(), "base_prob": pa.float64(),
             "finetuned_pred": pa.int64(), "finetuned_prob": pa.float64(), "gap": pa.float64()}
    return pa.schema([pa.field(name, types[name], nullable=name == "label") for name in COLUMNS],
                     metadata={PARQUET_KEY: json.dumps(meta, ensure_ascii=False).encode("utf-8")})

