"""`reportgen render`: a report again from its JSON, with other view options — no models, no torch."""

from __future__ import annotations

from pathlib import Path

import click

from reportgen.rendering.document import ExplainedReport, ViewOptions


def announce_written(result: ExplainedReport, paths: list[Path | None]) -> None:
    """'Wrote a.html, a.json and notes.md (4 samples).' on stderr."""
    named = [str(p) for p in paths if p is not None]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    count = len(result.report.samples)
    click.echo(f"Wrote {listed} ({count} sample{'s' if count != 1 else ''}).", err=True)


def run_render(source: Path, view: ViewOptions, *, output: Path, json_path: Path | None,
               markdown_path: Path | None) -> ExplainedReport:
    """A report re-rendered from its JSON with other view options: no models, no GPU, about a second."""
    result = ExplainedReport.load(source, view)
    result.save(output, json=json_path, markdown=markdown_path)
    announce_written(result, [output, json_path, markdown_path])
    return result
