"""`reportgen report`: what the command does once Click has parsed it."""

from __future__ import annotations

from pathlib import Path

from reportgen.api import ExplainedReport, ModelSpec, Selection, ViewOptions, run
from reportgen.commands.render import announce_written
from reportgen.loading.models import LoadedModel
from reportgen.pipeline import ExplainOptions


def load_pair(base: str, finetuned: str, *, encoder: str, pooling: str, device: str) -> dict[str, LoadedModel]:
    return ModelSpec(base, finetuned, encoder, pooling, device).load()


def run_report(models: ModelSpec, selection: Selection, options: ExplainOptions, view: ViewOptions, *,
               output: Path, json_path: Path | None, markdown_path: Path | None) -> ExplainedReport:
    """Every output is checked before the work and written together after it."""
    outputs = [output, json_path, markdown_path]
    result = run(models, selection, options, view, outputs=outputs)
    result.save(output, json=json_path, markdown=markdown_path)
    announce_written(result, outputs)
    return result
