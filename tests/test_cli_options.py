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
    (["--shapley-samples", "0", "--method", "shapley-sampling"],
     "Error: --shapley-samples must be a whole number of at least 1 (got 0)"),
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


def models(checkpoints) -> list[str]:
    return ["--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"])]


@pytest.mark.parametrize("command, args, message", [
    ("report", ["--method", "gradient", "--surrogate-samples", "500"],  # its default, but given
     "Error: --surrogate-samples applies to --method lime or kernel-shap, not chosen here"),
    ("report", ["--method", "occlusion", "--steps", "8", "--tolerance", "0.02"],
     "Error: --steps and --tolerance apply to --method integrated-gradients, not chosen here"),
    ("report", ["--shapley-samples", "3"],  # the default methods: integrated gradients and attention
     "Error: --shapley-samples applies to --method shapley-sampling, not chosen here"),
    ("report", ["--method", "lime", "--quadrature", "gauss-legendre"],
     "Error: --quadrature applies to --method integrated-gradients, not chosen here"),
    ("demo", ["--surrogate-samples", "100"], "Error: --surrogate-samples applies to --method lime or kernel-shap"),
    ("demo", ["--method", "occlusion", "--max-steps", "65"],
     "Error: --max-steps applies to --method integrated-gradients, not chosen here"),
    ("corpus", ["--steps", "16"],  # the corpus's default method, the gradient norm
     "Error: --steps applies to --method integrated-gradients, not chosen here"),
    ("corpus", ["--method", "kernel-shap", "--shapley-samples", "4"],
     "Error: --shapley-samples applies to --method shapley-sampling, not chosen here"),
])
def test_a_method_option_given_for_no_chosen_method_is_refused_before_any_model_loads(command, args, message,
                                                                                     checkpoints, tmp_path,
                                                                                     monkeypatch):
    """An option of a method not chosen would be silently ignored: it is one line naming the option and the methods
    it applies to, from the one rule (`MethodOptions.check`, each part naming its methods), before anything loads."""
    monkeypatch.setattr("reportgen.loading.models.load_model", lambda *a, **k: pytest.fail("a model was loaded"))
    place = {"report": ["--text", "fine"], "demo": [], "corpus": ["--dataset", "any.csv"]}[command]
    line = one_line([command, *(models(checkpoints) if command != "demo" else []), *place, *args,
                     "-o", str(tmp_path / "r.html")])
    assert line.startswith(message), line
    assert not list(tmp_path.iterdir())


def test_a_method_option_for_a_chosen_method_passes_and_the_demo_takes_its_default_methods_options(monkeypatch,
                                                                                                   tmp_path):
    """The demo explains with integrated gradients by default, so --steps is its; --surrogate-samples with
    --method lime is lime's; and an option left at its default is never refused."""
    from reportgen.commands import demo as demo_command

    seen = []
    monkeypatch.setattr(demo_command, "run_demo", lambda settings, options, **rest: seen.append(options))
    for args in (["--steps", "8"], ["--method", "lime,gradient", "--surrogate-samples", "60"],
                 ["--method", "gradient"]):
        result = CliRunner().invoke(main, ["demo", *args, "-o", str(tmp_path / "d.html"), "-q"])
        assert result.exit_code == 0, result.output
    assert [options.method_options.given for options in seen] == [{"steps"}, {"surrogate_samples"}, set()]


def test_the_rule_is_the_same_from_python_and_counts_a_keyword_given_at_its_default():
    """`MethodOptions.check(methods)`: an option given (a keyword passed, or a value not its default) for none of
    the methods is an OptionError naming it as the API takes it; left alone, or for a method chosen, it passes."""
    from reportgen.attribution.surrogate_options import SurrogateOptions
    from reportgen.errors import OptionError

    for options in (MethodOptions.from_keywords(surrogate_samples=500), MethodOptions(surrogate=SurrogateOptions(40))):
        with pytest.raises(OptionError, match=r"^surrogate_samples= applies to method= lime or kernel-shap, not "):
            options.check(("gradient", "integrated-gradients"))
        options.check(("gradient", "kernel-shap"))
    MethodOptions().check(("gradient",))
    MethodOptions.from_keywords(steps="auto").check(("integrated-gradients",))
    with pytest.raises(OptionError, match="steps= applies to method= integrated-gradients"):
        ExplainOptions(methods=("occlusion",), method_options=MethodOptions.from_keywords(steps="auto")).check()
    with pytest.raises(OptionError, match="shapley_samples= applies to method= shapley-sampling"):
        CorpusOptions(method="lime", method_options=MethodOptions.from_keywords(shapley_samples=10)).check()


def test_the_convergence_rule_has_one_wording_in_help_and_on_the_page():
    """--help states integrated gradients' convergence rule in `choices.convergence_rule`'s words, the ones the
    report's header (and the corpus page's) use with the tolerance and cap filled in; --steps and --max-steps
    point to it."""
    from reportgen.choices import convergence_rule

    for command in ("report", "demo", "corpus"):
        text = "".join(CliRunner().invoke(main, [command, "--help"]).output.split())  # Click wraps at any space
        assert "".join(f"With --steps auto: {convergence_rule()}".split()) in text, command
        assert "untilithasconverged(see--tolerance)" in text and "hasnotconvergedbythen(see--tolerance)" in text
        assert "persample,atleast9(thefirstrefinement,fromwhichthescores'errorisestimated)" in text, command
