"""From a scan to the texts `reportgen report --from-scan` explains."""

from __future__ import annotations

from pathlib import Path

import click

from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.data import Rows, open_dataset
from reportgen.loading.models import LoadedModel
from reportgen.scan.layout import ScanFile
from reportgen.scan.predict import model_settings
from reportgen.scan.reading import describe_mismatch, read_scan
from reportgen.scan.selection import SELECTIONS, select_rows


def rows_from_scan(path: Path, select: str, top: int | None, order: str,
                   progress: bool = True) -> tuple[Rows, list[int]]:
    """The dataset a scan recorded and the rows it selects, most telling first; texts not read yet."""
    scan = read_scan(path)
    chosen = select_rows(scan.rows, select, top, order, source=str(path))
    if not chosen:
        raise OptionError(f"{path}: no scanned row fits {{select}} {select} ({SELECTIONS[select]}), "
                          "so there is nothing to report", "select")
    if scan.missing() > 0:
        click.echo(f"Note: {path} covers {len(scan.rows)} of the dataset's {scan.settings['dataset_rows']} rows "
                   "(interrupted, or run with --limit).", err=True)
    settings = scan.settings
    rows = open_dataset(settings["dataset"], settings["split"], text_column=settings["text_column"],
                        label_column=settings["label_column"], label_names=settings["label_names"],
                        text_pair_column=settings.get("text_pair_column"),
                        rationale_column=settings.get("rationale_column"), progress=progress)
    if len(rows) != settings["dataset_rows"]:
        raise ReportgenError(f"{settings['dataset']} has {len(rows)} rows now, but {settings['dataset_rows']} "
                             f"when {path} was made; rescan it")
    return rows, [row.index for row in chosen]


def check_scan_models(scan: ScanFile, models: dict[str, LoadedModel], max_length: int) -> None:
    """A scan's choice of rows only means something for the models (and max length) that made it."""
    current = model_settings(models, max_length)
    differences = describe_mismatch(scan.settings, current, keys=list(current))
    if differences:
        raise ReportgenError(f"{scan.path} was made with other models or settings ({'; '.join(differences)}); "
                             "report with the same --base, --finetuned, --encoder, --pooling and --max-length, "
                             "or rescan")
