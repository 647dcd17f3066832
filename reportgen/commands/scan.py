"""`reportgen scan`: predict every row with both models, count outcomes, pick rows to report."""

from __future__ import annotations

import time
from pathlib import Path

import click

from reportgen import distributed
from reportgen.api import ModelSpec
from reportgen.batching import default_batch_size
from reportgen.errors import ReportgenError
from reportgen.loading.checks import check_rows, check_single_label, resolve_class_names
from reportgen.loading.data import Rows, open_dataset
from reportgen.loading.labels import parse_label_names
from reportgen.loading.model_options import ModelOptions
from reportgen.loading.models import LoadedModel, check_max_length
from reportgen.output import check_writable
from reportgen.scan.layout import ScanRow, check_extension, rank_log_path, rank_logs, sidecar_path
from reportgen.scan.predict import predict_rows, scan_meta
from reportgen.scan.records import ScanLog
from reportgen.scan.selection import (
    DEFAULT_TOP,
    NEEDS_LABELS,
    SELECTIONS,
    check_selection,
    count_outcomes,
    format_indices,
    format_outcomes,
    format_selection,
    labels_needed,
    select_rows,
)


def _predict_into(log: ScanLog, models: dict[str, LoadedModel], rows: Rows, mine: list[int],
                  progress: distributed.SharedProgress, *, max_length: int, batch_size: int, precision: str) -> None:
    """Append this rank's predictions to its log batch by batch."""
    for batch in predict_rows(models, rows, mine, max_length=max_length, batch_size=batch_size, precision=precision):
        log.append(batch)
        progress.advance(len(batch))


def _open_log(ranks: distributed.Ranks, output: Path, meta: dict, overwrite: bool,
              total: int) -> tuple[ScanLog, list[int]]:
    """Rank 0 resumes (or restarts) the output and folds in rank logs an interrupted run left; every
    rank then gets the same list of rows still to do, and the other ranks a log of their own.
    If anything fails here, the log is discarded (the files it started are removed)."""
    todo: list[int] | None = None
    log = None
    try:
        if ranks.is_main:
            log = ScanLog(output, meta, overwrite=overwrite)
            if overwrite:
                for stale in rank_logs(output):
                    stale.unlink(missing_ok=True)
            else:
                log.absorb(rank_logs(output))
            done = log.done()
            todo = [i for i in range(total) if i not in done]
            if done:
                click.echo(f"Resuming {output}: {len(done)} rows are already there, {len(todo)} to go." if todo
                           else f"{output} already holds all {total} rows; nothing to predict.", err=True)
        todo = distributed.share_from_main(todo, ranks)
        if not ranks.is_main:
            log = ScanLog(output, meta, overwrite=True, rank=ranks.rank)
        distributed.barrier(ranks)  # every rank's log exists before rank 0 checks that it can see them
        if ranks.is_main:
            unseen = [rank_log_path(output, r) for r in range(1, ranks.world_size)
                      if not rank_log_path(output, r).is_file()]
            if unseen:
                raise ReportgenError(f"rank 0 cannot see {unseen[0]}: every rank must write beside {output} on a "
                                     "file system all nodes share; give -o a path on a shared directory")
    except BaseException:
        if log is not None:
            log.discard()
        raise
    return log, todo


def run_scan(models: ModelOptions, *, dataset: str | None, split: str, text_column: str | None,
             label_column: str | None, text_pair_column: str | None, label_names: list[str] | None,
             limit: int | None, output: Path, overwrite: bool, select: str | None, top: int | None, order: str,
             progress: bool) -> list[ScanRow]:
    """Scan (or resume scanning) the first `limit` rows, print the outcome table and any selection; `models`: the
    two models and how they run (checked here, before anything loads).

    Under torchrun every rank predicts its own share of the rows into a log of its own and rank 0
    merges them into the output. On Ctrl-C the rows finished so far stay saved and
    KeyboardInterrupt is re-raised. Returns the scanned rows (on rank 0; other ranks return []).
    """
    models.check()
    check_extension(output)
    if select is not None:
        check_selection(select, top, order)
    elif top is not None:
        raise ReportgenError("--top picks rows from the scan: give --select too, e.g. --select base-wrong")
    if not dataset:
        raise ReportgenError("scan needs --dataset: a hub name, a save_to_disk directory or a data file")
    label_names = parse_label_names(label_names)  # an empty or repeated class name, before anything loads
    if limit is not None and limit < 1:
        raise ReportgenError(f"--limit must be at least 1 (got {limit})")
    with distributed.session(models.device) as ranks:
        if ranks.is_main:
            # before loading anything: the rows are appended to it as they finish
            check_writable([output, sidecar_path(output) if output.suffix == ".csv" else None],
                           inputs=[dataset, models.base, models.finetuned])
        return _scan(ranks, models, dataset=dataset, split=split,
                     text_column=text_column, label_column=label_column, label_names=label_names, limit=limit,
                     text_pair_column=text_pair_column,
                     output=output, overwrite=overwrite, select=select, top=top, order=order, progress=progress)


def _scan(ranks: distributed.Ranks, options: ModelOptions, *, dataset: str, split: str, text_column: str | None,
          label_column: str | None, label_names: list[str] | None, limit: int | None, output: Path, overwrite: bool,
          text_pair_column: str | None,
          select: str | None, top: int | None, order: str, progress: bool) -> list[ScanRow]:
    rows = open_dataset(dataset, split, text_column=text_column, label_column=label_column, label_names=label_names,
                        text_pair_column=text_pair_column, progress=progress)
    if select in NEEDS_LABELS and rows.label_column is None:
        raise labels_needed(select, dataset)  # before the scan, not after an hour of it
    max_length, batch_size, precision = options.max_length, options.rows_per_batch, options.precision
    models = ModelSpec.of(options, device=str(ranks.device)).load(progress)
    check_single_label(models, "scan")
    check_max_length(models, max_length)
    class_names = resolve_class_names(models, rows.class_names, rows.names_source)
    rows = rows.named(class_names)  # a label written as a class name ("insult") reads as that class
    total = len(rows) if limit is None else min(limit, len(rows))
    check_rows(rows, range(total), len(class_names))  # before any file is opened
    places = distributed.gather(distributed.where_am_i(ranks), ranks)
    log, todo = _open_log(ranks, output, scan_meta(models, rows, max_length=max_length, precision=precision,
                                                   class_names=class_names), overwrite, total)
    shared = distributed.SharedProgress(ranks, "scan", total=total, initial=total - len(todo), enabled=progress)
    started = time.perf_counter()
    try:
        _predict_into(log, models, rows, distributed.shard(todo, ranks), shared, max_length=max_length,
                      batch_size=batch_size or default_batch_size(ranks.device), precision=precision)
        shared.wait_for_others()
        seconds = time.perf_counter() - started
        if not ranks.is_main:
            log.close()
            return []
        log.absorb(rank_logs(output))  # the other ranks' rows, into rank 0's log (still open)
        outcomes = count_outcomes(log.rows)
        scanned = log.finalise(outcomes.to_dict())
    except KeyboardInterrupt:
        log.abandon()
        click.echo(f"Interrupted: the {len(log.rows)} rows finished so far are saved in {log.log_path}; "
                   "run the same command again to resume.", err=True)
        raise
    except BaseException:
        log.discard()  # a failed scan leaves no file behind that it started, whatever it was writing
        raise
    finally:
        shared.close()
    if todo:
        click.echo(f"Predicted {len(todo)} rows with both models in {seconds:.1f} s "
                   f"({len(todo) / max(seconds, 1e-9):.1f} rows/s) on {distributed.describe_devices(places)}, "
                   f"{precision}.",
                   err=True)
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
