"""docs/architecture.md's "How to add a method", followed once end to end for a method WITH an option, in this
test session only (monkeypatch; the package is left as it was): a toy method whose scores are `--toy-scale` ×
the gradient norm reaches `reportgen report --help`, the page (its title and its shade in the lede) and the
JSON (its scores, with its option applied)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import torch
from click.testing import CliRunner

import reportgen.api
import reportgen.attribution.options
import reportgen.cli
import reportgen.cli_options
import reportgen.corpus.options
import reportgen.explain_options
import reportgen.methods
import reportgen.pipeline
from reportgen.attribution.base import (
    AttributionSettings,
    Attributor,
    TokenScores,
    check_finite,
    target_logit_gradient,
    word_embeddings,
)
from reportgen.attribution.options import MethodOptions, part
from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.inputs import EncodedTexts, rows_of
from reportgen.loading.models import LoadedModel
from reportgen.methods import REGISTRY, MethodInfo
from reportgen.option_spec import option
from tests.tolerances import assert_close_fp32

# Step 1: the record (title, signed, class-specific, needs, description, "module:Class", what a shade means).
TOY = MethodInfo("toy", "Toy scaled gradient", signed=False, class_specific=True, needs="gradients",
                 description="unsigned: --toy-scale times the gradient norm, a test's toy",
                 attributor="tests.test_add_a_method:ToyAttributor",
                 shade="the toy's scaled gradient norm")


# Step 3, first part: the options' own dataclass, each option declared on its field (keyword, default, help: the
# CLI flag --toy-scale and the API keyword toy_scale are made from it), with a check() that raises OptionError.
@dataclass
class ToyOptions:
    """The toy's part of the composed options."""

    scale: float = option(1.0, keyword="toy_scale", type=float,  # multiplies every score
                          help="With --method toy: what its scores are multiplied by.")

    def check(self) -> None:
        if not self.scale > 0:
            raise OptionError(f"{{toy_scale}} must be above 0 (got {self.scale})", "toy_scale")


# Step 3, second part: a field of that type in MethodOptions, naming the methods that take it (here a subclass, so
# that the package's MethodOptions stays as it is); nothing else: the CLI and the API read the declarations.
@dataclass
class ToyMethodOptions(MethodOptions):
    toy: ToyOptions = part(ToyOptions, "toy")


# Step 2 and step 3's third part: the class, its constructor and from_options.
class ToyAttributor(Attributor):
    """scale × ‖∂ logit / ∂ x_t‖₂ per token."""

    name = "toy"

    def __init__(self, settings: AttributionSettings, options: ToyOptions | None = None) -> None:
        super().__init__(settings)
        self.scale = (options or ToyOptions()).scale

    @classmethod
    def from_options(cls, settings: AttributionSettings, options: MethodOptions) -> Attributor:
        return cls(settings, options.toy)

    def rows(self, num_texts: int) -> int:
        return num_texts

    def attribute(self, model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor) -> TokenScores:
        embeds = word_embeddings(model, inputs.input_ids)
        mask, targets = inputs.attention_mask.to(model.device), targets.to(model.device)
        types = model.token_types(inputs)
        scores = torch.empty(embeds.shape[:2], dtype=torch.float32, device=model.device)

        def work(start: int, stop: int) -> None:
            gradient, _ = target_logit_gradient(model, embeds[start:stop], mask[start:stop], targets[start:stop],
                                                self.settings.precision, rows_of(types, slice(start, stop)))
            scores[start:stop] = self.scale * gradient.norm(dim=-1)

        self.runner.run(len(inputs), work)
        check_finite(scores, self.name)
        return TokenScores(scores)


def fresh(name: str, path: str, monkeypatch, *, stand_in: bool = True) -> ModuleType:
    """A fresh copy of a module, as a new process would import it, in `sys.modules` for the test; `stand_in`: under
    its own name, so that a copy imported after it imports it (else under another name, and the package's modules
    keep importing the package's own)."""
    name = name if stand_in else f"toy_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def toy_package(monkeypatch) -> SimpleNamespace:
    """The package as it is once the steps are done: the record in REGISTRY and the field in MethodOptions, then
    the CLI and the API imported afresh (their option groups and keywords are made when they are imported). No
    option, keyword or callback is added by hand."""
    monkeypatch.setitem(REGISTRY, TOY.name, TOY)
    monkeypatch.setattr(reportgen.methods, "METHODS", tuple(REGISTRY))
    monkeypatch.setattr(reportgen.attribution.options, "MethodOptions", ToyMethodOptions)
    fresh("reportgen.explain_options", reportgen.explain_options.__file__, monkeypatch)
    fresh("reportgen.corpus.options", reportgen.corpus.options.__file__, monkeypatch)
    fresh("reportgen.cli_options", reportgen.cli_options.__file__, monkeypatch)
    return SimpleNamespace(cli=fresh("reportgen.cli", reportgen.cli.__file__, monkeypatch),
                           api=fresh("reportgen.api", reportgen.api.__file__, monkeypatch, stand_in=False))


@pytest.fixture
def toy_cli(toy_package) -> ModuleType:
    return toy_package.cli


def run_report(cli: ModuleType, checkpoints, encoder_dir, folder: Path, extra: list[str]) -> tuple[str, dict]:
    folder.mkdir()
    html, data = folder / "report.html", folder / "report.json"
    result = CliRunner().invoke(cli.main, [
        "report", "-q", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
        "--encoder", str(encoder_dir), "--device", "cpu", "--max-length", "24",
        "--text", "A slow start, then wonderful.", "--text", "dull and long",
        "-o", str(html), "--json", str(data), *extra])
    assert result.exit_code == 0, result.output
    return html.read_text(encoding="utf-8"), json.loads(data.read_text(encoding="utf-8"))


def scores(report: dict, method: str) -> torch.Tensor:
    """Every token's score under `method`, all samples and both models, in one flat tensor."""
    return torch.tensor([score for sample in report["samples"] for model in sample["models"].values()
                         for score in model["methods"][method]["scores"]], dtype=torch.float64)


@pytest.mark.parametrize("command", ["report", "demo", "corpus"])
def test_help_lists_the_toy_method_and_its_option(toy_cli, command):
    text = " ".join(CliRunner().invoke(toy_cli.main, [command, "--help"]).output.split())
    if command == "report":
        assert f"{TOY.name} ({TOY.description})" in text
    assert "--toy-scale FLOAT With --method toy: what its scores are multiplied by. [default: 1.0]" in text


def test_the_api_takes_the_toy_option_as_a_keyword(toy_package, checkpoints, encoder_dir):
    assert inspect.signature(toy_package.api.explain).parameters["toy_scale"].default == 1.0
    runs = {scale: toy_package.api.explain(
        base=str(checkpoints["base"]), finetuned=str(checkpoints["finetuned"]), encoder=str(encoder_dir),
        device="cpu", max_length=24, texts=["A slow start, then wonderful."], method="toy,gradient",
        faithfulness=False, quiet=True, toy_scale=scale).report.to_dict() for scale in (1.0, 3.0)}
    gradient = scores(runs[1.0], "gradient")
    assert_close_fp32(scores(runs[3.0], "toy"), 3.0 * gradient, 3.0 * gradient.abs())
    with pytest.raises(ReportgenError, match=r"toy_scale= must be above 0 \(got -1\)"):
        toy_package.api.explain(base=str(checkpoints["base"]), finetuned=str(checkpoints["finetuned"]),
                                texts=["fine"], method="toy", toy_scale=-1)


def test_the_toy_method_reaches_the_page_and_the_json_with_its_option(toy_cli, checkpoints, encoder_dir, tmp_path):
    plain_html, plain = run_report(toy_cli, checkpoints, encoder_dir, tmp_path / "plain",
                                   ["--method", "toy,gradient"])
    scale = 2.5
    scaled_html, scaled = run_report(toy_cli, checkpoints, encoder_dir, tmp_path / "scaled",
                                     ["--method", "toy,gradient", "--toy-scale", str(scale)])
    for html, report in ((plain_html, plain), (scaled_html, scaled)):
        assert report["meta"]["methods"] == ["toy", "gradient"]
        assert TOY.title in html
        assert f"Shade = {TOY.shade}." in html.replace("&#39;", "'")  # the lede reads the record
    gradient = scores(plain, "gradient")
    assert torch.equal(scores(scaled, "gradient"), gradient)  # the toy's option touches no other method
    assert_close_fp32(scores(plain, "toy"), gradient, gradient.abs())  # the default scale: 1
    assert_close_fp32(scores(scaled, "toy"), scale * gradient, scale * gradient.abs())


def test_a_mistake_in_the_toy_option_is_one_line_and_writes_nothing(toy_cli, checkpoints, encoder_dir, tmp_path):
    result = CliRunner().invoke(toy_cli.main, [
        "report", "-q", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
        "--encoder", str(encoder_dir), "--device", "cpu", "--text", "fine", "--method", "toy",
        "--toy-scale", "0", "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1, result.output
    assert "--toy-scale must be above 0 (got 0.0)" in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_the_toy_option_without_the_toy_method_is_refused_by_its_declaration(toy_cli, checkpoints, encoder_dir,
                                                                              tmp_path):
    """The part names its method (`part(ToyOptions, "toy")`), and that alone makes --toy-scale beside other methods
    one line before anything loads, as for the package's own methods' options."""
    result = CliRunner().invoke(toy_cli.main, [
        "report", "-q", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
        "--encoder", str(encoder_dir), "--device", "cpu", "--text", "fine", "--method", "gradient",
        "--toy-scale", "2", "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and result.output == "Error: --toy-scale applies to --method toy, not chosen here\n"
