"""`reportgen report` and `reportgen render`: what the commands do once Click has parsed them."""

from __future__ import annotations

from pathlib import Path

import click

from reportgen.api import ExplainedReport, ModelSpec, Selection, ViewOptions, run
from reportgen.loading.models import LoadedModel
from reportgen.pipeline import ExplainOptions


def load_pair(base: str, finetuned: str, *, encoder: str, pooling: str, device: str) -> dict[str, LoadedModel]:
    return ModelSpec(base, finetuned, encoder, pooling, device).load()


def _wrote(result: ExplainedReport, paths: list[Path | None]) -> None:
    named = [str(p) for p in paths if p is not None]
    count = len(result.report.samples)
    click.echo(f"Wrote {' and '.join(named) if len(named) < 3 else ', '.join(named[:-1]) + ' and ' + named[-1]} "
               f"({count} sample{'s' if count != 1 else ''}).", err=True)


def run_report(models: ModelSpec, selection: Selection, options: ExplainOptions, view: ViewOptions, *,
               output: Path, json_path: Path | None, markdown_path: Path | None) -> ExplainedReport:
    """Every output is checked before the work and written together after it."""
    outputs = [output, json_path, markdown_path]
    result = run(models, selection, options, view, outputs=outputs)
    result.save(output, json=json_path, markdown=markdown_path)
    _wrote(result, outputs)
    return result


def run_render(source: Path, view: ViewOptions, *, output: Path, json_path: Path | None,
               markdown_path: Path | None) -> ExplainedReport:
    """A report re-rendered from its JSON with other view options: no models, no GPU, a second."""
    result = ExplainedReport.load(source, view)
    result.save(output, json=json_path, markdown=markdown_path)
    _wrote(result, [output, json_path, markdown_path])
    return result
