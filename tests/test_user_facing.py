"""What a new user meets first: words for any reader, one API with the CLI, fast one-line mistakes."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

import reportgen
from reportgen.cli import main
from reportgen.demo import assets as demo_assets

ROOT = Path(__file__).resolve().parent.parent
ONE_READER = re.compile(r"the user'?s|user's (format|model|module|architecture|head|pipeline)|the issue'?s|"
                        r"these machines|was lent|reportgen\[demo\]", re.IGNORECASE)
"""Phrases that speak to one user or one issue, or name an unrelated distribution."""
SAVE_OPTIONS = {"output", "json_path", "markdown_path"}
"""`reportgen report` options that `ExplainedReport.save` takes, not `explain`."""


def help_texts() -> dict[str, str]:
    runner = CliRunner()
    texts = {"reportgen": runner.invoke(main, ["--help"]).output}
    for name in main.commands:
        texts[f"reportgen {name}"] = runner.invoke(main, [name, "--help"]).output
    return texts


def product_texts() -> dict[str, str]:
    """README, docs, templates, the committed sample reports' data and Markdown, every --help."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "templates").iterdir()),
             *sorted((ROOT / "sample_reports").glob("*.json")), *sorted((ROOT / "sample_reports").glob("*.md"))]
    return {**{str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in files}, **help_texts()}


def test_readme_help_docs_and_reports_speak_to_any_reader():
    found = {where: sorted({m.group(0) for m in ONE_READER.finditer(text)})
             for where, text in product_texts().items() if ONE_READER.search(text)}
    assert not found, f"words for one user or one issue: {found}"


def test_install_advice_names_this_distribution():
    distribution = re.search(r'^name = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    advice = f"pip install '{distribution}[demo]'"
    demo_help = " ".join(help_texts()["reportgen demo"].split())
    assert advice in demo_help and advice in demo_assets.INSTALL_HINT


def test_explain_takes_the_report_commands_options_with_their_defaults():
    """Same names, same defaults (what the command receives for an option left out): an option added to one
    and not the other, or a drifting default, fails."""
    parameters = dict(inspect.signature(reportgen.explain).parameters)
    assert parameters.pop("tokenizer").default is None  # only for modules already in memory
    # free texts' human rationales and true labels, one per text: Python lists, which --text has no form for
    assert parameters.pop("rationales").default is None and parameters.pop("labels").default is None
    command = main.commands["report"]
    options = {p.name: p for p in command.params if isinstance(p, click.Option) and p.name not in SAVE_OPTIONS}
    assert sorted(parameters) == sorted(options)
    required = sorted(name for name, option in options.items() if option.required)
    assert required == sorted(name for name, p in parameters.items() if p.default is inspect.Parameter.empty)
    given = command.make_context("report", [x for name in required for x in (f"--{name}", name)])
    received = {name: value for name, value in given.params.items() if name in options and name not in required}
    assert {name: p.default for name, p in parameters.items() if name not in required} == received


def test_render_draws_a_corpus_file_as_its_page_and_refuses_report_options(tmp_path):
    source = ROOT / "sample_reports" / "corpus.json"
    for options, named in ((["--markdown", str(tmp_path / "n.md")], "--markdown"),
                           (["--scale", "per-column"], "--scale"), (["--json", str(tmp_path / "c.json")], "--json")):
        result = CliRunner().invoke(main, ["render", str(source), "-o", str(tmp_path / "never.html"), *options])
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "`reportgen corpus` file" in lines[0] and named in lines[0], lines
    assert not list(tmp_path.iterdir())
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(tmp_path / "c.html")])
    assert result.exit_code == 0, result.output
    assert "a corpus page of 400 rows" in result.output
    # the committed page was drawn from this JSON by the same code
    assert (tmp_path / "c.html").read_text(encoding="utf-8") == (ROOT / "sample_reports" / "corpus.html").read_text(
        encoding="utf-8")


WITNESS = """
import sys
from reportgen.cli import main
try:
    main(sys.argv[1:], prog_name="reportgen")
finally:
    sys.stderr.write("torch imported: %s\\n" % ("torch" in sys.modules))
"""


@pytest.mark.parametrize("args, message", [
    (["--method", "integrated-gradients,shap"], "--method: unknown method 'shap'"),
    (["--steps", "0"], "--steps must be at least 1"),
    (["--base", "missing/base.pth"], "--base: no such file: missing/base.pth"),
    (["--label-names", "pos,pos,neg"], "--label-names gives classes 0 and 1 the same name 'pos'"),
    (["--label-names", "neg,,pos"], "--label-names: class 1 has an empty name"),
    (["--scale", "huge"], "--scale: unknown scale 'huge'"),  # every options dataclass's check, ViewOptions' too
    (["--granularity", "x"], "--granularity: unknown granularity 'x'"),
    (["--max-length", "0"], "--max-length must be at least 2 (got 0)"),
    (["--device", "tpu"], "--device: unknown device 'tpu'; use auto, cpu, cuda or cuda:N"),
])
def test_mistakes_are_reported_before_torch_is_imported(args, message, checkpoints, tmp_path):
    """One line, exit status 1, and torch never imported (it alone takes seconds)."""
    given = {"--base": str(checkpoints["base"]), "--finetuned": str(checkpoints["finetuned"])}
    given.update(dict(zip(args[::2], args[1::2])))
    command = ["report", *[x for pair in given.items() for x in pair], "--text", "fine", "-o",
               str(tmp_path / "r.html")]
    done = subprocess.run([sys.executable, "-c", WITNESS, *command], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120, check=False)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert lines[-1] == "torch imported: False"
    assert len(lines) == 2 and lines[0].startswith("Error: ") and message in lines[0]
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs must be at least 1 (got 0)"),
    (["--max-length", "4"], "--max-length must be between 8 and 512 for the demo (got 4)"),
    (["--device", "tpu"], "--device: unknown device 'tpu'"),
    (["--steps", "0"], "--steps must be at least 1"),
])
def test_demo_mistakes_are_reported_before_torch_is_imported(args, message, tmp_path):
    """The demo's settings and device too: one line, exit status 1, before torch (and minutes of training)."""
    command = ["demo", *args, "-o", str(tmp_path / "d.html"), "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run([sys.executable, "-c", WITNESS, *command], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120, check=False)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert lines[-1] == "torch imported: False"
    assert len(lines) == 2 and lines[0].startswith("Error: ") and message in lines[0], lines
    assert not (tmp_path / "d.html").exists()


def test_readme_leads_with_the_commands_a_quick_start_and_how_to_read_a_report():
    headings = re.findall(r"^## (.+)$", (ROOT / "README.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert headings[:3] == ["Two commands", "Quick start", "How to read a report"]
    assert {"Layout", "Reference"} <= set(headings)


DOCUMENTS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_local_link_leads_somewhere(document):
    """The reference moved from the README into docs/: each relative link must still find its file."""
    path = ROOT / document
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8"))
    broken = [t for t in targets if "://" not in t and not (path.parent / t).exists()]
    assert not broken, f"{document}: {broken}"


# ---- roles by their titles: "the fine-tuned model", as the pages say, never the option's "finetuned" ----------

BARE_ROLE = re.compile(r"(?<![-.{])\{(?:[\w.]*\.)?(?:role|first_role)\}(?![_.}])")
"""A role interpolated as its spelling in code ("finetuned"); `--{role}` and `{{{role}}}` (an option, the latter
an `OptionError` template's: `base=` or `--base`), `{role}_pred` (a column),
`models.{role}` (a JSON field) and `{role}.pth` (a file) are names in code by design."""
SETTINGS_KEYS = re.compile(r'f"\{role\} (weights|format|encoder|pooling)"')
"""A scan's recorded settings, keyed by role in its files."""


def test_no_message_names_a_role_by_its_spelling_in_code():
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted((ROOT / "reportgen").rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if BARE_ROLE.search(SETTINGS_KEYS.sub("", line))]
    assert not found, "name roles with choices.role_title / role_word:\n" + "\n".join(found)


def test_messages_about_one_model_name_it_by_its_title():
    import torch

    from reportgen.errors import ReportgenError
    from reportgen.loading.checks import check_class_counts, models_label_names, multi_label
    from reportgen.loading.models import check_max_length
    from reportgen.loading.padding import with_pad_token
    from reportgen.loading.precision import for_computation

    def model(classes: int, multi: bool, names: list[str]) -> SimpleNamespace:
        return SimpleNamespace(info=SimpleNamespace(num_classes=classes), multi_label=multi, label_names=names,
                               max_positions=8)

    models = {"base": model(2, False, ["neg", "pos"]), "finetuned": model(3, True, ["a", "b"])}
    with torch.inference_mode():
        frozen = torch.nn.Linear(2, 2)
    checks = [lambda: check_class_counts(models), lambda: multi_label(models), lambda: models_label_names(models),
              lambda: check_max_length({"finetuned": models["finetuned"]}, 16),
              lambda: with_pad_token(SimpleNamespace(pad_token_id=None), None, "finetuned"),
              lambda: for_computation(frozen, "finetuned", torch.device("cpu"))]
    for check in checks:
        with pytest.raises(ReportgenError) as caught:
            check()
        assert "fine-tuned" in str(caught.value) and "finetuned" not in str(caught.value), str(caught.value)
