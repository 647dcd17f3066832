"""A report as GitHub-flavoured Markdown, for pasting into experiment notes.

Made from the same view model as the HTML (header facts, summary table), plus each sample's
sentence and its difference view's lists: the notes and the HTML can never tell different stories.
"""

from __future__ import annotations

from reportgen.rendering.markdown import escape, markdown_document
from reportgen.rendering.plausible import rationale_legend
from reportgen.rendering.reading import describe
from reportgen.rendering.views.report import build_view
from reportgen.results import Report


def render_markdown(report: Report, granularity: str = "word") -> str:
    view = build_view(report, "share", granularity)
    header = ["#", "Outcome", "Row", "True label"] + [f"{title}: predicted (p)" for _, title in view.roles]
    if view.faithfulness:
        kind = "normalised" if view.normalised else "raw"
        header += [f"{title}: {view.summary_method} comprehensiveness ({kind})" for _, title in view.roles]
    if view.flips:
        header += [f"{title}: {view.summary_method} flips after" for _, title in view.roles]
    if view.rationales:
        header += [f"{title}: {view.summary_method} plausibility" for _, title in view.roles]
    header += ["Notes"]
    rows = [[str(n), row.outcome, row.index, row.label, *row.cells,
             *([cell.text for cell in row.comprehensiveness] if view.faithfulness else []),
             *(row.flips if view.flips else []), *(row.plausibility if view.rationales else []), row.flags]
            for n, row in enumerate(view.summary, start=1)]
    marked = any(s.rationale is not None for s in report.samples)  # a report with a rationale column
    sentences = [(sample.heading, describe(data, report.meta.class_names, report.meta.method)
                  + (f"\n\n{sample.changed}" if sample.changed else "")
                  + (f"\n\n{escape(legend)}" if (legend := rationale_legend(
                      data, report.meta.class_names, lead="Marked", others_marked=marked)) else ""))
                 for sample, data in zip(view.samples, report.samples)]
    facts = [(name, value) for name, value in view.models] + view.header + \
        ([("Difference", view.difference_note)] if any(sample.changed for sample in view.samples) else []) + \
        ([("Plausibility", view.plausibility_note.removeprefix("Plausibility: "))]
         if view.plausibility_rows else []) + \
        [(f"Plausibility, {r.method}, {r.model}", f"AUPRC {r.auprc} (random {r.auprc_random}), token F1 {r.token_f1}, "
                                                 f"word AUPRC {r.word_auprc}, word F1 {r.word_f1}; mean of {r.samples} "
                                                 + ("sample" if r.samples == "1" else "samples"))
         for r in view.plausibility_rows]
    return markdown_document(view.title, facts, header, rows, sentences)
