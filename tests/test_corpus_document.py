"""`reportgen render` checks the corpus JSON it reads as carefully as a report's: every field's type, its
domain and the facts that tie the fields together; one line naming the field, nothing written.

Each case is a hand edit of a corpus document that, before the check, ended in a traceback (a string or
null where an object, a list or a name belongs, NaN in an interval) or was drawn as if it were true (a
NaN accuracy, `class_names: "x"`, a run of 5 seconds whose attribution took longer).
"""

from __future__ import annotations

import functools
import json
import math

import pytest
from click.testing import CliRunner

from reportgen.choices import ESTIMATOR
from reportgen.cli import main
from reportgen.corpus.aggregate import aggregate, selection_flags
from reportgen.corpus.convergence import PathSummary
from reportgen.corpus.document import corpus_document, read_corpus_document
from reportgen.corpus.facts import CorpusFacts
from reportgen.corpus.statistics import AggregateOptions
from reportgen.errors import ReportgenError
from reportgen.rendering.document import ExplainedReport
from reportgen.rendering.views import corpus as corpus_view
from reportgen.rendering.views.corpus import render_corpus
from reportgen.results import ModelInfo, Report
from tests.damage import assert_refused_in_one_line_or_drawn
from tests.test_cli_report import assert_one_line_error
from tests.test_corpus import reader, synthetic_rows
from tests.test_validation import delete, edit

ROWS = 40


@functools.cache
def built(method: str = "integrated-gradients") -> str:
    """A small corpus document of `method`, aggregated from synthetic rows by the real code (as JSON text)."""
    rows = synthetic_rows(ROWS)
    result = aggregate(reader(rows), selection_flags(range(ROWS), ROWS),
                       AggregateOptions(min_count=5, bootstrap=20, top_words=3, examples=2))
    walks = method == "integrated-gradients"
    models = [ModelInfo(role=role, name=f"{role}.pth", source=f"{role}.pth", format="checkpoint",
                        sha256="0123456789ab", encoder="bert-base-uncased", pooling="mean-all", num_classes=2,
                        pads_to_max_length=True) for role in ("base", "finetuned")]
    summary = PathSummary(tolerance=0.01, rows=ROWS, fewest_steps=8, median_steps=16, most_steps=64, mean_steps=20.5,
                          above_tolerance=1, worst_relative_delta=0.02)
    facts = CorpusFacts(
        models=models, class_names=["negative", "positive"], dataset="reviews.csv", split=None,
        selection="every row of the dataset", method=method,
        path={"steps": "auto", "quadrature": "riemann-trapezoid", "tolerance": 0.01, "max_steps": 257,
              "score_error_estimator": ESTIMATOR.name} if walks else {},
        convergence={"base": summary, "finetuned": summary} if walks else None, target_class=None,
        max_length=64, precision="fp32", devices="cpu (x86_64)", world_size=1, seconds=12.5, attribution_seconds=10.0,
        computed=30, reused=10, created="2026-01-01 00:00 UTC", versions={"reportgen": "0.2.0", "torch": "2.5"},
        command_prefix="reportgen report --base base.pth --finetuned finetuned.pth", outputs=["c.json"])
    return json.dumps(corpus_document(result, facts))


def document(method: str = "integrated-gradients") -> dict:
    return json.loads(built(method))


def listed(data: dict) -> str:
    """The first word the "all" group lists as gaining the most."""
    return data["groups"]["all"]["more"][0]


def on_listed(path: str, value: object):
    """Set `path` (with {word} for the first listed word) in a document."""
    return lambda data: edit(path.format(word=listed(data)), value)(data)


CASES = {
    # tracebacks before
    "NaN in a word's interval": (edit("groups.all.words.0.difference.low", math.nan),
                                 "groups.all.words[0].difference.low is NaN; every number must be finite"),
    "a string for a word's examples": (on_listed("examples.{word}", "x"), "is 'x' (a string), not a list"),
    "null in an example": (on_listed("examples.{word}.0.index", None), "[0].index is null, not a whole number"),
    "a string in an example's snippet": (on_listed("examples.{word}.0.snippet.0", "x"),
                                         "[0].snippet[0] is 'x' (a string), not an object"),
    "a string for an outcome count": (edit("outcomes.both_right", "x"),
                                      "outcomes.both_right is 'x' (a string), not a whole number"),
    "null outcomes of labelled rows": (edit("outcomes", None), "outcomes is null, but every row has a label"),
    "null option": (edit("options.bootstrap", None), "options.bootstrap is null, not a whole number"),
    "a string for the options": (edit("options", "x"), "options is 'x' (a string), not an object"),
    "null model name": (edit("meta.models.0.name", None), "meta.models[0].name is null, not a string"),
    "a list for a model's role": (edit("meta.models.0.role", []), "meta.models[0].role is a list, not a string"),
    "null path tolerance": (edit("meta.path.tolerance", None), "meta.path.tolerance is null, not a number"),
    "a listed word without statistics": (edit("groups.all.more.0", "zebra"),
                                         "groups.all.more[0] is 'zebra', which is not among groups.all.words"),
    # drawn as if true before
    "NaN accuracy": (edit("outcomes.accuracy.base", math.nan), "outcomes.accuracy.base is NaN"),
    "an accuracy the counts do not give": (edit("outcomes.accuracy.finetuned", 0.99),
                                           "outcomes.accuracy.finetuned is 0.99, but the counts give 0.5"),
    "class names as a string": (edit("meta.class_names", "x"), "meta.class_names is 'x' (a string), not a list"),
    "a run shorter than its attribution": (edit("meta.seconds", 5), "meta.attribution_seconds is 10.0, outside "
                                                                    "[0, 5]"),
    "rows neither computed nor reused": (edit("meta.reused", 3), "meta.computed is 30 and meta.reused 3, but the "
                                                                 "corpus has 40 rows"),
    "an interval upside down": (lambda d: d["groups"]["all"]["words"][0]["base"].update(low=0.5, high=0.1),
                                "groups.all.words[0].base has low 0.5 above high 0.1"),
    "a group of another size": (edit("groups.both-right.rows", 7), "groups.both-right.rows is 7, but the outcomes "
                                                                   "count 10"),
    "a missing option": (delete("options.seed"), "options.seed is missing"),
    "an unknown field": (edit("meta.colour", "red"), "meta.colour is not a field reportgen writes"),
    "an example of another word": (on_listed("examples.{word}.0.word", "plot"), "[0].word is 'plot', filed under"),
    "a version as a string": (edit("version", "1"), "its version is '1' (a string), not a whole number"),
    "shapley samples without the method": (edit("meta.path", {"shapley_samples": 0}),
                                           "meta.path does not fit meta.method 'integrated-gradients'"),
    "an unknown estimator": (edit("meta.path.score_error_estimator", "midpoint"), "meta.path.score_error_estimator "
                             "is 'midpoint' (a string); it must be one of 'interval-sum', 'per-token'"),
    "an estimator of fixed steps": (edit("meta.path", {"steps": 16, "quadrature": "gauss-legendre",
                                                       "score_error_estimator": "per-token"}),
                                    "meta.path.score_error_estimator is not a setting of this method's path"),
}


def test_a_corpus_document_written_by_reportgen_reads_back():
    for method in ("integrated-gradients", "gradient"):
        aggregates, facts = read_corpus_document(document(method))
        assert aggregates.rows == ROWS and facts.method == method
        assert render_corpus(aggregates, facts).startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("case", CASES)
def test_render_refuses_a_damaged_corpus_file_in_one_line_naming_the_field(case, tmp_path):
    change, expected = CASES[case]
    data = document()
    change(data)
    source = tmp_path / "corpus.json"
    source.write_text(json.dumps(data), encoding="utf-8")  # NaN as Python's json writes it
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(tmp_path / "page.html")])
    assert_one_line_error(result, f"{source}: this corpus file")
    assert_one_line_error(result, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.json"]  # nothing written


@pytest.mark.parametrize("method", ["integrated-gradients", "gradient"])
def test_any_damaged_field_is_refused_in_one_line_or_drawn(method, monkeypatch):
    """Every field replaced by NaN, ±inf, null, a string, true, −1, 1e300, [] or {}, or removed, one at a time:
    a one-line ReportgenError or a whole page, never another exception. (Each field of each kind once: the
    first entry of a list and the first listed word's examples stand for the others.)"""
    data = document(method)
    monkeypatch.setattr(corpus_view, "environment", functools.cache(corpus_view.environment))  # one template compile
    counts = assert_refused_in_one_line_or_drawn(data, read_corpus_document, lambda read: render_corpus(*read),
                                                 ("this corpus file",), alike={*data["examples"], "base", "finetuned"})
    assert counts["refused"] > counts["drawn"] > 0


def test_a_corpus_file_keeps_the_guard_of_the_estimator_it_names():
    """A corpus with auto steps names its score errors' estimator in meta.path, and its header states the rule with
    that estimator's guard; a corpus file from before it was named had its rows' errors estimated by "interval-sum"
    and keeps its guard of 5 tolerances."""
    data = document()
    for summary in data["meta"]["convergence"].values():
        summary["on_scores"] = True  # judged by the rule, not by the delta alone
    new = render_corpus(*read_corpus_document(data))
    assert f"that error within {ESTIMATOR.guard} % — it is flagged" in new
    del data["meta"]["path"]["score_error_estimator"]
    old = render_corpus(*read_corpus_document(data))
    assert read_corpus_document(data)[1].estimator.name == "interval-sum"
    assert "that error within 5 % — it is flagged" in old and f"within {ESTIMATOR.guard} % —" not in old


def test_a_corpus_document_loaded_as_a_report_is_named_as_one(tmp_path):
    """`ExplainedReport.load` (the API's way back from JSON) names a corpus file as one, in one line naming the
    file; `Report` itself, which may not import the corpus, refuses it as no report's data."""
    source = tmp_path / "corpus.json"
    source.write_text(built(), encoding="utf-8")
    with pytest.raises(ReportgenError) as refused:
        ExplainedReport.load(source)
    message = str(refused.value)
    assert message.startswith(f"{source}: ") and "`reportgen corpus` file" in message and "\n" not in message
    with pytest.raises(ReportgenError, match="schema version None"):
        Report.from_json(built())
