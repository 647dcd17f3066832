"""A tokenizer without a pad token (a Hugging Face directory, or `tokenizer=` in the API): `report` and `scan`
pad with the pad token the model's config declares, and say so; with none declared, one line before any work."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

import reportgen
from reportgen.api import from_module
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.loading.checks import same_inputs
from reportgen.loading.device import resolve_device
from reportgen.loading.padding import with_pad_token
from reportgen.scan.reading import read_scan
from tests.builders import write_csv
from tests.test_cli_report import assert_one_line_error
from tests.tolerances import assert_close_fp32, row_magnitude

MAX_LENGTH = 32
TEXTS = ["the acting was wonderful, but the plot was boring", "awful movie", "great fun"]  # padded to the longest
METHODS = "integrated-gradients,gradient-x-input,attention-gradient,occlusion,shapley-sampling"
NOTE = "its tokenizer has no pad token: padded with the config's pad_token_id 0 ([PAD])"
CPU = resolve_device("cpu")


def without_pad(source: Path, folder: Path, config_pad: int | None) -> Path:
    """`source`'s classifier with a tokenizer that has no pad token, its config declaring `config_pad`."""
    config = AutoConfig.from_pretrained(source)
    config.pad_token_id = config_pad
    AutoModelForSequenceClassification.from_pretrained(source, config=config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source, pad_token=None).save_pretrained(folder)
    assert AutoTokenizer.from_pretrained(folder).pad_token is None
    return folder


@pytest.fixture(scope="module")
def padless(hf_dir, tmp_path_factory) -> dict[str, Path]:
    """hf_dir's classifier without a pad token in its tokenizer: its config still declares [PAD] (id 0), or
    declares none."""
    folder = tmp_path_factory.mktemp("padless")
    return {"declared": without_pad(hf_dir, folder / "declared", 0), "none": without_pad(hf_dir, folder / "none", None)}


def explain(base, finetuned, **options) -> reportgen.ExplainedReport:
    return reportgen.explain(base=base, finetuned=finetuned, texts=TEXTS, method=METHODS, steps=4, shapley_samples=2,
                             max_length=MAX_LENGTH, device="cpu", naopc=False, quiet=True, **options)


def assert_same_results(got: reportgen.ExplainedReport, want: reportgen.ExplainedReport) -> None:
    for a, b in zip(got.report.samples, want.report.samples, strict=True):
        assert a.tokens == b.tokens
        for role in ("base", "finetuned"):
            assert_close_fp32(torch.tensor(a.models[role].probabilities), torch.tensor(b.models[role].probabilities),
                              1.0)
            for method, result in b.models[role].methods.items():
                expected = torch.tensor(result.scores)
                assert_close_fp32(torch.tensor(a.models[role].methods[method].scores), expected,
                                  row_magnitude(expected))
                assert a.models[role].methods[method].faithfulness == pytest.approx(result.faithfulness)


def test_a_tokenizer_without_a_pad_token_pads_with_the_one_its_model_declares(padless, hf_dir):
    """Every method, faithfulness included, as with a tokenizer that pads with the same token; the header says
    which token it is and what it is used for."""
    padded = explain(str(padless["declared"]), str(padless["declared"]))
    reference = explain(str(hf_dir), str(hf_dir))
    assert_same_results(padded, reference)
    assert [m.note for m in padded.report.meta.models] == [NOTE + ", also integrated gradients' baseline and the "
                                                           "token of removed words"] * 2
    assert NOTE in html.unescape(padded.html()) and NOTE not in html.unescape(reference.html())


def test_a_scan_pads_with_the_declared_token_too(padless, hf_dir, tmp_path):
    dataset = write_csv(tmp_path / "rows.csv", TEXTS, [0, 1, 1])
    rows = {}
    for name, model in (("padless", padless["declared"]), ("reference", hf_dir)):
        output = tmp_path / f"{name}.json"
        result = CliRunner().invoke(main, ["scan", "--base", str(model), "--finetuned", str(model), "--dataset",
                                           str(dataset), "--max-length", str(MAX_LENGTH), "--device", "cpu",
                                           "--batch-size", "3", "-q", "-o", str(output)])
        assert result.exit_code == 0, result.output
        rows[name] = read_scan(output).rows
    assert [(r.base_pred, r.base_prob) for r in rows["padless"]] == \
        [(r.base_pred, pytest.approx(r.base_prob, abs=1e-5)) for r in rows["reference"]]


@pytest.mark.parametrize("command", ["report", "scan"])
def test_no_pad_token_anywhere_is_refused_in_one_line_before_any_work(command, padless, hf_dir, tmp_path):
    dataset = write_csv(tmp_path / "rows.csv", TEXTS, [0, 1, 1])
    output = tmp_path / ("r.html" if command == "report" else "scan.json")
    extra = ["--indices", "0-2", "--method", "occlusion"] if command == "report" else []
    result = CliRunner().invoke(main, [command, "--base", str(hf_dir), "--finetuned", str(padless["none"]),
                                       "--dataset", str(dataset), "--max-length", str(MAX_LENGTH), "--device", "cpu",
                                       "-q", "-o", str(output), *extra])
    assert_one_line_error(result, "the fine-tuned model's tokenizer has no pad token and its config no pad_token_id")
    assert "set pad_token_id in its config.json" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]  # nothing written


def test_a_callers_tokenizer_without_a_pad_token_is_used_and_left_as_it_was(hf_dir):
    modules = {role: AutoModelForSequenceClassification.from_pretrained(hf_dir) for role in ("base", "finetuned")}
    tokenizer = AutoTokenizer.from_pretrained(hf_dir, pad_token=None)
    padded = explain(modules["base"], modules["finetuned"], tokenizer=tokenizer)
    assert tokenizer.pad_token is None and tokenizer.pad_token_id is None  # the caller's object is untouched
    reference = explain(modules["base"], modules["finetuned"], tokenizer=AutoTokenizer.from_pretrained(hf_dir))
    assert_same_results(padded, reference)
    assert all(m.note.startswith(NOTE) for m in padded.report.meta.models)
    modules["base"].config.pad_token_id = None
    with pytest.raises(ReportgenError, match="the base model's tokenizer has no pad token and its config no "):
        explain(modules["base"], modules["finetuned"], tokenizer=tokenizer)


def test_with_pad_token_keeps_a_tokenizer_that_has_one_and_refuses_an_unknown_id(hf_dir):
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    config = AutoConfig.from_pretrained(hf_dir)
    assert with_pad_token(tokenizer, config, "base") == (tokenizer, None)
    padless = AutoTokenizer.from_pretrained(hf_dir, pad_token=None)
    config.pad_token_id = len(padless) + 3
    with pytest.raises(ReportgenError, match=rf"pad_token_id {len(padless) + 3} is not one of the tokenizer's"):
        with_pad_token(padless, config, "base")
    assert padless.pad_token is None


def test_models_that_pad_with_other_tokens_do_not_share_their_inputs(hf_dir):
    """One tokenization serves two models only if they pad alike: one tokenizer without a pad token for two
    modules whose configs declare [PAD] and [UNK]."""
    tokenizer = AutoTokenizer.from_pretrained(hf_dir, pad_token=None)
    modules = [AutoModelForSequenceClassification.from_pretrained(hf_dir) for _ in range(3)]
    modules[1].config.pad_token_id = tokenizer.unk_token_id
    models = [from_module(module, role="base", tokenizer=tokenizer, device=CPU) for module in modules]
    assert [m.tokenizer.pad_token for m in models] == ["[PAD]", "[UNK]", "[PAD]"]
    assert not same_inputs(models[0], models[1]) and same_inputs(models[0], models[2])
