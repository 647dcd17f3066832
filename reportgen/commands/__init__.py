"""What each CLI command does, as plain functions testable without Click; what several commands share is
here (commands never import each other)."""

from __future__ import annotations

from pathlib import Path

import click

from reportgen.rendering.document import ExplainedReport


def announce_written(result: ExplainedReport, paths: list[Path | None]) -> None:
    """'Wrote a.html, a.json and notes.md (4 samples).' on stderr."""
    named = [str(p) for p in paths if p is not None]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    count = len(result.report.samples)
    click.echo(f"Wrote {listed} ({count} sample{'s' if count != 1 else ''}).", err=True)
