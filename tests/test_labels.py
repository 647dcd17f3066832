"""Class names: --label-names checked before anything loads, and the models' own names (config id2label) used
unless --label-names overrides them, with the dataset's names, and two models' names, made to agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import datasets
import pytest
import torch
from click.testing import CliRunner

import reportgen
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.loading.labels import parse_label_names
from reportgen.loading.models import load_model
from tests.builders import make_classifier, make_encoder_dir, make_hf_dir, save_checkpoint
from tests.test_cli_report import assert_one_line_error

NAMES = ["toxic", "insult", "obscene"]
CPU = {"device": "cpu", "quiet": True, "max_length": 32, "method": "gradient", "faithfulness": False}
TEXTS = ["this movie was great", "awful plot, boring scenes"]


# ---- --label-names: each class once, none empty, before any model loads -----------------------------------

@pytest.mark.parametrize("given, message", [
    ("pos,pos,neg", "--label-names gives classes 0 and 1 the same name 'pos' (in 'pos,pos,neg')"),
    ("neg, pos ,pos", "--label-names gives classes 1 and 2 the same name 'pos'"),
    ("neg,,pos", "--label-names: class 1 has an empty name (in 'neg,,pos')"),
    ("", "--label-names: class 0 has an empty name"),
    (["neg", "  "], "--label-names: class 1 has an empty name"),
    (["neg", 1], "--label-names: class 1 is named 1, not a text"),
    ([], "--label-names names no class"),
])
def test_label_names_with_an_empty_or_repeated_name_are_refused(given, message):
    with pytest.raises(ReportgenError) as caught:
        parse_label_names(given)
    shown = caught.value.for_cli()  # the command line's words; the API's name label_names=
    assert message in shown and "--label-names negative,positive" in shown
    assert str(caught.value) == shown.replace("--label-names", "label_names=") and "\n" not in shown


def test_label_names_are_split_and_stripped():
    assert parse_label_names(" neg , pos") == ["neg", "pos"] == parse_label_names(["neg", " pos "])
    assert parse_label_names(None) is None


def test_the_api_refuses_them_before_loading_any_model():
    """The models do not exist: a check after loading would say so instead."""
    for given in ("pos,pos", ["neg", ""]):
        with pytest.raises(ReportgenError, match="label_names="):
            reportgen.explain("never/loaded", "never/loaded", texts=["fine"], label_names=given, **CPU)


@pytest.mark.parametrize("command", ["report", "scan", "corpus"])
def test_every_command_refuses_them_in_one_line(command, checkpoints, encoder_dir, tmp_path):
    data = tmp_path / "rows.csv"
    data.write_text("text,label\ngood,1\nbad,0\n", encoding="utf-8")
    args = [command, "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
            "--encoder", str(encoder_dir), "--device", "cpu", "--dataset", str(data), "--label-names", "pos,pos",
            "-o", str(tmp_path / "out.html" if command != "scan" else tmp_path / "scan.csv")]
    result = CliRunner().invoke(main, args + (["--indices", "0"] if command == "report" else []))
    assert_one_line_error(result, "--label-names gives classes 0 and 1 the same name 'pos'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]


# ---- the models' own names ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def named(encoder_dir, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("named")
    return {
        "base": make_hf_dir(encoder_dir, folder / "base", seed=51, num_labels=3, label_names=NAMES),
        "finetuned": make_hf_dir(encoder_dir, folder / "finetuned", seed=52, num_labels=3,
                                 label_names=[name.upper() for name in NAMES]),
        "placeholders": make_hf_dir(encoder_dir, folder / "placeholders", seed=53, num_labels=3),
        "other": make_hf_dir(encoder_dir, folder / "other", seed=54, num_labels=3,
                             label_names=["positive", "negative", "neutral"]),
        "repeated": make_hf_dir(encoder_dir, folder / "repeated", seed=55, num_labels=3,
                                label_names=["toxic", "toxic", "obscene"]),
    }


def test_the_models_names_name_the_classes_and_the_targets(named):
    """Case aside the two models agree; the base model's spelling is shown, and --target takes the names."""
    report = reportgen.explain(named["base"], named["finetuned"], texts=TEXTS, target="insult", **CPU).report
    assert report.meta.class_names == NAMES
    assert [s.models[role].target for s in report.samples for role in ("base", "finetuned")] == [1] * 4
    # transformers' placeholders LABEL_0, … are no names: the other model's real names are used
    mixed = reportgen.explain(named["placeholders"], named["base"], texts=TEXTS[:1], **CPU).report
    assert mixed.meta.class_names == NAMES
    unnamed = reportgen.explain(named["placeholders"], named["placeholders"], texts=TEXTS[:1], **CPU).report
    assert unnamed.meta.class_names == ["class 0", "class 1", "class 2"]
    # --label-names overrides the models' names
    given = reportgen.explain(named["base"], named["other"], texts=TEXTS[:1], label_names="a,b,c", target="b",
                              **CPU).report
    assert given.meta.class_names == ["a", "b", "c"] and given.samples[0].models["base"].target == 1


def test_a_state_dict_checkpoint_does_not_take_its_encoders_names(tmp_path):
    """Its config is the encoder's: id2label there names the encoder's head, not the checkpoint's."""
    encoder = make_encoder_dir(tmp_path / "encoder")
    config = json.loads((encoder / "config.json").read_text(encoding="utf-8"))
    config["id2label"], config["label2id"] = {"0": "spam", "1": "ham"}, {"spam": 0, "ham": 1}
    (encoder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    checkpoint = save_checkpoint(make_classifier(encoder, seed=5), tmp_path / "model.pth")
    model = load_model(str(checkpoint), role="base", encoder=str(encoder), pooling="mean-all",
                       device=torch.device("cpu"))
    assert model.label_names is None


@pytest.mark.parametrize("pair, message", [
    (("base", "other"), "the base model names its classes toxic, insult, obscene and the fine-tuned model positive, "
                        "negative, neutral; say which names the models' outputs have with label_names="),
    (("repeated", "base"), "the base model's id2label gives classes 0 and 1 the same name 'toxic'"),
])
def test_models_whose_names_disagree_or_repeat_are_refused_in_one_line(pair, message, named, tmp_path):
    base, finetuned = (str(named[role]) for role in pair)
    with pytest.raises(ReportgenError, match=message):
        reportgen.explain(base, finetuned, texts=TEXTS[:1], **CPU)
    output = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", "--base", base, "--finetuned", finetuned, "--text", "fine",
                                       "--device", "cpu", "--max-length", "32", "-q", "-o", str(output)])
    assert_one_line_error(result, message.split(";")[0])
    assert not output.exists()
    overridden = reportgen.explain(base, finetuned, texts=TEXTS[:1], label_names="a,b,c", **CPU).report
    assert overridden.meta.class_names == ["a", "b", "c"]


def save_rows(folder: Path, names: list[str]) -> Path:
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)})
    datasets.Dataset.from_dict({"text": TEXTS, "label": [1, 0]}, features=features).save_to_disk(str(folder))
    return folder


def test_the_datasets_names_must_agree_with_the_models(named, tmp_path):
    """Agreeing (case aside): the dataset's spelling. Disagreeing: its label indices may not be the models'
    classes, so the report is refused; --label-names says which names hold."""
    agreeing = save_rows(tmp_path / "agreeing", ["Toxic", "Insult", "Obscene"])
    report = reportgen.explain(named["base"], named["finetuned"], dataset=str(agreeing), split=None, indices="0,1",
                               target="label", **CPU).report
    assert report.meta.class_names == ["Toxic", "Insult", "Obscene"]
    assert [s.models["base"].target for s in report.samples] == [1, 0]
    other = save_rows(tmp_path / "other", ["toxic", "obscene", "insult"])
    with pytest.raises(ReportgenError, match="the dataset names its classes toxic, obscene, insult but the models "
                                             "toxic, insult, obscene; say which names"):
        reportgen.explain(named["base"], named["finetuned"], dataset=str(other), split=None, indices="0", **CPU)
    given = reportgen.explain(named["base"], named["finetuned"], dataset=str(other), split=None, indices="0",
                              label_names=NAMES, **CPU).report
    assert given.meta.class_names == NAMES
    # without names of their own, the models take the dataset's
    unnamed = reportgen.explain(named["placeholders"], named["placeholders"], dataset=str(other), split=None,
                                indices="0", **CPU).report
    assert unnamed.meta.class_names == ["toxic", "obscene", "insult"]


def test_scan_and_corpus_use_the_models_names(named, tmp_path):
    data = tmp_path / "rows.csv"
    data.write_text("text,label\nthis movie was great,1\nawful plot,0\n", encoding="utf-8")
    models = ["--base", str(named["base"]), "--finetuned", str(named["finetuned"]), "--device", "cpu",
              "--max-length", "32", "--dataset", str(data), "-q"]
    scan = tmp_path / "scan.csv"
    result = CliRunner().invoke(main, ["scan", *models, "-o", str(scan)])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "scan.csv.meta.json").read_text(encoding="utf-8"))["class_names"] == NAMES
    result = CliRunner().invoke(main, ["corpus", *models, "--target-class", "obscene", "--min-count", "1",
                                       "--bootstrap", "10", "-o", str(tmp_path / "corpus.html")])
    assert result.exit_code == 0, result.output
    facts = json.loads((tmp_path / "corpus.json").read_text(encoding="utf-8"))["meta"]
    assert (facts["class_names"], facts["target_class"]) == (NAMES, 2)


# ---- labels written as the models' own class names -------------------------------------------------------------

def write_named_rows(folder: Path) -> dict[str, Path]:
    """The same two rows with their labels as class names: JSON Lines, a CSV cell, and a list per row."""
    folder.mkdir(exist_ok=True)
    lines = folder / "rows.jsonl"
    lines.write_text("".join(json.dumps({"text": text, "label": name}) + "\n"
                             for text, name in zip(TEXTS, ["insult", "Obscene"])), encoding="utf-8")
    cells = folder / "rows.csv"
    cells.write_text(f'text,label\n{TEXTS[0]},insult\n"{TEXTS[1]}",Obscene\n', encoding="utf-8")
    return {"jsonl": lines, "csv": cells}


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_labels_named_as_the_models_classes_are_read_as_those_classes(kind, named, tmp_path):
    """No --label-names, no ClassLabel: the names the models' config id2label gives (case aside) read the labels."""
    data = write_named_rows(tmp_path)[kind]
    report = reportgen.explain(named["base"], named["finetuned"], dataset=str(data), split=None, indices="0,1",
                               target="label", **CPU).report
    assert [s.label for s in report.samples] == [1, 2]
    assert [s.models[role].target for s in report.samples for role in ("base", "finetuned")] == [1, 1, 2, 2]


def test_scan_and_corpus_read_labels_named_as_the_models_classes(named, tmp_path):
    data = write_named_rows(tmp_path)["csv"]
    models = ["--base", str(named["base"]), "--finetuned", str(named["finetuned"]), "--device", "cpu",
              "--max-length", "32", "--dataset", str(data), "-q"]
    scan = tmp_path / "scan.csv"
    result = CliRunner().invoke(main, ["scan", *models, "-o", str(scan)])
    assert result.exit_code == 0, result.output
    assert [line.split(",")[1] for line in scan.read_text(encoding="utf-8").splitlines()[1:]] == ["1", "2"]
    result = CliRunner().invoke(main, ["corpus", *models, "--min-count", "1", "--bootstrap", "10",
                                       "-o", str(tmp_path / "corpus.html")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "corpus.json").read_text(encoding="utf-8"))["outcomes"]["labelled"] == 2


def test_label_lists_named_as_the_models_classes_are_read_as_those_classes(encoder_dir, tmp_path):
    kind = "multi_label_classification"
    models = [make_hf_dir(encoder_dir, tmp_path / role, seed=seed, num_labels=3, problem_type=kind, label_names=NAMES)
              for role, seed in (("base", 61), ("finetuned", 62))]
    data = tmp_path / "lists.jsonl"
    data.write_text(json.dumps({"text": TEXTS[0], "labels": ["obscene", "toxic"]}) + "\n"
                    + json.dumps({"text": TEXTS[1], "labels": "['insult']"}) + "\n", encoding="utf-8")
    report = reportgen.explain(*models, dataset=str(data), split=None, indices="0,1", target="label", **CPU).report
    assert [(s.index, s.label, s.models["base"].target) for s in report.samples] == \
        [(0, [0, 2], 0), (0, [0, 2], 2), (1, [1], 1)]


def test_a_label_that_names_no_class_is_one_line_naming_the_row_and_the_classes(named, tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"text": TEXTS[0], "label": "insult"}) + "\n"
                    + json.dumps({"text": TEXTS[1], "label": "rude"}) + "\n", encoding="utf-8")
    message = ("row 1: label 'rude' in column 'label' names no class; the classes are toxic, insult, obscene (or "
               "their indices 0 to 2)")
    with pytest.raises(ReportgenError, match=re.escape(message)):
        reportgen.explain(named["base"], named["finetuned"], dataset=str(data), split=None, indices="0,1", **CPU)
    for command in ("report", "scan", "corpus"):
        output = tmp_path / ("scan.csv" if command == "scan" else "out.html")
        result = CliRunner().invoke(main, [command, "--base", str(named["base"]), "--finetuned",
                                           str(named["finetuned"]), "--device", "cpu", "--max-length", "32",
                                           "--dataset", str(data), "-q", "-o", str(output),
                                           *(["--indices", "0,1"] if command == "report" else [])])
        assert_one_line_error(result, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl"]


# ---- class names case aside: --target takes them so, and --label-names may not repeat them so --------------------

def test_target_takes_a_class_name_case_aside_and_the_header_shows_the_name(named, tmp_path):
    explained = reportgen.explain(named["base"], named["finetuned"], texts=TEXTS, target="INSULT", **CPU)
    assert [s.models["base"].target for s in explained.report.samples] == [1, 1]
    assert "<dt>Target</dt><dd>insult</dd>" in explained.html()
    by_index = reportgen.explain(named["base"], named["finetuned"], texts=TEXTS[:1], target="2", **CPU)
    assert "<dt>Target</dt><dd>obscene</dd>" in by_index.html()
    data = tmp_path / "rows.csv"
    data.write_text("text,label\nthis movie was great,1\nawful plot,0\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["corpus", "--base", str(named["base"]), "--finetuned", str(named["finetuned"]),
                                       "--device", "cpu", "--max-length", "32", "--dataset", str(data), "-q",
                                       "--target-class", "Obscene", "--min-count", "1", "--bootstrap", "10",
                                       "-o", str(tmp_path / "corpus.html")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "corpus.json").read_text(encoding="utf-8"))["meta"]["target_class"] == 2
    page = (tmp_path / "corpus.html").read_text(encoding="utf-8")
    assert "obscene for every row" in page and "class obscene" not in page


@pytest.mark.parametrize("given", ["Pos,pos", "neg,POS,Pos"])
def test_label_names_equal_case_aside_are_refused(given):
    with pytest.raises(ReportgenError, match="names that differ only in case") as caught:
        parse_label_names(given)
    assert "could mean either" in str(caught.value) and "\n" not in str(caught.value)
