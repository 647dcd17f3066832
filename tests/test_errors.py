"""reportgen.errors: an option's mistake names it as each face takes it (`steps=` in Python, `--steps` on the CLI)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import reportgen
from reportgen.cli import main
from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.models import check_max_length


def test_an_option_error_names_keywords_in_python_and_flags_on_the_command_line():
    error = OptionError("{max_steps} must be at least 5 with {steps} auto (got {2})", "max_steps", "steps")
    assert isinstance(error, ReportgenError)
    assert str(error) == "max_steps= must be at least 5 with steps= auto (got {2})"
    assert error.for_cli() == "--max-steps must be at least 5 with --steps auto (got {2})"


@pytest.mark.parametrize("keywords, message", [
    ({"steps": 0}, "steps= must be at least 1, or auto (got 0)"),
    ({"max_steps": 4}, "max_steps= must be at least 5, the first nodes of steps= auto"),
    ({"method": "gradient,anchors"}, "method=: unknown method 'anchors'"),
    ({"method": "gradient,gradient"}, "method= lists a method twice"),
    ({"scale": "sideways"}, "scale=: unknown scale 'sideways'"),
])
def test_explain_names_its_keywords_not_the_cli_flags(keywords, message, tmp_path):
    """Refused before any model loads, so the models need not exist."""
    with pytest.raises(ReportgenError) as caught:
        reportgen.explain(tmp_path / "base.pth", tmp_path / "finetuned.pth", texts=["fine"], **keywords)
    assert message in str(caught.value) and "--" not in str(caught.value)


def test_model_and_length_mistakes_name_the_keyword_from_the_api_and_the_flag_from_the_cli(tmp_path):
    """Loading names what to fix as the caller gave it: `base=`, `max_length=` from `reportgen.explain`,
    `--base`, `--max-length` on the command line."""
    missing = str(tmp_path / "nowhere" / "base.pth")
    with pytest.raises(ReportgenError) as caught:
        reportgen.explain(missing, missing, texts=["a text"], device="cpu", quiet=True)
    assert "base=" in str(caught.value) and "--" not in str(caught.value)
    result = CliRunner().invoke(main, ["report", "--base", missing, "--finetuned", missing, "--text", "a text",
                                       "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and "--base" in result.output and "base=" not in result.output
    assert check_max_length_message(lambda: check_max_length({}, 1)) == (
        "max_length= must be at least 2 (got 1)", "--max-length must be at least 2 (got 1)")


def check_max_length_message(call) -> tuple[str, str]:
    """The message a check raises, as the API shows it and as the command line prints it."""
    with pytest.raises(ReportgenError) as caught:
        call()
    return str(caught.value), caught.value.for_cli()
