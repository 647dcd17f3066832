"""`reportgen render`: a report again from its JSON, with other view options — no models, no torch."""

from __future__ import annotations

from pathlib import Path

from reportgen.commands import announce_written
from reportgen.rendering.document import ExplainedReport, ViewOptions


def run_render(source: Path, view: ViewOptions, *, output: Path, json_path: Path | None,
               markdown_path: Path | None) -> ExplainedReport:
    """A report re-rendered from its JSON with other view options: no models, no GPU, about a second."""
    result = ExplainedReport.load(source, view)
    result.save(output, json=json_path, markdown=markdown_path)
    announce_written(result, [output, json_path, markdown_path])
    return result
