"""Occlusion and Shapley value sampling through everything a method goes through: `reportgen report`
(faithfulness, agreement table, difference view, the additivity gap in the JSON and the HTML) and
`reportgen corpus --method` (stored word scores equal the words' values, the gap stored per row)."""

from __future__ import annotations

import json
import math

import pyarrow.parquet as pq
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import reportgen
from reportgen.attribution import MethodOptions, ShapleyOptions
from reportgen.attribution.surrogate_options import SurrogateOptions
from reportgen.choices import LIME_FIT, kernel_shap_gap_allowed, shapley_gap_allowed
from reportgen.corpus.run import CorpusOptions
from reportgen.loading.data import open_dataset
from reportgen.loading.device import resolve_device
from reportgen.loading.inputs import encode
from reportgen.loading.models import load_model
from reportgen.rendering.numbers import fixed, signed_figure
from reportgen.results import Report
from reportgen.words import word_scores
from tests.test_cli_report import files, invoke, report_args  # noqa: F401 (fixture)
from tests.test_corpus import MAX_LENGTH as CORPUS_LENGTH
from tests.test_corpus import corpus_args, dataset  # noqa: F401 (fixture)
from tests.tiny_models import make_architecture_dir, make_decoder_dir
from tests.tolerances import assert_close_fp32

METHODS = "shapley-sampling,occlusion,gradient"


def test_report_with_word_removal_methods(checkpoints, encoder_dir, files, tmp_path):
    html_path, json_path = tmp_path / "report.html", tmp_path / "report.json"
    result = invoke(report_args(checkpoints, encoder_dir, files, html_path,
                                {"--json": str(json_path), "--method": METHODS, "--shapley-samples": "2",
                                 "--steps": None}))
    assert result.exit_code == 0, result.output
    data = json.loads(json_path.read_text(encoding="utf-8"))
    report = Report.from_dict(data)
    assert report.meta.shapley_samples == 2 and report.meta.steps is None
    html = html_path.read_text(encoding="utf-8")
    for sample in report.samples:
        for model in sample.models.values():
            shapley, occlusion = model.methods["shapley-sampling"], model.methods["occlusion"]
            assert occlusion.convergence_delta is None and occlusion.faithfulness is not None
            assert shapley.faithfulness is not None and shapley.convergence_delta is not None
            total = math.fsum(shapley.scores)
            assert abs(total - shapley.target_logit_change) <= shapley_gap_allowed(shapley.target_logit_change)
            for method in ("shapley-sampling", "occlusion"):  # [CLS] and [SEP] are never removed
                scores = model.methods[method].scores
                assert scores[0] == 0.0 and scores[-1] == 0.0
                words = [w for w in sample.words if w.start is not None]
                assert sum(v != 0 for v in word_scores(words, scores)) > 0
            assert f"Additivity gap {signed_figure(shapley.convergence_delta, 2)} (Σ word values" in html
        assert set(sample.difference.difference) == {"shapley-sampling", "occlusion", "gradient"}
    assert "Shapley values from 2 random orders of the words per sample" in html
    assert "Occlusion (leave one word out)" in html and "Spearman" in html  # the agreement table


def test_corpus_with_shapley_sampling_stores_word_values_and_gaps(checkpoints, encoder_dir, dataset, tmp_path):
    output = tmp_path / "shapley.html"
    result = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--method", "shapley-sampling",
                                "--shapley-samples", "2", "--limit", "4"))
    assert result.exit_code == 0, result.output
    stored = pq.read_table(tmp_path / "shapley-scores" / "rows.parquet").to_pylist()
    rows = open_dataset(str(dataset), None)
    for role in ("base", "finetuned"):
        model = load_model(str(checkpoints[role]), role=role, encoder=str(encoder_dir), pooling="mean-all",
                           device=resolve_device("cpu"))
        inputs = encode(model.tokenizer, rows.texts(list(range(4))), CORPUS_LENGTH, model.info.pads_to_max_length)
        options = CorpusOptions(method="shapley-sampling", max_length=CORPUS_LENGTH,
                                method_options=MethodOptions(shapley=ShapleyOptions(samples=2)))
        direct = options.attributor(4).attribute(model, inputs, torch.tensor([r["target"] for r in stored]))
        for i, row in enumerate(stored):
            assert row[f"{role}_steps"] is None
            assert row[f"{role}_delta"] == pytest.approx(float(direct.convergence_delta[i]), abs=1e-5)
            assert abs(row[f"{role}_delta"]) <= shapley_gap_allowed(row[f"{role}_logit_change"])
            assert math.fsum(row[f"{role}_scores"]) == pytest.approx(row[f"{role}_logit_change"], abs=1e-4)
    data = json.loads(output.with_suffix(".json").read_text())
    assert data["meta"]["path"] == {"shapley_samples": 2}
    assert "2 random orders of the words per row" in output.read_text()
    refused = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--method", "shapley-sampling",
                                 "--shapley-samples", "3", "--limit", "4"))
    assert refused.exit_code == 1 and "shapley_samples: 2 in the file, 3 now" in refused.output


def test_shapley_samples_are_checked_before_any_model_loads():
    with pytest.raises(Exception, match="shapley_samples= must be a whole number of at least 1"):
        MethodOptions(shapley=ShapleyOptions(samples=0)).check()


def test_report_with_lime_and_kernel_shap(checkpoints, encoder_dir, files, tmp_path):
    """Both surrogate methods through `reportgen report`: faithfulness, flip test, agreement table, difference view;
    KernelSHAP's gap and LIME's fit stored per sample and stated on the page; the sample count in the method line."""
    html_path, json_path = tmp_path / "report.html", tmp_path / "report.json"
    result = invoke(report_args(checkpoints, encoder_dir, files, html_path,
                                {"--json": str(json_path), "--method": "kernel-shap,lime,gradient",
                                 "--surrogate-samples": "40", "--steps": None}))
    assert result.exit_code == 0, result.output
    report = Report.from_json(json_path.read_text(encoding="utf-8"))
    assert report.meta.surrogate_samples == 40 and report.meta.shapley_samples is None
    html = html_path.read_text(encoding="utf-8")
    for sample in report.samples:
        for model in sample.models.values():
            shap, lime = model.methods["kernel-shap"], model.methods["lime"]
            for method in (shap, lime):
                assert method.faithfulness is not None and method.flip is not None
                assert method.scores[0] == 0.0 and method.scores[-1] == 0.0
            assert abs(math.fsum(shap.scores) - shap.target_logit_change) <= \
                kernel_shap_gap_allowed(shap.target_logit_change)
            assert f"Additivity gap {signed_figure(shap.convergence_delta, 2)} (Σ word values" in html
            assert lime.convergence_delta is None and shap.surrogate_fit is None
            if 40 - sample.removable_words - 1 <= 0:  # too few samples for the words: no adjusted R²
                assert lime.surrogate_fit is None and "Surrogate fit not measurable: 40 sampled coalitions" in html
            else:
                assert lime.surrogate_fit <= 1.0
                assert f"Surrogate fit: adjusted R² {fixed(lime.surrogate_fit, 2)}" in html
        assert set(sample.difference.difference) == {"kernel-shap", "lime", "gradient"}
    assert "LIME and KernelSHAP from 40 sampled coalitions of the words per sample" in html
    assert "KernelSHAP" in html and "Spearman" in html  # the agreement table


@pytest.mark.parametrize("samples", [20, 60])
def test_corpus_with_lime_records_its_samples_and_each_rows_fit(checkpoints, encoder_dir, dataset, tmp_path, samples):
    """Each row's LIME fit per model is stored (`{role}_fit`: the adjusted R² the attributor gives, null where not
    measurable), and the page and the JSON say per model how many rows fit poorly or could not be measured."""
    output = tmp_path / "lime.html"
    result = invoke(corpus_args(checkpoints, encoder_dir, dataset, output, "--method", "lime",
                                "--surrogate-samples", str(samples), "--limit", "3"))
    assert result.exit_code == 0, result.output
    data = json.loads(output.with_suffix(".json").read_text())
    assert data["meta"]["path"] == {"surrogate_samples": samples}
    page = output.read_text()
    assert f"{samples} sampled coalitions of the words per row" in page
    stored = pq.read_table(tmp_path / "lime-scores" / "rows.parquet").to_pylist()
    rows = open_dataset(str(dataset), None)
    for role, title in (("base", "Base"), ("finetuned", "Fine-tuned")):
        model = load_model(str(checkpoints[role]), role=role, encoder=str(encoder_dir), pooling="mean-all",
                           device=resolve_device("cpu"))
        inputs = encode(model.tokenizer, rows.texts(list(range(3))), CORPUS_LENGTH, model.info.pads_to_max_length)
        options = CorpusOptions(method="lime", max_length=CORPUS_LENGTH,
                                method_options=MethodOptions(surrogate=SurrogateOptions(samples=samples)))
        direct = options.attributor(4).attribute(model, inputs, torch.tensor([r["target"] for r in stored])).fit
        fits = [row[f"{role}_fit"] for row in stored]
        for fit, expected in zip(fits, direct.tolist()):
            assert fit is None if math.isnan(expected) else fit == pytest.approx(expected, abs=1e-6)
        summary = data["meta"]["fit"][role]
        missing, poor = sum(f is None for f in fits), sum(f is not None and f < LIME_FIT for f in fits)
        assert (summary["rows"], summary["not_measurable"], summary["poor"]) == (3, missing, poor)
        line = page[page.index("Surrogate fit"):]
        assert f"{title}: " in line
        shown = f"{missing} of 3 rows not measurable" if missing < 3 else "all 3 rows not measurable"
        assert (shown in line) == bool(missing)
        assert ("fewer samples than words + 2; raise --surrogate-samples" in line) == (samples == 20)
        if missing < 3:
            measured = [f for f in fits if f is not None]
            assert f"adjusted R² mean {fixed(sum(measured) / len(measured), 2)} (lowest {fixed(min(measured), 2)})" \
                in line
    assert any(row["base_fit"] is None for row in stored) == (samples == 20)


@pytest.mark.parametrize("architecture", ["bert", "llama"])
def test_a_text_without_words_gets_zero_scores_from_word_removal(architecture, tmp_path):
    """An empty text, or one of whitespace that the tokenizer drops (BERT's), has special tokens only ([CLS] [SEP],
    Llama's BOS) and no word to remove: every word-removal method gives all-zero scores, f(x) − f(no words) is 0 and
    so is the gap. (Llama's SentencePiece keeps whitespace as tokens, a word of its own that these methods score.)"""
    make = make_architecture_dir if architecture == "bert" else make_decoder_dir
    folder = make(architecture, tmp_path / architecture, seed=2)
    methods = ["occlusion", "shapley-sampling", "kernel-shap", "lime"]
    texts = ["", "   "] if architecture == "bert" else [""]
    explained = reportgen.explain(base=folder, finetuned=folder, texts=texts, method=methods,
                                  max_length=16, device="cpu", quiet=True)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    specials = set(tokenizer.all_special_tokens)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        scale = model(**tokenizer("", return_tensors="pt")).logits.abs().max()  # f(x), the magnitude compared
    for sample in explained.report.samples:
        assert sample.tokens and set(sample.tokens) <= specials
        for column in sample.models.values():
            for name in methods:
                result = column.methods[name]
                assert len(result.scores) == len(sample.tokens) and not any(result.scores), name
                # f(x) and f(no words) are the same row, run in passes of other sizes: equal up to rounding
                ends = [v for v in (result.convergence_delta, result.target_logit_change) if v is not None]
                assert len(ends) == (0 if name in ("occlusion", "lime") else 2), name
                if ends:
                    assert_close_fp32(torch.tensor(ends), torch.zeros(len(ends)), scale=scale)
