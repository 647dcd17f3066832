"""The Python API (`reportgen.explain`), `reportgen render`, Markdown notes and files safe to share."""

from __future__ import annotations

import contextlib
import html as html_module
import json
import re

import pytest
import torch
from click.testing import CliRunner
from transformers import AutoTokenizer

import reportgen
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.results import SCHEMA_VERSION
from tests.builders import load_user_module
from tests.test_rendering import V1_REPORT, assert_scores_match, parse_html
from tests.tolerances import assert_close_fp32, row_magnitude

MAX_LENGTH = 48
TEXTS = ["the acting was wonderful, but the plot-twist was boring!", "awful movie, not good at all"]


@pytest.fixture(scope="module")
def explained(checkpoints, encoder_dir):
    return reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"], encoder=str(encoder_dir),
                             texts=TEXTS, method="gradient-x-input,attention-rollout", max_length=MAX_LENGTH,
                             device="cpu", label_names=["negative", "positive"], quiet=True)


def test_explain_returns_a_report_with_every_method(explained):
    report = explained.report
    assert report.meta.methods == ["gradient-x-input", "attention-rollout"]
    assert [s.text for s in report.samples] == TEXTS
    for sample, sentence in zip(report.samples, explained.sentences(), strict=True):
        for model in sample.models.values():
            assert set(model.methods) == {"gradient-x-input", "attention-rollout"}
            assert all(m.faithfulness is not None for m in model.methods.values())
        assert sentence.startswith("Base predicted")
        assert sample.difference is not None and sample.difference.reason.startswith("the fine-tuned model's")
    assert "2 samples" in repr(explained)


def test_repr_html_is_the_report_isolated_in_an_iframe(explained):
    shown = explained._repr_html_()
    assert shown.startswith("<iframe srcdoc=\"") and "sandbox" in shown
    inner = html_module.unescape(re.search(r'srcdoc="([^"]*)"', shown).group(1))
    assert inner == explained.html()  # the exact report, escaped once into the attribute
    assert "<style>" not in shown  # nothing of the report's CSS can leak into the notebook


def test_save_writes_html_json_and_markdown_together(explained, tmp_path):
    explained.save(tmp_path / "r.html", json=tmp_path / "r.json", markdown=tmp_path / "notes.md")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert_scores_match((tmp_path / "r.html").read_text(encoding="utf-8"), data)
    notes = (tmp_path / "notes.md").read_text(encoding="utf-8")
    assert notes.startswith("# Why the models disagree")
    assert "| \\# | Outcome | Row | True label |" in notes and "Base predicted" in notes
    with pytest.raises(ReportgenError, match="at least one"):
        explained.save()


def test_modules_already_in_memory(checkpoints, encoder_dir):
    """Loaded modules and a tokenizer give the same predictions as the checkpoints on disk."""
    modules = {role: load_user_module(encoder_dir, checkpoints[role]) for role in ("base", "finetuned")}
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    from_memory = reportgen.explain(base=modules["base"], finetuned=modules["finetuned"], tokenizer=tokenizer,
                                    texts=TEXTS, method="gradient", max_length=MAX_LENGTH, device="cpu",
                                    faithfulness=False, quiet=True)
    from_disk = reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"],
                                  encoder=str(encoder_dir), texts=TEXTS, method="gradient", max_length=MAX_LENGTH,
                                  device="cpu", faithfulness=False, quiet=True)
    for a, b in zip(from_memory.report.samples, from_disk.report.samples):
        for role in ("base", "finetuned"):
            torch.testing.assert_close(torch.tensor(a.models[role].probabilities),
                                       torch.tensor(b.models[role].probabilities))
            assert a.models[role].methods["gradient"].scores == pytest.approx(b.models[role].methods["gradient"].scores,
                                                                             rel=1e-5, abs=1e-7)
    assert from_memory.report.meta.models[0].source == "in memory"
    assert from_memory.report.meta.models[0].sha256 and from_memory.report.meta.models[1].sha256
    assert from_memory.report.meta.models[0].sha256 != from_memory.report.meta.models[1].sha256
    with pytest.raises(ReportgenError, match="neither"):
        reportgen.explain(base=torch.nn.Linear(2, 2), finetuned=modules["finetuned"], tokenizer=tokenizer,
                          texts=TEXTS, device="cpu", quiet=True)


def absolute_paths(text: str) -> list[str]:
    return re.findall(r"(/(?:tmp|home|root|work|usr|Users)/[^\s\"'<>]*)", text)


def test_reports_carry_no_local_paths_unless_asked(checkpoints, encoder_dir, tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\ngreat film,1\nawful,0\n", encoding="utf-8")
    common = ["report", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
              "--encoder", str(encoder_dir), "--dataset", str(data), "--indices", "0,1", "--method", "gradient",
              "--max-length", str(MAX_LENGTH), "--device", "cpu", "--no-faithfulness", "-q"]
    plain = CliRunner().invoke(main, common + ["-o", str(tmp_path / "a.html"), "--json", str(tmp_path / "a.json"),
                                               "--markdown", str(tmp_path / "a.md")])
    assert plain.exit_code == 0, plain.output
    for name in ("a.html", "a.json", "a.md"):
        assert absolute_paths((tmp_path / name).read_text(encoding="utf-8")) == [], name
    meta = json.loads((tmp_path / "a.json").read_text())["meta"]
    assert [m["source"] for m in meta["models"]] == ["base.pth", "finetuned.pth"]
    assert meta["models"][0]["encoder"] == encoder_dir.name and meta["dataset"] == "reviews.csv"
    assert meta["models"][0]["sha256"]
    full = CliRunner().invoke(main, common + ["--include-paths", "-o", str(tmp_path / "b.html"),
                                              "--json", str(tmp_path / "b.json")])
    assert full.exit_code == 0, full.output
    meta = json.loads((tmp_path / "b.json").read_text())["meta"]
    assert meta["models"][0]["source"] == str(checkpoints["base"]) and meta["dataset"] == str(data)


def test_render_changes_the_view_without_models(explained, tmp_path, monkeypatch):
    source = tmp_path / "r.json"
    explained.save(json=source)
    import reportgen.api as api

    def no_models(*args, **kwargs):
        raise AssertionError("render must not load models")

    monkeypatch.setattr(api, "load_model", no_models)
    out, notes = tmp_path / "pieces.html", tmp_path / "notes.md"
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(out), "--granularity", "wordpiece",
                                       "--scale", "per-column", "--markdown", str(notes)])
    assert result.exit_code == 0, result.output
    assert_scores_match(out.read_text(encoding="utf-8"), json.loads(source.read_text()), "wordpiece")
    assert "Each column has its own colour scale" in out.read_text(encoding="utf-8")
    assert notes.read_text(encoding="utf-8").startswith("# Why the models disagree")
    default = tmp_path / "default.html"
    assert CliRunner().invoke(main, ["render", str(source), "-o", str(default)]).exit_code == 0
    assert default.read_text(encoding="utf-8") == explained.html()


def test_render_reads_schema_1_and_refuses_the_unknown(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(V1_REPORT), encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(old), "-o", str(tmp_path / "old.html")])
    assert result.exit_code == 0, result.output
    assert parse_html((tmp_path / "old.html").read_text(encoding="utf-8")).find_all("span", data_score=True)
    future = json.loads(json.dumps(V1_REPORT))
    future["meta"]["schema_version"] = SCHEMA_VERSION + 1
    (tmp_path / "future.json").write_text(json.dumps(future), encoding="utf-8")
    for name, expected in (("future.json", f"schema version {SCHEMA_VERSION + 1}; this reportgen reads versions 1, 2"),
                           ("missing.json", "cannot read"), ("garbage.json", "not valid JSON")):
        if name == "garbage.json":
            (tmp_path / name).write_text("{not json", encoding="utf-8")
        result = CliRunner().invoke(main, ["render", str(tmp_path / name), "-o", str(tmp_path / "x.html")])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert expected in result.output, result.output
        assert not (tmp_path / "x.html").exists()


def test_render_help_has_an_example():
    result = CliRunner().invoke(main, ["render", "--help"])
    assert result.exit_code == 0 and "reportgen render report.json" in result.output
    for option in ("--granularity", "--scale", "--markdown", "-o"):
        assert option in result.output
    assert "--quiet" not in result.output  # render shows no progress, so it offers no -q that would do nothing


def test_render_refuses_q_that_would_do_nothing(tmp_path):
    result = CliRunner().invoke(main, ["render", str(tmp_path / "r.json"), "-q"])
    assert result.exit_code == 2 and "No such option '-q'" in result.output, result.output


def test_render_and_help_never_import_torch(explained, tmp_path):
    """`render` answers in about a second because nothing on its path imports torch or transformers."""
    import subprocess
    import sys

    source = tmp_path / "r.json"
    explained.save(json=source)
    script = ("import sys\nfrom click.testing import CliRunner\nfrom reportgen.cli import main\n"
              f"assert CliRunner().invoke(main, ['render', {str(source)!r}, '-o', {str(tmp_path / 'r.html')!r}])"
              ".exit_code == 0\n"
              "assert CliRunner().invoke(main, ['report', '--help']).exit_code == 0\n"
              "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'captum', 'matplotlib') "
              "if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == explained.html()


# ---- the caller's grad mode ---------------------------------------------------------------------

def grad_off():
    """`torch.set_grad_enabled(False)` as a script calls it (not as a context manager): the mode stays off."""
    torch.set_grad_enabled(False)
    return contextlib.nullcontext()


CALLER_MODES = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode, "set_grad_enabled(False)": grad_off}
GRADIENT_METHODS = "integrated-gradients,gradient,attention-rollout,attention-gradient"


@pytest.fixture(scope="module")
def free_grad_mode(checkpoints, encoder_dir):
    """The methods that take gradients, explained from autograd's default mode: the reference."""
    return reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"], encoder=str(encoder_dir),
                             texts=TEXTS, method=GRADIENT_METHODS, steps=4, max_length=MAX_LENGTH, device="cpu",
                             faithfulness=False, quiet=True)


@pytest.mark.parametrize("mode", CALLER_MODES)
def test_explain_works_in_any_grad_mode_and_leaves_it_as_it_was(mode, free_grad_mode, checkpoints, encoder_dir):
    """A notebook's `torch.no_grad()`, a web worker's `torch.inference_mode()`, a script's
    `torch.set_grad_enabled(False)`: the same report as from autograd's default mode, and the mode unchanged."""
    modules = {role: load_user_module(encoder_dir, checkpoints[role]) for role in ("base", "finetuned")}
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    try:
        with CALLER_MODES[mode]():
            state = (torch.is_grad_enabled(), torch.is_inference_mode_enabled())
            from_disk = reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"],
                                          encoder=str(encoder_dir), texts=TEXTS, method=GRADIENT_METHODS, steps=4,
                                          max_length=MAX_LENGTH, device="cpu", faithfulness=False, quiet=True)
            assert (torch.is_grad_enabled(), torch.is_inference_mode_enabled()) == state
            in_memory = reportgen.explain(base=modules["base"], finetuned=modules["finetuned"], tokenizer=tokenizer,
                                          texts=TEXTS, method=GRADIENT_METHODS, steps=4, max_length=MAX_LENGTH,
                                          device="cpu", faithfulness=False, quiet=True)
            assert (torch.is_grad_enabled(), torch.is_inference_mode_enabled()) == state
        assert not state[0] and state[1] == (mode == "inference_mode")
        assert torch.is_grad_enabled() == (mode != "set_grad_enabled(False)")
    finally:
        torch.set_grad_enabled(True)
    for explained in (from_disk, in_memory):
        for got, want in zip(explained.report.samples, free_grad_mode.report.samples, strict=True):
            for role in ("base", "finetuned"):
                for method, result in want.models[role].methods.items():
                    expected = torch.tensor(result.scores)
                    assert_close_fp32(torch.tensor(got.models[role].methods[method].scores), expected,
                                      row_magnitude(expected))
    for module in modules.values():  # the caller's modules keep plain tensors, which autograd can use later
        assert not any(p.is_inference() for p in module.parameters())


def test_a_module_made_under_inference_mode_is_refused_in_one_line(checkpoints, encoder_dir):
    with torch.inference_mode():
        module = load_user_module(encoder_dir, checkpoints["base"])
    with pytest.raises(ReportgenError, match=r"the base module's weights were created under torch.inference_mode\(\)"):
        reportgen.explain(base=module, finetuned=load_user_module(encoder_dir, checkpoints["finetuned"]),
                          tokenizer=AutoTokenizer.from_pretrained(encoder_dir), texts=TEXTS, method="occlusion",
                          max_length=MAX_LENGTH, device="cpu", quiet=True)


def test_a_method_option_of_no_chosen_method_is_refused_before_any_model_loads(tmp_path):
    """`surrogate_samples=` with no LIME or KernelSHAP among `method`: one OptionError naming the keyword as the API
    takes it, even at its default, before the models (here files that do not exist) are looked at."""
    from reportgen.errors import OptionError

    for keywords in ({"surrogate_samples": 500}, {"surrogate_samples": 40}):
        with pytest.raises(OptionError, match="^surrogate_samples= applies to method= lime or kernel-shap, not chosen "
                                              "here$"):
            reportgen.explain(tmp_path / "none.pth", tmp_path / "none.pth", texts=["fine"], method="gradient",
                              **keywords)
    with pytest.raises(OptionError, match="^steps= applies to method= integrated-gradients"):
        reportgen.explain(tmp_path / "none.pth", tmp_path / "none.pth", texts=["fine"], method="lime", steps=8)
