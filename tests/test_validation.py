"""`reportgen render` checks the report JSON it reads: one line naming the sample and the field, no output.

Each case is a hand edit of a valid report's JSON that rendered with exit 0 (NaN, ±inf) or ended in
a traceback (null, a string, a short list, a class outside the classes) before the check.
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.choices import FIXED_STEPS_DELTA, ROLES, allowed_delta
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.methods import METHODS
from reportgen.rendering import html
from reportgen.rendering.document import ExplainedReport
from reportgen.rendering.html import render_html
from reportgen.rendering.markdown_report import render_markdown
from reportgen.results import SCHEMA_VERSION, Report
from reportgen.validation import check_report_data
from tests.damage import assert_refused_in_one_line_or_drawn
from tests.test_cli_report import assert_one_line_error
from tests.test_rendering import report, sample
from tests.test_round_trip import SHAPES, written  # noqa: F401 - written: a fixture

METHODS = ("integrated-gradients", "attention-gradient")
IG = "integrated-gradients"


def valid_data() -> dict:
    tokens = ["[CLS]", "the", "act", "##ing", "was", "great", "[SEP]"]
    samples = [sample(["[CLS]", "fine", "[SEP]"], "fine", index=6, methods=METHODS, faithful=True),
               sample(tokens, "The acting was great", index=11, methods=METHODS, faithful=True, seed=1)]
    return json.loads(report(samples, METHODS, faithful=True).to_json())


def edit(path: str, value: object):
    """Set the value at a path such as 'samples.1.models.base.predicted' (list positions as numbers)."""
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


def delete(path: str):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]
    return change


SCORES = f"samples.1.models.base.methods.{IG}.scores"
CASES = {
    "negative seconds": (edit("meta.seconds", {"prediction": -1.0}),
                         "the report: meta.seconds.prediction is -1.0, outside"),
    "seconds as a list": (edit("meta.seconds", [1.0]), "the report: meta.seconds is a list, not an object"),
    "NaN score": (edit(f"{SCORES}.3", math.nan), f"sample 2 (row 11): models.base.methods.{IG}.scores[3] is NaN"),
    "infinite score": (edit(f"{SCORES}.2", math.inf), f"models.base.methods.{IG}.scores[2] is +inf; every number"),
    "null score": (edit(f"{SCORES}.1", None), f"sample 2 (row 11): models.base.methods.{IG}.scores[1] is null, "
                                              "not a number"),
    "string score": (edit(f"{SCORES}.1", "0.5"), "scores[1] is '0.5' (a string), not a number"),
    "short score list": (lambda d: d["samples"][1]["models"]["base"]["methods"][IG]["scores"].pop(),
                         f"models.base.methods.{IG}.scores has 6 entries but tokens has 7"),
    "NaN probability": (edit("samples.0.models.finetuned.probabilities.0", math.nan),
                        "sample 1 (row 6): models.finetuned.probabilities[0] is NaN"),
    "probability above one": (edit("samples.0.models.base.probabilities.1", 1.5),
                              "models.base.probabilities[1] is 1.5, outside [0, 1]"),
    "predicted class outside the classes": (edit("samples.1.models.base.predicted", 7),
                                            "sample 2 (row 11): models.base.predicted is 7; it must be from 0 "
                                            "to 1 (2 classes in meta.class_names)"),
    "target as a string": (edit("samples.1.models.finetuned.target", "1"), "models.finetuned.target is '1' (a string), "
                                                                           "not a whole number"),
    "boolean label": (edit("samples.0.label", True), "sample 1 (row 6): label is true, not a whole number"),
    "true label outside the classes": (edit("samples.0.label", [0, 5]),
                                       "sample 1 (row 6): label is [0, 5], a list of true labels, but a "
                                       "single-label report"),
    "missing method": (delete("samples.0.models.base.methods.attention-gradient"),
                       "sample 1 (row 6): models.base.methods.attention-gradient is missing"),
    "missing model": (delete("samples.0.models.finetuned"), "sample 1 (row 6): models.finetuned is missing"),
    "NaN difference": (edit(f"samples.1.difference.difference.{IG}.0", math.nan),
                       f"sample 2 (row 11): difference.difference.{IG}[0] is NaN"),
    "difference target outside the classes": (edit("samples.1.difference.target", 2), "difference.target is 2"),
    "infinite faithfulness": (edit(f"samples.1.models.base.methods.{IG}.faithfulness.scores.comprehensiveness.value",
                                   -math.inf),
                              f"models.base.methods.{IG}.faithfulness.scores.comprehensiveness.value is -inf"),
    "short deletion curve": (lambda d: d["samples"][1]["models"]["base"]["methods"][IG]["faithfulness"]["curves"]
                             ["deletion"]["values"].pop(),
                             "faithfulness.curves.deletion.values has 8 entries but meta.faithfulness.curve_fractions "
                             "has 9"),
    "word past its tokens": (edit("samples.1.words.1.last_token", 9), "sample 2 (row 11): words[1].last_token is 9"),
    "word past its text": (lambda d: d["samples"][1]["words"][1].update(start=4, end=99),
                           "words[1].end is 99; it must be from 0 to 20 (text has 20 characters)"),
    "text as a number": (edit("samples.0.text", 3), "sample 1 (row 6): text is 3, not a string"),
    "token as null": (edit("samples.0.tokens.1", None), "sample 1 (row 6): tokens[1] is null, not a string"),
    "class name as a number": (edit("meta.class_names.0", 0), "the report: meta.class_names[0] is 0, not a string"),
    "weights dtype as a number": (edit("meta.models.0.weights_dtype", 16),
                                  "the report: meta.models[0].weights_dtype is 16, not a string"),
    "NaN pad share": (edit(f"samples.0.models.base.methods.{IG}.pad_share", math.nan), "pad_share is NaN"),
    "samples not a list": (edit("samples", {}), "samples is an object, not a list"),
    # impossible values of the right type: domains, and the facts that tie values together
    "no samples": (edit("samples", []), "the report: samples is empty"),
    "shapley samples zero": (edit("meta.shapley_samples", 0),
                             "the report: meta.shapley_samples is 0; it must be 1 or more"),
    "predicted not the most probable": (edit("samples.0.models.base.predicted", 1),
                                        "sample 1 (row 6): models.base.predicted is 1, but class 0 is more probable"),
    "softmax summing to 0.2": (edit("samples.1.models.finetuned.probabilities", [0.1, 0.1]),
                               "sample 2 (row 11): models.finetuned.probabilities sums to 0.2; a softmax's "
                               "probabilities sum to 1"),
    "second-text word without a second text": (edit("samples.1.words.2.segment", 1),
                                               "sample 2 (row 11): words[2].segment is 1, a word of the second "
                                               "text, but the sample has no text_pair"),
    "multi-label without its labels": (edit("meta.multi_label", True), "sample 1 (row 6): models.base.chosen is "
                                                                       "missing"),
    "schema version as a string": (edit("meta.schema_version", "5"), "meta.schema_version is '5' (a string), not "
                                                                     "a whole number"),
    "schema version true": (edit("meta.schema_version", True), "meta.schema_version is true, not a whole number"),
    "words out of order": (edit("samples.1.words.2.first_token", 3), "sample 2 (row 11): words[2].first_token is 3 "
                                                                     "but the words before it end at token 2"),
    "difference beyond two": (edit(f"samples.1.difference.difference.{IG}", [1.5, -1.5, 0, 0, 0, 0, 0]),
                              f"difference.difference.{IG} moves 3 of the say in all"),
    "unknown field": (edit("samples.0.models.base.colour", "red"),
                      "sample 1 (row 6): models.base.colour is not a field reportgen writes"),
    "a stored sentence in schema 6": (edit("samples.0.sentence", "Base predicted positive (0.51)."),
                                      "sample 1 (row 6): sentence is not a field reportgen writes"),
}


def test_a_report_written_by_reportgen_passes():
    data = valid_data()
    check_report_data(data, Report)  # raises nothing
    assert "NaN" not in json.dumps(data, allow_nan=True)


def test_a_list_of_true_labels_renders(written, tmp_path):
    """A multi-label data set's rows hold their true labels as a list (maybe empty): shown, named, on the page."""
    data = real_data(written, "multi-label")
    assert len(data["samples"]) >= 2 and len(data["meta"]["class_names"]) >= 2
    data["samples"][0]["label"], data["samples"][1]["label"] = [0, 1], []
    check_report_data(data, Report)  # raises nothing
    source = tmp_path / "lists.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    names = data["meta"]["class_names"]
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"True labels: <strong>{names[0]}, {names[1]}</strong>" in html
    assert "True labels: <strong>none</strong>" in html


def test_a_schema_5_file_with_its_stored_sentences_is_read_without_them(tmp_path):
    """Schema 5 stored each sample's Markdown sentence; schema 6 makes it from the numbers when rendering, so
    reading a schema-5 file drops it (`upgrade_v5`) and draws the same page as the same data in schema 6."""
    data = valid_data()
    data["meta"]["schema_version"] = 6  # the same data as schema 6 wrote it
    assert not any("sentence" in one for one in data["samples"])
    old = json.loads(json.dumps(data))
    old["meta"]["schema_version"] = 5
    for one in old["samples"]:
        one["sentence"] = "Base predicted *something* once."
    read = Report.from_dict(old)
    assert read == Report.from_dict(data) and read.meta.schema_version == SCHEMA_VERSION
    assert not any("sentence" in one for one in json.loads(read.to_json())["samples"])
    source = tmp_path / "old.json"
    source.write_text(json.dumps(old), encoding="utf-8")
    again = ExplainedReport.load(source)
    assert again.html() == render_html(Report.from_dict(data))
    assert again.sentences() and all(s.startswith("Base predicted") for s in again.sentences())
    assert "*something*" not in again.markdown()


def test_a_schema_6_file_gets_converged_by_the_rule_of_its_day_and_no_score_error():
    """Schema 6 had no `converged` or `score_error`: each integrated-gradients result with a delta is converged when
    its |delta| was within the rule it was computed under (the stored tolerance, or 5 % with fixed steps)."""
    data = valid_data()
    data["meta"]["schema_version"] = 6
    for one in data["samples"]:
        for model in one["models"].values():
            for result in model["methods"].values():
                result.pop("converged", None), result.pop("score_error", None), result.pop("surrogate_fit", None)
    results = [m["methods"]["integrated-gradients"] for one in data["samples"] for m in one["models"].values()]
    assert results and all(r["convergence_delta"] is not None for r in results)
    results[0]["convergence_delta"] = 0.5 * results[0]["target_logit_change"]  # far outside any tolerance
    read = Report.from_dict(data)
    found = [m.methods["integrated-gradients"] for one in read.samples for m in one.models.values()]
    tolerance = data["meta"]["tolerance"]
    for result in found:
        limit = allowed_delta(result.target_logit_change, tolerance) if tolerance is not None else \
            FIXED_STEPS_DELTA * abs(result.target_logit_change)
        assert result.converged == (abs(result.convergence_delta) <= limit) and result.score_error is None
    assert found[0].converged is False and read.meta.schema_version == SCHEMA_VERSION


def test_a_schema_8_file_gets_the_lime_fit_adjusted_for_its_words(written):  # noqa: F811
    """Schema 8 stored LIME's R² on its own samples, which rewards too few samples; schema 9 stores it adjusted for
    the words fitted (`choices.adjusted_fit`). The upgrade counts the words a sample shows with a place in the text,
    which are the surrogate's features (one non-zero LIME score each), so a schema-8 file of the same run reads as
    what reportgen writes now; and where the samples were fewer than the words + 2, the fit becomes null."""
    for shape in SHAPES:
        data = json.loads(written[shape][1].read_text(encoding="utf-8"))
        drawn = data["meta"]["surrogate_samples"]
        old = json.loads(json.dumps(data))
        old["meta"]["schema_version"] = 8
        for one in old["samples"]:
            words = sum(word["start"] is not None for word in one["words"])
            for model in one["models"].values():
                lime = model["methods"]["lime"]
                assert sum(score != 0 for score in lime["scores"]) == words, shape
                fit = lime["surrogate_fit"]
                lime["surrogate_fit"] = 1 - (1 - fit) * (drawn - words - 1) / (drawn - 1)  # the R² schema 8 held
        read, now = Report.from_dict(old), Report.from_dict(data)
        assert read.meta.schema_version == SCHEMA_VERSION
        for upgraded, written_now in zip(read.samples, now.samples):
            for role, model in upgraded.models.items():
                expected = written_now.models[role].methods["lime"].surrogate_fit
                assert model.methods["lime"].surrogate_fit == pytest.approx(expected, abs=1e-6), shape
                assert model.methods["gradient"] == written_now.models[role].methods["gradient"]
    few = json.loads(written["single"][1].read_text(encoding="utf-8"))
    few["meta"]["schema_version"], few["meta"]["surrogate_samples"] = 8, 3
    for one in few["samples"]:
        for model in one["models"].values():
            model["methods"]["lime"]["surrogate_fit"] = 0.99
    read = Report.from_dict(few)
    for one in read.samples:
        expected = None if one.removable_words >= 2 else pytest.approx(1 - 0.01 * 2 / (2 - one.removable_words))
        assert all(m.methods["lime"].surrogate_fit == expected for m in one.models.values())
    assert any(m.methods["lime"].surrogate_fit is None for one in read.samples for m in one.models.values())


@pytest.mark.parametrize("case", CASES)
def test_render_refuses_bad_data_in_one_line_naming_sample_and_field(case, tmp_path):
    change, expected = CASES[case]
    data = valid_data()
    change(data)
    source = tmp_path / "edited.json"
    source.write_text(json.dumps(data), encoding="utf-8")  # NaN and Infinity as Python's json writes them
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(tmp_path / "r.html"),
                                       "--markdown", str(tmp_path / "r.md")])
    assert_one_line_error(result, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edited.json"]  # nothing written


def test_the_api_refuses_it_too(tmp_path):
    data = valid_data()
    data["samples"][0]["models"]["base"]["methods"][IG]["scores"][0] = math.nan
    source = tmp_path / "r.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReportgenError, match=r"r\.json: sample 1 \(row 6\): models\.base\.methods\.integrated-"
                                             r"gradients\.scores\[0\] is NaN"):
        ExplainedReport.load(Path(source))


def real_data(written, shape: str = "single") -> dict:
    """The JSON of a report `reportgen report` wrote on tiny models with every method (test_rendering)."""
    return json.loads(written[shape][1].read_text(encoding="utf-8"))


def first_normalised(data: dict) -> str:
    """The path of the first normalised comprehensiveness (NAOPC) in sample 1's base model."""
    for method, result in data["samples"][0]["models"]["base"]["methods"].items():
        if result["faithfulness"]["scores"]["comprehensiveness"]["normalised"] is not None:
            return f"samples.0.models.base.methods.{method}.faithfulness.scores.comprehensiveness"
    raise AssertionError("no normalised score to edit")


def reversed_bounds(data: dict) -> None:
    bounds = data["samples"][0]["models"]["finetuned"]["aopc_bounds"]["sufficiency"]
    bounds["lower"], bounds["upper"] = bounds["upper"] + 0.5, bounds["lower"]


def flipped_without_flipping(data: dict) -> None:
    flip = next(result["flip"] for result in data["samples"][0]["models"]["base"]["methods"].values()
                if result["flip"] is not None)
    flip.update(k=len(flip["words"]) or None, probabilities_after=flip["probabilities_before"],
                predicted_after=max(range(len(flip["probabilities_before"])),
                                    key=flip["probabilities_before"].__getitem__))


REAL_CASES = {
    "NAOPC of 7": (lambda d: edit(f"{first_normalised(d)}.normalised", 7.0)(d), ".normalised is 7.0, outside [0, 1]"),
    "NAOPC apart from its bounds": (lambda d: edit(f"{first_normalised(d)}.value", -3.0)(d),
                                    "comprehensiveness.value is -3.0, but the mean of by_k is"),
    "AOPC bounds lower above upper": (reversed_bounds, "sample 1 (row 0): models.finetuned.aopc_bounds.sufficiency "
                                                       "has lower"),
    "a flip that changes nothing": (flipped_without_flipping, "nothing flipped"),
}


@pytest.mark.parametrize("case", REAL_CASES)
def test_render_refuses_impossible_values_of_a_written_report(case, written, tmp_path):
    change, expected = REAL_CASES[case]
    data = real_data(written)
    change(data)
    source = tmp_path / "edited.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(tmp_path / "r.html")])
    assert_one_line_error(result, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edited.json"]  # nothing written


def test_multi_label_sigmoids_need_not_sum_to_one(written):
    data = real_data(written, "multi-label")
    assert data["meta"]["multi_label"]
    sums = [math.fsum(m["probabilities"]) for sample in data["samples"] for m in sample["models"].values()]
    assert max(abs(total - 1) for total in sums) > 0.1  # far from a softmax's 1, and read all the same
    Report.from_dict(data)


def test_a_byte_order_mark_is_read(written, tmp_path):
    html, data = written["single"]
    source = tmp_path / "bom.json"
    source.write_bytes(b"\xef\xbb\xbf" + data.read_bytes())
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.html").read_bytes() == html.read_bytes()


@pytest.mark.parametrize("shape", SHAPES)
def test_any_damaged_field_is_refused_in_one_line_or_drawn(shape, written, monkeypatch):
    """Every field of a written report replaced by NaN, ±inf, null, a string, true, −1, 1e300, [] or {}, or
    removed, one at a time: a one-line ReportgenError or a whole page, never another exception. (Each field
    of each kind once: the first sample, entry and model stand for the others.)"""
    data = fewer_methods(real_data(written, shape), ("integrated-gradients", "attention-rollout", "shapley-sampling"))
    data["samples"] = data["samples"][:1]
    monkeypatch.setattr(html, "environment", functools.cache(html.environment))  # one template compile, not 500
    counts = assert_refused_in_one_line_or_drawn(data, Report.from_dict, drawn,
                                                 ("meta", "sample ", "the report:", "this report data"),
                                                 alike={*ROLES, *METHODS})
    assert counts["refused"] > counts["drawn"] > 0


def fewer_methods(data: dict, kept: tuple[str, ...]) -> dict:
    """A report's data with only the `kept` methods (each page draws every method alike; fewer draw faster)."""
    data["meta"]["methods"] = [m for m in data["meta"]["methods"] if m in kept]
    for sample_data in data["samples"]:
        for model in sample_data["models"].values():
            model["methods"] = {m: result for m, result in model["methods"].items() if m in kept}
        for key in ("scores", "difference"):
            sample_data["difference"][key] = {m: v for m, v in sample_data["difference"][key].items() if m in kept}
    return data


def drawn(report: Report) -> str:
    """The report's page (its Markdown is drawn too: it reads the same data)."""
    render_markdown(report)
    return render_html(report)


def test_rounding_is_allowed_where_stored_numbers_meet_and_no_more(written):
    """A softmax stored to 8 significant digits sums to 1 within their rounding; an NAOPC whose AOPC sits on
    its upper bound is 1 up to the rounding of (value − lower) / (upper − lower): both read. A step past
    that is refused."""
    data = real_data(written)
    model = data["samples"][0]["models"]["base"]
    stored = [float(f"{p:.8g}") for p in model["probabilities"]]
    stored[model["predicted"]] += 5e-9  # 8 digits' rounding, and more, on the predicted class
    model["probabilities"] = stored
    path = first_normalised(data)
    method = path.split(".")[5]
    score = model["methods"][method]["faithfulness"]["scores"]["comprehensiveness"]
    upper = model["aopc_bounds"]["comprehensiveness"]["upper"]
    score.update(value=upper, by_k=[upper] * len(score["by_k"]), normalised=1 + 1e-12)
    Report.from_dict(json.loads(json.dumps(data)))  # reads
    for edited, expected in ((edit(f"{path}.normalised", 1.001), "normalised is 1.001, outside [0, 1]"),
                             (edit("samples.0.models.base.probabilities", [p + 1e-4 for p in stored]), "sums to")):
        refused = json.loads(json.dumps(data))
        edited(refused)
        with pytest.raises(ReportgenError, match=re.escape(expected)):
            Report.from_dict(refused)
