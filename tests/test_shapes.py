"""Input shapes beyond one text and one label: sentence pairs (NLI, paraphrase, cross-encoders) and
multi-label classifiers, on tiny random-initialised BERT classifiers built in the test session."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import reportgen
from reportgen.choices import allowed_delta
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.loading.inputs import encode
from reportgen.loading.models import load_model
from reportgen.perturbation import removal_logits, remove_tokens
from tests.builders import load_user_module, make_classifier, make_hf_dir, save_checkpoint
from tests.tiny_models import ARCHITECTURES, direct_probabilities, make_architecture_dir
from tests.tolerances import assert_close_fp32

NLI = ["entailment", "neutral", "contradiction"]
PAIRS = [
    ("a good movie with great acting", "the film was great"),
    ("awful plot and boring scenes", "it is the best story, really"),
    ("i loved the music", "the music was dull"),
    ("the ending was not good at all", "the ending was bad"),
]
LABELS = ["toxic", "insult", "threat", "spam"]
CPU = {"device": "cpu", "quiet": True, "max_length": 64}


def assert_close_scaled(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal up to fp32 rounding of the larger of 1 and the values' magnitude (probabilities, logits)."""
    expected = torch.as_tensor(expected, dtype=torch.float64)
    assert_close_fp32(torch.as_tensor(actual, dtype=torch.float64), expected, max(1.0, float(expected.abs().max())))


@pytest.fixture(scope="module")
def nli(encoder_dir, tmp_path_factory) -> dict[str, Path]:
    """Two 3-class NLI-shaped classifiers whose second segment's token type matters, and a premise/hypothesis CSV."""
    folder = tmp_path_factory.mktemp("nli")
    data = folder / "nli.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["premise", "hypothesis", "label"])
        writer.writerows([premise, hypothesis, i % 3] for i, (premise, hypothesis) in enumerate(PAIRS))
    return {"base": make_hf_dir(encoder_dir, folder / "base", seed=11, num_labels=3, second_segment_scale=20,
                                head_scale=60),
            "finetuned": make_hf_dir(encoder_dir, folder / "finetuned", seed=12, num_labels=3,
                                     second_segment_scale=20, head_scale=60),
            "data": data}


def test_pair_probabilities_equal_the_model_called_on_the_pair(nli):
    report = reportgen.explain(nli["base"], nli["finetuned"], dataset=str(nli["data"]), indices="0-3",
                               text_column="premise", text_pair_column="hypothesis", label_names=NLI,
                               method="integrated-gradients,gradient,attention-rollout", **CPU).report
    assert report.meta.segment_names == ["Premise", "Hypothesis"]
    for sample, (premise, hypothesis) in zip(report.samples, PAIRS):
        assert (sample.text, sample.text_pair) == (premise, hypothesis)
        for role in ("base", "finetuned"):
            expected = direct_probabilities(nli[role], [(premise, hypothesis)], 64)[0]
            assert_close_scaled(torch.tensor(sample.models[role].probabilities), expected)
    # The test bites: the same pair without token type ids gives other probabilities (by far more than the
    # fp32 tolerance above, 64 × eps32 ≈ 8e-6).
    tokenizer = AutoTokenizer.from_pretrained(nli["base"])
    model = AutoModelForSequenceClassification.from_pretrained(nli["base"]).eval()
    batch = tokenizer(*PAIRS[0], return_tensors="pt")
    with torch.no_grad():
        blind = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.softmax(-1)[0]
    assert (blind - torch.tensor(report.samples[0].models["base"].probabilities)).abs().max() > 1e-4


def test_pair_ig_completes_and_words_cover_both_segments(nli):
    report = reportgen.explain(nli["base"], nli["finetuned"], texts=PAIRS, method="integrated-gradients",
                               faithfulness=False, **CPU).report
    assert report.meta.segment_names == ["Text A", "Text B"]
    for sample, (first, second) in zip(report.samples, PAIRS):
        for model in sample.models.values():
            result = model.methods["integrated-gradients"]
            assert abs(result.convergence_delta) <= allowed_delta(result.target_logit_change, 0.01)
        for segment, text in enumerate((first, second)):
            words = [w for w in sample.words if w.segment == segment and w.start is not None]
            assert all(text[w.start:w.end] == w.text for w in words)
            covered = {i for w in words for i in range(w.start, w.end)}
            assert covered == {i for i, c in enumerate(text) if not c.isspace()}
        tokens = [t for w in sample.words for t in range(w.first_token, w.last_token)]
        assert tokens == list(range(len(sample.tokens)))  # every token in one word, in order
        assert sample.tokens.count("[SEP]") == 2


def test_removal_keeps_separators_and_moves_token_types_with_their_tokens(nli):
    model = load_model(str(nli["base"]), role="base", encoder="", pooling="cls", device=torch.device("cpu"))
    inputs = encode(model.tokenizer, [p for p, _ in PAIRS], 64, False, pairs=[h for _, h in PAIRS])
    real = inputs.attention_mask.bool()
    candidates = real & ~inputs.special_tokens_mask.bool()
    generator = torch.Generator().manual_seed(0)
    kept = real & ~(candidates & (torch.rand(real.shape, generator=generator) < 0.5))  # drop half the words
    ids, mask, types = remove_tokens(inputs.input_ids, kept, model.tokenizer.pad_token_id, inputs.token_type_ids)
    sep = model.tokenizer.sep_token_id
    for row in range(len(PAIRS)):
        n = int(mask[row].sum())
        assert ids[row, :n].tolist() == inputs.input_ids[row][kept[row]].tolist()
        assert types[row, :n].tolist() == inputs.token_type_ids[row][kept[row]].tolist()
        assert ids[row, :n].tolist().count(sep) == 2
    logits = removal_logits(model, inputs, lambda rows: (rows, kept[rows]), kept.sum(dim=1), batch_size=2)
    with torch.no_grad():
        direct = model.module(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    assert_close_scaled(logits, direct)


def test_pair_faithfulness_starts_from_the_pairs_probability(nli):
    report = reportgen.explain(nli["base"], nli["finetuned"], texts=[PAIRS[0][0]], text_pairs=[PAIRS[0][1]],
                               method="gradient-x-input", **CPU).report
    model = report.samples[0].models["base"]
    expected = direct_probabilities(nli["base"], [PAIRS[0]], 64)[0, model.target]
    assert_close_scaled(torch.tensor(model.methods["gradient-x-input"].faithfulness.probability), expected)


def test_state_dict_format_pairs_with_the_encoders_tokenizer(encoder_dir, tmp_path):
    paths = {}
    for role, seed in (("base", 21), ("finetuned", 22)):
        module = make_classifier(encoder_dir, seed, num_classes=3, pooling="cls")
        with torch.no_grad():
            module.bert.embeddings.token_type_embeddings.weight[1].mul_(20)
        paths[role] = save_checkpoint(module, tmp_path / f"{role}.pth")
    report = reportgen.explain(paths["base"], paths["finetuned"], encoder=str(encoder_dir), pooling="cls",
                               texts=PAIRS[:2], method="gradient", faithfulness=False, **CPU).report
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    for sample, pair in zip(report.samples, PAIRS):
        reference = load_user_module(encoder_dir, paths["base"], pooling="cls")
        batch = tokenizer(*pair, return_tensors="pt")
        with torch.no_grad():
            hidden = reference.bert(**batch).last_hidden_state
            expected = reference.classifier(hidden[:, 0]).softmax(-1)[0]
        assert_close_scaled(torch.tensor(sample.models["base"].probabilities), expected)


def test_cli_shows_both_segments_labelled_and_says_which_was_cut(nli, tmp_path):
    out = tmp_path / "pair.html"
    long_hypothesis = "the film was great " * 30
    result = CliRunner().invoke(main, ["report", "--base", str(nli["base"]), "--finetuned", str(nli["finetuned"]),
                                       "--text", "a good movie", "--text-pair", long_hypothesis, "--max-length", "32",
                                       "--method", "gradient", "--no-faithfulness", "--device", "cpu", "-q",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<dt>Text A</dt><dd>a good movie</dd>" in html and "<dt>Text B</dt>" in html
    assert "truncated: Text B lost its last tokens" in html
    assert '<p class="tokens"><span' in html and "<br>" in html  # the second text starts a line of its own


def test_pair_options_are_checked_before_loading(nli):
    with pytest.raises(ReportgenError, match="one text_pairs= after each texts="):
        reportgen.explain("never-loaded", "never-loaded", texts=["a", "b"], text_pairs=["c"], **CPU)
    with pytest.raises(ReportgenError, match="needs text_column="):
        reportgen.explain(nli["base"], nli["finetuned"], dataset=str(nli["data"]), indices="0",
                          text_pair_column="hypothesis", **CPU)


# --- multi-label ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def multi(encoder_dir, tmp_path_factory) -> dict[str, Path]:
    """Two 4-label multi-label classifiers: 'toxic' and 'insult' above 0.5 for every text, the others below
    (the finetuned one also predicts 'spam')."""
    folder = tmp_path_factory.mktemp("multi")
    kind = "multi_label_classification"
    return {"base": make_hf_dir(encoder_dir, folder / "base", seed=31, num_labels=4, problem_type=kind,
                                bias=[3.0, 2.0, -3.0, -4.0]),
            "finetuned": make_hf_dir(encoder_dir, folder / "finetuned", seed=32, num_labels=4, problem_type=kind,
                                     bias=[3.0, -3.0, -3.0, 2.5])}


TEXTS = ["this movie was great", "awful plot, boring scenes"]


def test_multi_label_sigmoids_predicted_sets_and_one_sample_per_label(multi):
    report = reportgen.explain(multi["base"], multi["finetuned"], texts=TEXTS, label_names=LABELS,
                               method="integrated-gradients,gradient-x-input", **CPU).report
    assert report.meta.multi_label
    # toxic (both), insult (base), spam (fine-tuned): three explanations per text, in label order
    assert [(s.text, s.models["base"].target) for s in report.samples] == \
        [(text, label) for text in TEXTS for label in (0, 1, 3)]
    for sample in report.samples:
        base, finetuned = sample.models["base"], sample.models["finetuned"]
        assert base.chosen == [0, 1] and finetuned.chosen == [0, 3]
        assert base.target == finetuned.target == sample.difference.target
        for role, model in sample.models.items():
            expected = direct_probabilities(multi[role], [sample.text], 64, sigmoid=True)[0]
            assert_close_scaled(torch.tensor(model.probabilities), expected)
            for method in ("integrated-gradients", "gradient-x-input"):
                faithfulness = model.methods[method].faithfulness
                assert_close_scaled(torch.tensor(faithfulness.probability), expected[model.target])
                # no flip test (a verdict is a set of labels); NAOPC bounds the label's own AOPC
                assert model.methods[method].flip is None
                for name, score in faithfulness.scores.items():
                    assert model.aopc_bounds[name].lower <= score.value <= model.aopc_bounds[name].upper
            assert model.random_flips is None
        assert sample.agreement_flips == {}
    html = reportgen.explain(multi["base"], multi["finetuned"], texts=TEXTS[:1], label_names=LABELS,
                             method="gradient", faithfulness=False, **CPU).html()
    assert "Sample 1: text 1, explaining toxic" in html and "Sample 3: text 1, explaining spam" in html
    assert "explains insult" in html and "toxic (0.9" in html and "spam (0.9" in html
    # the fine-tuned model's verdict on the label sample 2 explains, which it does not predict
    assert "fine-tuned gives insult 0.0" in html
    assert "(not predicted, threshold 0.5), with most weight for insult" in html


def test_multi_label_target_by_name_or_index_and_top_label_when_none_predicted(multi, encoder_dir, tmp_path):
    named = reportgen.explain(multi["base"], multi["finetuned"], texts=TEXTS, label_names=LABELS, target="threat",
                              method="gradient", faithfulness=False, **CPU).report
    assert [s.models["base"].target for s in named.samples] == [2, 2]
    indexed = reportgen.explain(multi["base"], multi["finetuned"], texts=TEXTS, target="1",
                                method="gradient", faithfulness=False, **CPU).report
    assert [s.models["finetuned"].target for s in indexed.samples] == [1, 1]
    kind = "multi_label_classification"
    quiet = {role: make_hf_dir(encoder_dir, tmp_path / role, seed=seed, num_labels=4, problem_type=kind,
                               bias=[-3.0, -2.0, -4.0, -5.0]) for role, seed in (("base", 41), ("finetuned", 42))}
    report = reportgen.explain(quiet["base"], quiet["finetuned"], texts=TEXTS[:1], method="gradient",
                               faithfulness=False, **CPU).report
    assert len(report.samples) == 1 and report.samples[0].models["base"].chosen == []
    assert report.samples[0].models["base"].target == 1  # the most probable label, none above 0.5
    with pytest.raises(ReportgenError, match="target= 'nope'"):
        reportgen.explain(multi["base"], multi["finetuned"], texts=TEXTS, label_names=LABELS, target="nope", **CPU)


ROWS = [("this movie was great", [1, 0]), ("awful plot, boring scenes", []), ("the music was dull", [3])]


@pytest.fixture(scope="module")
def label_lists(tmp_path_factory) -> Path:
    """Multi-label data in go_emotions' layout: each row's true labels as a list (unsorted, or empty)."""
    path = tmp_path_factory.mktemp("lists") / "rows.jsonl"
    path.write_text("".join(json.dumps({"text": text, "labels": labels}) + "\n" for text, labels in ROWS),
                    encoding="utf-8")
    return path


def test_multi_label_rows_show_their_true_labels_and_mark_each_explained_label(multi, label_lists, tmp_path):
    """The true labels are read as a set, kept in the JSON, shown on the page; each model's mark says whether its
    verdict on the label a sample explains (predicted: above 0.5) matches whether that label is true."""
    explained = reportgen.explain(multi["base"], multi["finetuned"], dataset=str(label_lists), split=None,
                                  indices="0-2", label_names=LABELS, method="gradient", faithfulness=False, **CPU)
    report = explained.report
    # each text once per label either model predicts (toxic, insult, spam), its true labels sorted
    assert [(s.index, s.label) for s in report.samples] == [(i, sorted(ROWS[i][1])) for i in range(3) for _ in "tis"]
    html = explained.html()
    seen = set()
    for number, sample in enumerate(report.samples, start=1):
        marks = []
        for role, title in (("base", "base"), ("finetuned", "fine-tuned")):
            model = sample.models[role]
            right = (model.target in model.chosen) == (model.target in sample.label)
            marks.append(f"{title} {'✓' if right else '✗'}")
            seen.add(right)
        shown = ", ".join(LABELS[i] for i in sample.label) or "none"
        section = html.split(f'id="sample-{number}"')[1]
        assert f"True labels: <strong>{shown}</strong> · {' · '.join(marks)}" in section
        # the summary's cell lists the whole predicted set, so its mark names the one label it judges
        summary = html.split('id="sample-1"')[0].split(f'href="#sample-{number}"')[1].split("</tr>")[0]
        for mark in marks:
            assert f"{mark.split()[-1]} on {LABELS[sample.models['base'].target]}" in summary
    assert seen == {True, False}  # the rows hold right and wrong verdicts
    # not "the true label" for these: each sample explains one label, whether true or not
    assert "common: both models explain each label either model predicts" in html
    assert "The difference view explains one common class for both models (the label its sample explains)." in html
    source = tmp_path / "report.json"
    explained.save(tmp_path / "report.html", json=source)
    assert reportgen.ExplainedReport.load(source).html() == (tmp_path / "report.html").read_text(encoding="utf-8")


def test_target_label_explains_each_true_label_and_refuses_a_row_without_any(multi, label_lists, tmp_path):
    report = reportgen.explain(multi["base"], multi["finetuned"], dataset=str(label_lists), split=None,
                               indices="0,2", target="label", method="gradient", faithfulness=False, **CPU).report
    assert [(s.index, s.models["base"].target, s.difference.target) for s in report.samples] == \
        [(0, 0, 0), (0, 1, 1), (2, 3, 3)]
    output = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", "--base", str(multi["base"]), "--finetuned", str(multi["finetuned"]),
                                       "--dataset", str(label_lists), "--indices", "0-2", "--target", "label",
                                       "--device", "cpu", "--max-length", "64", "-q", "-o", str(output)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "--target label: row 1 has no true label (an empty list)" in errors[0]
    assert not output.exists()


def test_single_label_models_refuse_label_lists_in_one_line(nli, label_lists, tmp_path):
    output = tmp_path / "r.html"
    for target in ("common", "label", "predicted"):
        result = CliRunner().invoke(main, ["report", "--base", str(nli["base"]), "--finetuned", str(nli["finetuned"]),
                                           "--dataset", str(label_lists), "--indices", "0", "--target", target,
                                           "--device", "cpu", "--max-length", "64", "-q", "-o", str(output)])
        assert result.exit_code == 1 and "Traceback" not in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("Error")]
        assert len(errors) == 1 and "row 0 has a list of labels ([0, 1]), which only multi-label models" in errors[0]
    assert not output.exists()


@pytest.mark.parametrize("command", ["scan", "corpus"])
def test_scan_and_corpus_refuse_multi_label_models_in_one_line(multi, tmp_path, command):
    data = tmp_path / "rows.csv"
    data.write_text("text,label\nthis movie was great,0\n", encoding="utf-8")
    out = tmp_path / ("scan.csv" if command == "scan" else "corpus.html")
    result = CliRunner().invoke(main, [command, "--base", str(multi["base"]), "--finetuned", str(multi["finetuned"]),
                                       "--dataset", str(data), "--device", "cpu", "--max-length", "64", "-o",
                                       str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "single-label classifiers only" in errors[0] and "multi-label" in errors[0]
    assert not out.exists() and not list(tmp_path.glob("scan.csv*"))


def test_scan_of_pairs_predicts_the_pairs_and_reports_from_it_keep_them(nli, tmp_path):
    scan = tmp_path / "scan.csv"
    models = ["--base", str(nli["base"]), "--finetuned", str(nli["finetuned"]), "--device", "cpu", "--max-length", "64"]
    result = CliRunner().invoke(main, ["scan", *models, "--dataset", str(nli["data"]), "--text-column", "premise",
                                       "--text-pair-column", "hypothesis", "-q", "-o", str(scan)])
    assert result.exit_code == 0, result.output
    with scan.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        expected = direct_probabilities(nli["finetuned"], [PAIRS[int(row["index"])]], 64)[0]
        assert int(row["finetuned_pred"]) == int(expected.argmax())
        assert abs(float(row["finetuned_prob"]) - float(expected.max())) <= 1e-6 + 1e-5  # 6 decimals, fp32
    report = reportgen.explain(nli["base"], nli["finetuned"], from_scan=scan, select="all", method="gradient",
                               faithfulness=False, **CPU).report
    assert {(s.text, s.text_pair) for s in report.samples} == set(PAIRS)
    corpus = CliRunner().invoke(main, ["corpus", *models, "--from-scan", str(scan), "--select", "all",
                                       "-o", str(tmp_path / "corpus.html")])
    assert corpus.exit_code == 1 and "sentence pairs (premise + hypothesis)" in corpus.output
    assert not (tmp_path / "corpus.html").exists()


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_pairs_on_every_architecture_equal_a_direct_call(name, tmp_path):
    """Token type ids go only to models that embed them (BERT, ALBERT, ELECTRA); DistilBERT, MPNet, RoBERTa-style
    and DeBERTa models take the pair without them, through prediction, attribution and removal alike."""
    folders = {role: make_architecture_dir(name, tmp_path / role, seed) for role, seed in (("base", 1), ("ft", 2))}
    report = reportgen.explain(folders["base"], folders["ft"], texts=PAIRS[:2], method="gradient-x-input",
                               **{**CPU, "max_length": 32}).report
    expected = direct_probabilities(folders["base"], PAIRS[:2], 32)
    for sample, probabilities in zip(report.samples, expected):
        assert_close_scaled(torch.tensor(sample.models["base"].probabilities), probabilities)
        assert {w.segment for w in sample.words if w.start is not None} == {0, 1}
