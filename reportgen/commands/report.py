"""`reportgen report`: what the command does once Click has parsed it."""

from __future__ import annotations

from pathlib import Path

from reportgen.api import ExplainedReport, ModelSpec, Selection, ViewOptions, run
from reportgen.commands import announce_written
from reportgen.pipeline import ExplainOptions


def run_report(models: ModelSpec, selection: Selection, options: ExplainOptions, view: ViewOptions, *,
               output: Path, json_path: Path | None, markdown_path: Path | None) -> ExplainedReport:
    """Every output is checked before the work and written together after it."""
    outputs = [output, json_path, markdown_path]
    result = run(models, selection, options, view, outputs=outputs)
    result.save(output, json=json_path, markdown=markdown_path)
    announce_written(result, outputs)
    return result
