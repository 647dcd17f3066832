"""`reportgen scan`: predict every row with both models, count outcomes, pick rows to report."""

from __future__ import annotations

import time
from pathlib import Path

import click
from tqdm.auto import tqdm

from reportgen.batching import default_batch_size
from reportgen.commands.report import load_pair
from reportgen.errors import ReportgenError
from reportgen.loading.data import Rows, open_dataset
from reportgen.loading.models import LoadedModel, check_max_length
from reportgen.pipeline import device_name, resolve_class_names
from reportgen.rendering.output import check_writable
from reportgen.scan.predict import predict_rows, scan_meta
from reportgen.scan.records import ScanLog, ScanRow, check_extension
from reportgen.scan.selection import (DEFAULT_TOP, NEEDS_LABELS, SELECTIONS, check_selection, count_outcomes,
                                      format_indices, format_outcomes, format_selection, labels_needed, select_rows)


def check_class_counts(models: dict[str, LoadedModel]) -> int:
    counts = {m.info.num_classes for m in models.values()}
    if len(counts) != 1:
        raise ReportgenError("the models have different numbers of classes: "
                             + ", ".join(f"{role} {m.info.num_classes}" for role, m in models.items()))
    return counts.pop()


def _predict_into(log: ScanLog, models: dict[str, LoadedModel], rows: Rows, todo: list[int], total: int, *,
                  max_length: int, batch_size: int, precision: str, progress: bool) -> float:
    """Append predictions to the log batch by batch; returns the seconds spent."""
    started = time.perf_counter()
    with tqdm(total=total, initial=total - len(todo), unit="row", desc="scan", disable=not progress,
              dynamic_ncols=True) as bar:
        for batch in predict_rows(models, rows, todo, max_length=max_length, batch_size=batch_size,
                                  precision=precision):
            log.append(batch)
            bar.update(len(batch))
    return time.perf_counter() - started


def run_scan(*, base: str, finetuned: str, encoder: str, pooling: str, max_length: int, device: str,
             batch_size: int | None, precision: str, dataset: str | None, split: str, text_column: str | None,
             label_column: str | None, label_names: list[str] | None, limit: int | None, output: Path,
             overwrite: bool, select: str | None, top: int | None, order: str, progress: bool) -> list[ScanRow]:
    """Scan (or resume scanning) the first `limit` rows, print the outcome table and any selection.

    On Ctrl-C the rows finished so far stay in the output and KeyboardInterrupt is re-raised.
    """
    check_extension(output)
    check_writable([output])  # before loading anything: the rows are appended to it as they finish
    if select is not None:
        check_selection(select, top, order)
    elif top is not None:
        raise ReportgenError("--top picks rows from the scan: give --select too, e.g. --select base-wrong")
    if not dataset:
        raise ReportgenError("scan needs --dataset: a hub name, a save_to_disk directory or a data file")
    if limit is not None and limit < 1:
        raise ReportgenError(f"--limit must be at least 1 (got {limit})")
    rows = open_dataset(dataset, split, text_column=text_column, label_column=label_column, label_names=label_names)
    if select in NEEDS_LABELS and rows.label_column is None:
        raise labels_needed(select, dataset)  # before the scan, not after an hour of it
    models = load_pair(base, finetuned, encoder=encoder, pooling=pooling, device=device)
    check_max_length(models, max_length)
    class_names = resolve_class_names(rows.class_names, check_class_counts(models))
    log = ScanLog(output, scan_meta(models, rows, max_length=max_length, precision=precision,
                                    class_names=class_names), overwrite=overwrite)
    total = len(rows) if limit is None else min(limit, len(rows))
    done = log.done()
    todo = [i for i in range(total) if i not in done]
    if done:
        click.echo(f"Resuming {output}: {len(done)} rows are already there, {len(todo)} to go." if todo
                   else f"{output} already holds all {total} rows; nothing to predict.", err=True)
    where = models["base"].device
    try:
        seconds = _predict_into(log, models, rows, todo, total, max_length=max_length,
                                batch_size=batch_size or default_batch_size(where), precision=precision,
                                progress=progress)
    except KeyboardInterrupt:
        click.echo(f"Interrupted: the {len(log.rows)} rows finished so far are saved in {log.log_path}; "
                   "run the same command again to resume.", err=True)
        raise
    finally:
        log.close()
    outcomes = count_outcomes(log.rows)
    scanned = log.finalise(outcomes.to_dict())
    if todo:
        click.echo(f"Predicted {len(todo)} rows with both models in {seconds:.1f} s "
                   f"({len(todo) / max(seconds, 1e-9):.1f} rows/s) on {device_name(where)}, {precision}.", err=True)
    click.echo(f"Wrote {output}.", err=True)
    if len(scanned) > total:
        click.echo(f"Note: {output} also holds {len(scanned) - total} rows past --limit {limit} from an earlier "
                   "run; the counts below include them.", err=True)
    click.echo(format_outcomes(outcomes), err=True)
    if select is not None:
        show_selection(scanned, select, DEFAULT_TOP if top is None else top, order, output, class_names)
    return scanned


def show_selection(rows: list[ScanRow], select: str, top: int | None, order: str, source: Path,
                   class_names: list[str]) -> list[ScanRow]:
    """The chosen rows as a table (stderr) and as an --indices list (stdout, for scripts)."""
    every = select_rows(rows, select, None, order, source=str(source))
    chosen = every if top is None else every[:top]
    if not chosen:
        click.echo(f"\nNo scanned row fits --select {select} ({SELECTIONS[select]}).", err=True)
        return chosen
    click.echo(f"\nTop {len(chosen)} of {len(every)} rows with {SELECTIONS[select]}, by {order}:", err=True)
    click.echo(format_selection(chosen, class_names), err=True)
    click.echo(f"Report them with: reportgen report --from-scan {source} --select {select} --top {len(chosen)}"
               f"{'' if order == 'confidence' else ' --order ' + order} --base … --finetuned …  "
               f"(or --indices {format_indices(chosen)})", err=True)
    click.echo(format_indices(chosen))
    return chosen
