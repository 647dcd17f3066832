"""`reportgen render` checks the report JSON it reads: one line naming the sample and the field, no output.

Each case is a hand edit of a valid report's JSON that rendered with exit 0 (NaN, ±inf) or ended in
a traceback (null, a string, a short list, a class outside the classes) before the check.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.rendering.document import ExplainedReport
from reportgen.validation import check_report_data
from tests.test_cli_report import assert_one_line_error
from tests.test_rendering import report, sample

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
    "negative seconds": (edit("meta.seconds", {"prediction": -1.0}), "meta: meta.seconds.prediction is -1.0, outside"),
    "seconds as a list": (edit("meta.seconds", [1.0]), "meta: meta.seconds is a list, not an object"),
    "NaN score": (edit(f"{SCORES}.3", math.nan), f"sample 2 (row 11): models.base.methods.{IG}.scores[3] is NaN"),
    "infinite score": (edit(f"{SCORES}.2", math.inf), f"models.base.methods.{IG}.scores[2] is +inf; every number"),
    "null score": (edit(f"{SCORES}.1", None), f"sample 2 (row 11): models.base.methods.{IG}.scores[1] is null, "
                                              "not a number"),
    "string score": (edit(f"{SCORES}.1", "0.5"), "scores[1] is '0.5', not a number"),
    "short score list": (lambda d: d["samples"][1]["models"]["base"]["methods"][IG]["scores"].pop(),
                         f"models.base.methods.{IG}.scores has 6 entries but tokens has 7"),
    "NaN probability": (edit("samples.0.models.finetuned.probabilities.0", math.nan),
                        "sample 1 (row 6): models.finetuned.probabilities[0] is NaN"),
    "probability above one": (edit("samples.0.models.base.probabilities.1", 1.5),
                              "models.base.probabilities[1] is 1.5, outside [0, 1]"),
    "predicted class outside the classes": (edit("samples.1.models.base.predicted", 7),
                                            "sample 2 (row 11): models.base.predicted is 7; it must be from 0 "
                                            "to 1 (2 classes in meta.class_names)"),
    "target as a string": (edit("samples.1.models.finetuned.target", "1"), "models.finetuned.target is '1', not a "
                                                                           "whole number"),
    "boolean label": (edit("samples.0.label", True), "sample 1 (row 6): label is True, not a whole number"),
    "true label outside the classes": (edit("samples.0.label", [0, 5]),
                                       "sample 1 (row 6): label[1] is 5; it must be from 0 to 1 (2 classes in "
                                       "meta.class_names)"),
    "true label as a string": (edit("samples.1.label", ["1"]),
                               "sample 2 (row 11): label[0] is '1', not a whole number"),
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
    "word past its text": (edit("samples.1.words.1.end", 99), "words[1].end is 99"),
    "text as a number": (edit("samples.0.text", 3), "sample 1 (row 6): text is 3, not a string"),
    "token as null": (edit("samples.0.tokens.1", None), "sample 1 (row 6): tokens[1] is null, not a string"),
    "class name as a number": (edit("meta.class_names.0", 0), "meta: meta.class_names[0] is 0, not a string"),
    "weights dtype as a number": (edit("meta.models.0.weights_dtype", 16),
                                  "meta: meta.models[0].weights_dtype is 16, not a string"),
    "NaN pad share": (edit(f"samples.0.models.base.methods.{IG}.pad_share", math.nan), "pad_share is NaN"),
    "samples not a list": (edit("samples", {}), "samples is an object, not a list"),
}


def test_a_report_written_by_reportgen_passes():
    data = valid_data()
    check_report_data(data)  # raises nothing
    assert "NaN" not in json.dumps(data, allow_nan=True)


def test_a_list_of_true_labels_renders(tmp_path):
    """A multi-label data set's rows hold their true labels as a list (maybe empty): shown, named, on the page."""
    data = valid_data()
    data["samples"][0]["label"], data["samples"][1]["label"] = [0, 1], []
    check_report_data(data)  # raises nothing
    source = tmp_path / "lists.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    names = data["meta"]["class_names"]
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"True labels: <strong>{names[0]}, {names[1]}</strong>" in html
    assert "True labels: <strong>none</strong>" in html


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
