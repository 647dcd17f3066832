"""Plausibility in a report (issue 29): `reportgen.explain(rationales=…)` and `reportgen report
--rationale-column` score every method for both models against the same human marks, on evidence for the true
label; the JSON keeps the rationale and the values; a malformed rationale is one line and nothing is written."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import reportgen
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.results import SCHEMA_VERSION, Report

TEXTS = ["the acting was wonderful, but the plot was boring!", "awful movie, not good at all",
         "a fun film with great music"]
RATIONALES = [["acting was wonderful"], [[0, 12]], []]  # evidence strings, a span, none marked
LABELS = [1, 0, 1]
METHODS = "gradient-x-input,attention-rollout"


@pytest.fixture(scope="module")
def explained(checkpoints, encoder_dir):
    return reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"], encoder=str(encoder_dir),
                             texts=TEXTS, rationales=RATIONALES, labels=LABELS, method=METHODS, max_length=48,
                             device="cpu", label_names=["negative", "positive"], target="predicted", quiet=True)


def test_every_method_of_both_models_is_scored_against_the_same_marks(explained):
    first, second, unmarked = explained.report.samples
    assert first.rationale == [[TEXTS[0].index("acting"), TEXTS[0].index("acting") + len("acting was wonderful")]]
    assert second.rationale == [[0, 12]] and unmarked.rationale == [] and unmarked.rationale_cut is None
    assert first.rationale_cut == 0.0
    for sample in (first, second):
        for model in sample.models.values():
            for result in model.methods.values():
                p = result.plausibility
                assert p is not None and 0 <= p.auprc <= 1 and 0 <= p.token_f1 <= 1
                assert p.tokens_marked == 3  # "acting was wonderful", "awful movie,"
                assert p.words_marked == p.tokens_marked
    assert all(r.plausibility is None for m in unmarked.models.values() for r in m.methods.values())


def test_plausibility_is_scored_on_evidence_for_the_true_label_whatever_the_column_explains(explained, checkpoints,
                                                                                          encoder_dir):
    """The report explains each model's prediction (target predicted); plausibility is the same as in a report
    that explains the true label, since a rationale supports its label."""
    by_label = reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"],
                                 encoder=str(encoder_dir), texts=TEXTS, rationales=RATIONALES, labels=LABELS,
                                 method=METHODS, max_length=48, device="cpu", label_names=["negative", "positive"],
                                 target="label", quiet=True)
    for shown, truth in zip(explained.report.samples, by_label.report.samples):
        for role, model in shown.models.items():
            for method, result in model.methods.items():
                expected = truth.models[role].methods[method].plausibility
                if expected is None:
                    assert result.plausibility is None
                    continue
                assert result.plausibility.tokens_marked == expected.tokens_marked
                assert abs(result.plausibility.auprc - expected.auprc) <= 1e-6 * max(1.0, expected.auprc)


def test_the_json_keeps_rationales_and_plausibility_and_reads_back(explained):
    data = json.loads(explained.report.to_json())
    assert data["meta"]["schema_version"] == SCHEMA_VERSION
    assert set(data["samples"][0]["models"]["base"]["methods"]["gradient-x-input"]["plausibility"]) >= {
        "auprc", "auprc_random", "token_f1", "word_auprc", "word_f1"}
    assert Report.from_json(explained.report.to_json()).samples[0].rationale == explained.report.samples[0].rationale


def test_a_schema_7_file_reads_with_no_plausibility(explained):
    data = json.loads(explained.report.to_json())
    data["meta"]["schema_version"] = 7
    for sample in data["samples"]:
        del sample["rationale"], sample["rationale_cut"]
        for model in sample["models"].values():
            for result in model["methods"].values():
                del result["plausibility"]
    read = Report.from_dict(data)
    assert read.meta.schema_version == SCHEMA_VERSION and all(s.rationale is None for s in read.samples)


def test_an_edited_plausibility_outside_its_domain_is_refused_in_one_line(explained):
    data = json.loads(explained.report.to_json())
    data["samples"][0]["models"]["base"]["methods"]["gradient-x-input"]["plausibility"]["auprc"] = 1.5
    with pytest.raises(ReportgenError, match=r"sample 1: models\.base\.methods\.gradient-x-input\.plausibility\."
                                             r"auprc is 1\.5, outside \[0, 1\]"):
        Report.from_dict(data)
    data = json.loads(explained.report.to_json())
    data["samples"][1]["rationale"] = [[0, 400]]
    with pytest.raises(ReportgenError, match=r"sample 2: rationale\[0\] is \[0, 400\]"):
        Report.from_dict(data)


def test_a_rationale_without_a_true_label_is_refused(checkpoints, encoder_dir):
    with pytest.raises(ReportgenError, match="text 1 has a rationale but no true label"):
        reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"], encoder=str(encoder_dir),
                          texts=TEXTS[:1], rationales=RATIONALES[:1], method="gradient-x-input", max_length=48,
                          device="cpu", faithfulness=False, quiet=True)


@pytest.mark.parametrize(("cell", "says"), [
    ('[[0, 999]]', "Error: row 1's rationale span [0, 999] is not inside its text"),
    ('["not in the review"]', "Error: row 1's evidence string \"not in the review\" is not in its text"),
    ("7", "Error: row 1's rationale is int, not a list"),
])
def test_report_refuses_a_bad_rationale_column_in_one_line_and_writes_nothing(checkpoints, encoder_dir, tmp_path,
                                                                              cell, says):
    rows = [{"text": TEXTS[0], "label": 1, "marks": '["acting"]'}, {"text": TEXTS[1], "label": 0, "marks": cell}]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", "--base", str(checkpoints["base"]), "--finetuned",
                                       str(checkpoints["finetuned"]), "--encoder", str(encoder_dir), "--dataset",
                                       str(data), "--indices", "0,1", "--rationale-column", "marks", "--method",
                                       "gradient-x-input", "--no-faithfulness", "--device", "cpu", "--max-length", "48",
                                       "-q", "-o", str(out), "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 1, result.output
    assert result.output.strip().startswith(says) and len(result.output.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "r.json").exists()


def test_a_scan_records_the_rationale_column_and_reports_from_it_score_plausibility(checkpoints, encoder_dir,
                                                                                      tmp_path):
    rows = [{"text": text, "label": label, "marks": marks} for text, label, marks in zip(TEXTS, LABELS, RATIONALES)]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    models = ["--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]), "--encoder",
              str(encoder_dir), "--max-length", "48", "--device", "cpu"]
    scan = CliRunner().invoke(main, ["scan", *models, "--dataset", str(data), "--rationale-column", "marks", "-q",
                                     "-o", str(tmp_path / "scan.json")])
    assert scan.exit_code == 0, scan.output
    out = tmp_path / "r.json"
    report = CliRunner().invoke(main, ["report", *models, "--from-scan", str(tmp_path / "scan.json"), "--select",
                                       "all", "--method", "gradient-x-input", "--no-faithfulness", "-q", "-o",
                                       str(tmp_path / "r.html"), "--json", str(out)])
    assert report.exit_code == 0, report.output
    samples = {s["index"]: s for s in json.loads(out.read_text(encoding="utf-8"))["samples"]}
    assert samples[1]["rationale"] == [[0, 12]]
    assert samples[1]["models"]["base"]["methods"]["gradient-x-input"]["plausibility"]["tokens_marked"] == 3
    missing = CliRunner().invoke(main, ["scan", *models, "--dataset", str(data), "--rationale-column", "nope", "-q",
                                        "-o", str(tmp_path / "other.json")])
    assert missing.exit_code == 1 and "--rationale-column 'nope' is not a column" in missing.output


def test_the_sentence_says_so_where_one_models_overlap_is_decisively_larger(explained):
    from copy import deepcopy

    from reportgen.rendering.reading import describe

    sample = deepcopy(explained.report.samples[0])
    names = explained.report.meta.class_names
    base, finetuned = (sample.models[role].methods["gradient-x-input"].plausibility for role in ("base", "finetuned"))
    base.token_f1, finetuned.token_f1 = 0.2, 0.45
    assert ("Fine-tuned's top words overlap the annotators' marks twice as much as base's (token F1 0.45 vs "
            "0.20).") in describe(sample, names, "gradient-x-input")
    base.token_f1 = 0.3  # 1.5 times: not decisive
    assert "annotators' marks" not in describe(sample, names, "gradient-x-input")
    base.token_f1, finetuned.token_f1 = 0.0, 0.34
    assert "Fine-tuned's top words overlap the annotators' marks and base's do not" in describe(
        sample, names, "gradient-x-input")


def test_the_page_marks_the_rationale_and_says_where_a_column_shades_another_class(explained):
    html = explained.html()
    assert 'class="t ' in html and " rationale\"" in html  # the marked words carry the underline's class
    assert "Underlined: the words annotators marked as the reason for positive" in html
    assert "Annotators marked nothing in this text" in html  # the third text's empty rationale
    other = any(model.target != sample.label for sample in explained.report.samples[:2]  # the two with marks
                for model in sample.models.values())  # target predicted: a model predicting another class
    assert ("Plausibility is measured on evidence for" in html) == other
    assert "Did the shading fall where people looked?" in html
    assert "No rationale was given for this text" not in html  # every text here has a rationale, [] included


def test_a_text_without_a_rationale_among_texts_with_one_is_said_to_have_none(checkpoints, encoder_dir):
    """An empty cell of the rationale column (None) beside rows that have rationales: the page and the Markdown
    say this text has none, where a report without any rationale says nothing of them."""
    explained = reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"],
                                  encoder=str(encoder_dir), texts=TEXTS[:2], rationales=[RATIONALES[0], None],
                                  labels=LABELS[:2], method="gradient", max_length=48, device="cpu",
                                  label_names=["negative", "positive"], quiet=True, faithfulness=False)
    assert explained.report.samples[1].rationale is None
    for page in (explained.html(), explained.markdown()):
        assert page.count("No rationale was given for this text (its rationale cell is empty)") == 1
    plain = reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"], encoder=str(encoder_dir),
                              texts=TEXTS[:1], method="gradient", max_length=48, device="cpu", quiet=True,
                              faithfulness=False)
    assert "No rationale was given" not in plain.html()
