"""`reportgen report`: load, explain, render, write."""

from __future__ import annotations

from pathlib import Path

import click

from reportgen.errors import ReportgenError
from reportgen.loading.data import open_dataset, parse_indices
from reportgen.loading.device import resolve_device
from reportgen.loading.models import LoadedModel, load_model
from reportgen.pipeline import ExplainOptions, Texts, explain
from reportgen.rendering.html import render_html
from reportgen.rendering.output import write_atomically
from reportgen.results import Report
from reportgen.scan.records import read_scan
from reportgen.scan.selection import DEFAULT_TOP
from reportgen.scan.to_report import check_scan_models, texts_from_scan


def load_pair(base: str, finetuned: str, *, encoder: str, pooling: str, device: str) -> dict[str, LoadedModel]:
    where = resolve_device(device)
    return {role: load_model(spec, role=role, encoder=encoder, pooling=pooling, device=where)
            for role, spec in (("base", base), ("finetuned", finetuned))}


def select_texts(*, dataset: str | None, split: str, text_column: str | None, label_column: str | None,
                 label_names: list[str] | None, indices: str | None, texts: list[str],
                 from_scan: Path | None = None, select: str | None = None, top: int | None = None,
                 order: str = "confidence") -> Texts:
    """Dataset rows by index, free text, or rows picked from a scan: exactly one of the three."""
    if from_scan is not None:
        if texts or dataset or indices or text_column or label_column or label_names:
            raise ReportgenError("--from-scan takes the rows, dataset and columns from the scan file; leave out "
                                 "--dataset, --indices, --text and the column options")
        if select is None:
            raise ReportgenError("--from-scan needs --select: base-wrong, finetuned-wrong, disagree or all")
        return texts_from_scan(from_scan, select, DEFAULT_TOP if top is None else top, order)
    if select is not None or top is not None:
        raise ReportgenError("--select and --top pick rows from a scan: give --from-scan too")
    if texts and (dataset or indices):
        raise ReportgenError("give either --dataset with --indices, or --text, not both")
    if texts:
        return Texts(texts=texts, indices=[None] * len(texts), labels=[None] * len(texts), class_names=label_names)
    if not dataset:
        raise ReportgenError("nothing to explain: give --dataset with --indices, or --text")
    if not indices:
        raise ReportgenError("--dataset needs --indices, e.g. --indices 6,11,13011-13013")
    rows = open_dataset(dataset, split, text_column=text_column, label_column=label_column, label_names=label_names)
    chosen = parse_indices(indices, len(rows))
    return Texts(texts=rows.texts(chosen), indices=chosen, labels=rows.labels(chosen),
                 class_names=rows.class_names, dataset=dataset, split=rows.split)


def write_report(report: Report, *, output: Path, json_path: Path | None, scale: str) -> None:
    """Render everything first, then write all files at once: nothing half-written on failure."""
    files = {output: render_html(report, scale)}
    if json_path is not None:
        files[json_path] = report.to_json()
    write_atomically(files)


def run_report(*, base: str, finetuned: str, encoder: str, pooling: str, max_length: int, device: str,
               batch_size: int | None, precision: str, dataset: str | None, split: str, text_column: str | None,
               label_column: str | None, label_names: list[str] | None, indices: str | None, texts: list[str],
               from_scan: Path | None = None, select: str | None = None, top: int | None = None,
               order: str = "confidence", method: str, steps: int, quadrature: str, target: str, scale: str,
               output: Path, json_path: Path | None, progress: bool) -> Report:
    options = ExplainOptions(method=method, steps=steps, quadrature=quadrature, target=target,
                             max_length=max_length, batch_size=batch_size, precision=precision, progress=progress)
    if steps < 1:
        raise ReportgenError(f"--steps must be at least 1 (got {steps})")
    chosen = select_texts(dataset=dataset, split=split, text_column=text_column, label_column=label_column,
                          label_names=label_names, indices=indices, texts=texts, from_scan=from_scan,
                          select=select, top=top, order=order)
    models = load_pair(base, finetuned, encoder=encoder, pooling=pooling, device=device)
    if from_scan is not None:
        check_scan_models(read_scan(from_scan), models, max_length)
    result = explain(models, chosen, options)
    write_report(result, output=output, json_path=json_path, scale=scale)
    click.echo(f"Wrote {output}" + (f" and {json_path}" if json_path else "")
               + f" ({len(result.samples)} sample{'s' if len(result.samples) != 1 else ''}).", err=True)
    return result
