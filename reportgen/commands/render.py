"""`reportgen render`: a report again from its JSON, with other view options — no models, no torch.
A corpus JSON (`reportgen corpus`) gives its corpus page again."""

from __future__ import annotations

from pathlib import Path

import click

from reportgen.commands import announce_written
from reportgen.corpus.document import read_corpus_document
from reportgen.corpus.format import is_corpus_document
from reportgen.errors import ReportgenError
from reportgen.output import check_writable, write_atomically
from reportgen.rendering.document import ExplainedReport, ViewOptions, read_json
from reportgen.rendering.views.corpus import render_corpus


def run_render(source: Path, view: ViewOptions, *, output: Path, json_path: Path | None,
               markdown_path: Path | None) -> ExplainedReport | None:
    """A report re-rendered from its JSON with other view options: no models, no GPU, about a second.
    A corpus JSON is drawn as its corpus page (returns None): it has no view options and no Markdown."""
    data = read_json(source)  # read and parsed once, whichever kind of file it is
    if is_corpus_document(data):
        _render_corpus(source, data, view, output=output, json_path=json_path, markdown_path=markdown_path)
        return None
    result = ExplainedReport.from_parsed(data, view, source=source)
    result.save(output, json=json_path, markdown=markdown_path)
    announce_written(result, [output, json_path, markdown_path])
    return result


def _render_corpus(source: Path, data: dict, view: ViewOptions, *, output: Path, json_path: Path | None,
                   markdown_path: Path | None) -> None:
    default = ViewOptions()
    given = {"--json": json_path is not None, "--markdown": markdown_path is not None,
             "--scale": view.scale != default.scale, "--granularity": view.granularity != default.granularity}
    refused = [option for option, used in given.items() if used]
    if refused:
        raise ReportgenError(f"{source} is a `reportgen corpus` file: its page has no {' or '.join(refused)}; "
                             f"render it with `reportgen render {source} -o {output}`")
    try:
        aggregates, facts = read_corpus_document(data)
    except ReportgenError as exc:
        raise ReportgenError(f"{source}: {exc}") from None
    check_writable([output], inputs=[source])
    write_atomically({output: render_corpus(aggregates, facts)})
    click.echo(f"Wrote {output} (a corpus page of {aggregates.rows:,} rows).", err=True)
