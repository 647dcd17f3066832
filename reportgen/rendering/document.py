"""A computed report and its renderings (HTML, JSON, Markdown), with no torch in sight.

`reportgen.explain` returns one; `reportgen render` loads one from JSON. Keeping it here, in the
rendering layer, is what lets `render` answer in about a second: nothing below imports torch or
transformers.
"""

from __future__ import annotations

import html
from pathlib import Path

from reportgen.corpus.format import is_corpus_document
from reportgen.errors import ReportgenError
from reportgen.output import check_writable, write_atomically
from reportgen.rendering.html import render_html
from reportgen.rendering.markdown_report import render_markdown
from reportgen.rendering.reading import describe
from reportgen.rendering.view_options import ViewOptions
from reportgen.results import Report, parse_json


def read_json(path: Path) -> object:
    """The parsed JSON of a reportgen file; ReportgenError, naming the file, when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportgenError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ReportgenError(f"{path} is not a reportgen JSON file (not UTF-8 text)") from None
    try:
        return parse_json(text)
    except ReportgenError as exc:
        raise ReportgenError(f"{path}: {exc}") from None


class ExplainedReport:
    """A computed report: its data (`.report`), and its HTML, JSON and Markdown renderings.

    `source` is the JSON it was loaded from, if any: `save` never writes over it.
    """

    def __init__(self, report: Report, view: ViewOptions | None = None, source: Path | None = None) -> None:
        self.report = report
        self.view = view or ViewOptions()
        self.view.check()
        self.source = source

    @classmethod
    def load(cls, path: str | Path, view: ViewOptions | None = None) -> ExplainedReport:
        """A report from its JSON, e.g. to render it again with other view options."""
        path = Path(path)
        return cls.from_parsed(read_json(path), view, source=path)

    @classmethod
    def from_parsed(cls, data: object, view: ViewOptions | None, source: Path) -> ExplainedReport:
        """A report from the parsed JSON of the file `source` (named in any error); a `reportgen corpus` file is
        named as one (`Report` itself, which may not know the corpus, refuses it as no report's data)."""
        try:
            if is_corpus_document(data):
                raise ReportgenError("this is a `reportgen corpus` file (the aggregates behind its HTML), not a "
                                     "report's data: `reportgen render` draws its corpus page, `Report` reads "
                                     "`reportgen report --json` files")
            return cls(Report.from_parsed(data), view, source=source)
        except ReportgenError as exc:
            raise ReportgenError(f"{source}: {exc}") from None

    def html(self) -> str:
        return render_html(self.report, self.view.scale, self.view.granularity)

    def markdown(self) -> str:
        return render_markdown(self.report, self.view.granularity)

    def to_json(self) -> str:
        return self.report.to_json()

    def sentences(self) -> list[str]:
        """Each sample's one-sentence verdict as Markdown, in sample order ("Base predicted negative (0.98), led by
        *never*, …", with the flip test where computed): the sentence the HTML and the Markdown show, made from the
        numbers (the data does not store it)."""
        meta = self.report.meta
        return [describe(sample, meta.class_names, meta.method) for sample in self.report.samples]

    def save(self, html_path: str | Path | None = None, *, json: str | Path | None = None,
             markdown: str | Path | None = None) -> None:
        """Write the chosen files together: all of them change, or none does. Refused when two of them
        are one file, or one is the JSON this report was loaded from."""
        chosen = [(Path(p), render) for p, render in ((html_path, self.html), (json, self.to_json),
                                                      (markdown, self.markdown)) if p is not None]
        if not chosen:
            raise ReportgenError("save() needs at least one of: an HTML path, json=…, markdown=…")
        check_writable([path for path, _ in chosen], inputs=[self.source])
        outputs = dict(chosen)
        write_atomically({path: render() for path, render in outputs.items()})

    def _repr_html_(self) -> str:
        """In Jupyter: the report in an iframe, so the notebook's CSS and the report's never mix."""
        document = html.escape(self.html(), quote=True)
        return (f'<iframe srcdoc="{document}" style="width:100%;height:720px;border:1px solid #ddd" '
                f'sandbox title="reportgen report"></iframe>')

    def __repr__(self) -> str:
        meta = self.report.meta
        return (f"<ExplainedReport: {len(self.report.samples)} samples, methods {', '.join(meta.methods)}, "
                f"models {', '.join(m.name for m in meta.models)}>")
