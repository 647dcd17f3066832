"""cli_options: the command line's option groups, made from the options dataclasses' declarations; each mistake
judged once, by the dataclass's check(), and named as the command line spells it."""

from __future__ import annotations

from dataclasses import dataclass

import click
import pytest
from click.testing import CliRunner

from reportgen.attribution.options import MethodOptions
from reportgen.cli import main
from reportgen.cli_options import click_option, declared_group
from reportgen.corpus.options import CorpusOptions
from reportgen.errors import flag
from reportgen.explain_options import ExplainOptions
from reportgen.loading.model_options import ModelOptions
from reportgen.option_spec import declared, option
from reportgen.rendering.view_options import ViewOptions

GROUPS = {MethodOptions: ("report", "demo", "corpus"), ViewOptions: ("report", "render"),
          ModelOptions: ("report", "scan", "corpus"), ExplainOptions: ("report",), CorpusOptions: ("corpus",)}


@pytest.mark.parametrize("cls", GROUPS, ids=lambda cls: cls.__name__)
def test_every_declared_option_is_a_flag_of_every_command_of_its_group(cls):
    for name in GROUPS[cls]:
        params = {p.name: p for p in main.commands[name].params}
        for d in declared(cls):
            assert d.keyword in params, (name, d.keyword)
            assert flag(d.keyword) in params[d.keyword].opts[0]
            assert not isinstance(params[d.keyword].type, (click.Choice, click.IntRange))  # the check is check()'s


def test_a_group_hands_the_command_one_built_dataclass():
    seen = []

    @click.command()
    @declared_group(MethodOptions, "method_options")
    def command(method_options):
        seen.append(method_options)

    assert CliRunner().invoke(command, ["--steps", "12", "--shapley-samples", "4"]).exit_code == 0
    assert seen == [MethodOptions.from_keywords(steps=12, shapley_samples=4)]


@dataclass
class Switch:
    colour: bool = option(True, type=bool, help="Colour.")


def test_a_bool_option_on_by_default_is_an_on_off_pair():
    command = click.command()(click_option(declared(Switch)[0])(lambda colour: None))
    (param,) = command.params
    assert (param.opts, param.secondary_opts, param.default) == (["--colour"], ["--no-colour"], True)


def one_line(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--steps", "abc"], "Error: --steps must be at least 1, or auto (got abc)"),
    (["--steps", "0"], "Error: --steps must be at least 1, or auto (got 0)"),
    (["--quadrature", "simpson", "--steps", "8"],
     "Error: --quadrature: unknown quadrature 'simpson'; choose one of gauss-legendre"),
    (["--steps", "1", "--quadrature", "riemann-trapezoid"], "Error: the trapezoid rule needs --steps of at least 2"),
    (["--shapley-samples", "0"], "Error: --shapley-samples must be a whole number of at least 1 (got 0)"),
    (["--scale", "huge"], "Error: --scale: unknown scale 'huge'; choose one of share, shared, per-column"),
    (["--pooling", "max"], "Error: --pooling: unknown pooling 'max'; choose one of"),
    (["--batch-size", "0"], "Error: --batch-size must be 'auto' or a positive whole number (got '0')"),
])
def test_each_mistake_is_the_dataclass_check_naming_the_flag(args, message, checkpoints, tmp_path):
    line = one_line(["report", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
                     "--text", "fine", "-o", str(tmp_path / "r.html"), *args])
    assert line.startswith(message), line
    assert not (tmp_path / "r.html").exists()


def test_the_demo_takes_every_method_option_its_help_names():
    """--steps' help speaks of --quadrature: the demo takes it too, as report and corpus do."""
    assert "--quadrature" in CliRunner().invoke(main, ["demo", "--help"]).output
    assert "quadrature" in {p.name for p in main.commands["demo"].params}


def test_render_refuses_an_unknown_granularity_by_the_view_check(tmp_path):
    line = one_line(["render", str(tmp_path / "none.json"), "--granularity", "line"])
    assert line == "Error: --granularity: unknown granularity 'line'; choose one of word, wordpiece"


@pytest.mark.parametrize("method, message", [
    ("anchors", "Error: --method: unknown method 'anchors'; choose from integrated-gradients"),
    ("gradient,occlusion", "Error: --method: a corpus uses one method (got 'gradient,occlusion'); run once per"),
])
def test_a_corpus_method_is_judged_by_corpus_options_alone(method, message, checkpoints, tmp_path):
    line = one_line(["corpus", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
                     "--dataset", "any.csv", "--method", method, "-o", str(tmp_path / "c.html")])
    assert line.startswith(message), line
    assert not list(tmp_path.iterdir())
