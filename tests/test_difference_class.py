"""The difference view explains the class its columns explain, and says so where a model's attributions
are all zero: tiny real models through `explain`, then the page and the notes."""

from __future__ import annotations

import copy
import re

import pytest
import torch

from reportgen.loading.models import load_model
from reportgen.pipeline import ExplainOptions, Texts, explain
from reportgen.rendering.html import render_html
from reportgen.rendering.markdown_report import render_markdown
from tests import test_rendering as synthetic
from tests.builders import make_classifier, make_hf_dir, save_checkpoint
from tests.test_rendering import parse_html

MAX_LENGTH = 32
TEXTS = ["the acting was wonderful but the plot was boring", "awful, dull movie", "not good. not good at all",
         "i loved it! the best film", "great music, terrible script", "it was fun"]
THREE = ["negative", "neutral", "positive"]
METHOD = "gradient-x-input"


@pytest.fixture(scope="module")
def three_class(encoder_dir, tmp_path_factory):
    """3-class models by seed: 1 predicts negative on these texts, 3 and 4 neutral (checked where it matters)."""
    folder = tmp_path_factory.mktemp("three")
    paths = {seed: save_checkpoint(make_classifier(encoder_dir, seed=seed, num_classes=3), folder / f"{seed}.pth")
             for seed in (1, 3, 4)}
    return {(seed, role): load_model(str(path), role=role, encoder=str(encoder_dir), pooling="mean-all",
                                     device=torch.device("cpu"))
            for seed, path in paths.items() for role in ("base", "finetuned")}


def run(models, base: int, finetuned: int, target: str, labels: list[int | None] | None = None):
    return explain({"base": models[(base, "base")], "finetuned": models[(finetuned, "finetuned")]},
                   Texts(TEXTS, list(range(len(TEXTS))), labels or [None] * len(TEXTS), THREE),
                   ExplainOptions(methods=(METHOD,), target=target, max_length=MAX_LENGTH, progress=False,
                                  faithfulness=False))


def test_a_class_given_as_target_is_the_class_the_difference_explains(three_class):
    """--target neutral on a 3-class model: both columns explain neutral, so does the difference, by
    the columns' own scores (no second attribution), and the page says so; likewise each class."""
    other = 0  # samples where the class given is not the fine-tuned model's prediction (the old difference's class)
    for wanted, target in enumerate(THREE):
        report = run(three_class, 1, 3, target)
        other += sum(s.models["finetuned"].predicted != wanted for s in report.samples)
        for sample in report.samples:
            assert sample.difference.target == wanted, (target, sample.difference.reason)
            assert sample.difference.reason == "the class chosen as target"
            for role, model in sample.models.items():
                assert model.target == wanted
                assert sample.difference.scores[METHOD][role] == model.methods[METHOD].scores
        document = parse_html(render_html(report))
        for block in document.find_all("article", "difference"):
            assert f"Both explain {target} (the class chosen as target)" in block.text()
        note = " ".join(p.text() for p in document.find_all("p", "note"))
        assert "The difference view explains the class chosen as target" in note and "true label" not in note
    assert other >= len(TEXTS)


def test_with_target_predicted_the_difference_explains_a_prediction_both_models_share(three_class):
    """Where both models predict one class, both columns explain it and so does the difference, whatever
    the label; where they predict different classes, the difference explains the true label."""
    agreeing = run(three_class, 3, 4, "predicted", [0] * len(TEXTS))
    disagreeing = run(three_class, 1, 3, "predicted", [2] * len(TEXTS))
    for sample in agreeing.samples:
        (shared,) = {model.predicted for model in sample.models.values()}
        assert shared != sample.label  # the label is another class than the columns'
        assert {model.target for model in sample.models.values()} == {shared} == {sample.difference.target}
        assert sample.difference.reason == "the class both models predict"
    for sample in disagreeing.samples:
        assert len({model.target for model in sample.models.values()}) == 2
        assert sample.difference.target == 2 and sample.difference.reason == "the true label"


@pytest.fixture(scope="module")
def silent(encoder_dir, hf_dir, tmp_path_factory):
    """A fine-tuned model whose head's weights are zero: constant logits, so all its attributions are zero."""
    folder = make_hf_dir(encoder_dir, tmp_path_factory.mktemp("silent") / "model", seed=5, head_scale=0.0)
    models = {role: load_model(str(path), role=role, encoder="", pooling="mean-all", device=torch.device("cpu"),
                               progress=False) for role, path in (("base", hf_dir), ("finetuned", folder))}
    report = explain(models, Texts(TEXTS[:3], [0, 1, 2], [1, 0, 1], ["negative", "positive"]),
                     ExplainOptions(methods=(METHOD, "gradient"), max_length=MAX_LENGTH, progress=False))
    assert all(not any(m.methods[method].scores) for s in report.samples for r, m in s.models.items()
               if r == "finetuned" for method in (METHOD, "gradient"))
    assert all(any(s.models["base"].methods[METHOD].scores) for s in report.samples)
    return report


def test_a_model_with_all_zero_attributions_is_named_in_the_difference(silent):
    document = parse_html(render_html(silent))
    blocks = document.find_all("article", "difference")
    assert len(blocks) == 3 * 2  # samples × methods
    for block in blocks:
        cautions = [p.text() for p in block.find_all("p", "caution")]
        assert any(text.startswith("The fine-tuned model's attributions toward ") and "all zero on this text" in text
                   and "only the base model's shares, negated" in text for text in cautions), cautions
    markdown = render_markdown(silent)
    assert markdown.count("only the base model's shares, negated") == 3  # the main method's line per sample


def test_a_model_with_all_zero_attributions_keeps_its_rows_in_the_faithfulness_table(silent):
    closing = parse_html(render_html(silent)).find_all("section", "closing")[0]
    header = [th.text() for th in closing.find_all("thead")[0].find_all("th")]
    rows = [[td.text().strip() for td in tr.find_all("td")] for tr in closing.find_all("tbody")[0].find_all("tr")]
    assert header[-1] == "Note"
    finetuned = [row for row in rows if row[1] == "Fine-tuned"]
    assert len(finetuned) == 2, rows  # both methods, not dropped
    for row in finetuned:
        assert row[2:6] == ["n/a"] * 4
        assert "attributions are all zero on every sample" in row[6] and "no normalised value" in row[6]
    assert "★" not in " ".join(row[0] for row in finetuned)
    assert "Fine-tuned: no method is named the most faithful: " in closing.text()


def test_without_normalised_values_an_all_zero_model_shows_its_raw_means_and_no_winner(silent):
    """Raw AOPC (a file without the bounds): the silent model's means are there, each row says its
    attributions are all zero, and neither method is its most faithful (neither ranks a word)."""
    raw = copy.deepcopy(silent)
    for sample in raw.samples:
        for model in sample.models.values():
            model.aopc_bounds = {}
            for result in model.methods.values():
                for score in result.faithfulness.scores.values():
                    score.normalised = score.random_normalised = None
    closing = parse_html(render_html(raw)).find_all("section", "closing")[0]
    rows = [[td.text().strip() for td in tr.find_all("td")] for tr in closing.find_all("tbody")[0].find_all("tr")]
    finetuned = [row for row in rows if row[1] == "Fine-tuned"]
    assert len(finetuned) == 2 and all(re.fullmatch(r"−?\d\.\d{3}", cell) for row in finetuned for cell in row[2:6])
    assert all(row[6].startswith("Its attributions are all zero on every sample") for row in finetuned)
    assert "Fine-tuned: no method is named the most faithful: Gradient × input and gradient norm rank no word" \
        in closing.text()


def test_an_older_file_whose_difference_explains_another_class_says_so():
    """A file written before the difference followed its columns: both columns explain negative, the
    difference positive. The page keeps the file's numbers and says that they speak of another class."""
    made = synthetic.sample(["[CLS]", "a", "b", "c", "[SEP]"], "a b c")
    for model in made.models.values():
        model.target = 0
    assert made.difference.target == 1
    block = parse_html(render_html(synthetic.report([made]))).find_all("article", "difference")[0]
    cautions = [p.text() for p in block.find_all("p", "caution")]
    assert cautions == ["This difference explains positive, while both columns explain negative (a file written by "
                        "an older reportgen): its colours speak of another class than theirs."]
    made.models["base"].target = 1  # the columns explain different classes: the common class is no surprise
    block = parse_html(render_html(synthetic.report([made]))).find_all("article", "difference")[0]
    assert not block.find_all("p", "caution")
