"""reportgen.errors: an option's mistake names it as each face takes it (`steps=` in Python, `--steps` on the CLI)."""

from __future__ import annotations

import pytest

import reportgen
from reportgen.errors import OptionError, ReportgenError


def test_an_option_error_names_keywords_in_python_and_flags_on_the_command_line():
    error = OptionError("{max_steps} must be at least 5 with {steps} auto (got {2})", "max_steps", "steps")
    assert isinstance(error, ReportgenError)
    assert str(error) == "max_steps= must be at least 5 with steps= auto (got {2})"
    assert error.for_cli() == "--max-steps must be at least 5 with --steps auto (got {2})"


@pytest.mark.parametrize("keywords, message", [
    ({"steps": 0}, "steps= must be at least 1, or auto (got 0)"),
    ({"max_steps": 4}, "max_steps= must be at least 5, the first nodes of steps= auto"),
    ({"method": "gradient,lime"}, "method=: unknown method 'lime'"),
    ({"method": "gradient,gradient"}, "method= lists a method twice"),
    ({"scale": "sideways"}, "scale=: unknown scale 'sideways'"),
])
def test_explain_names_its_keywords_not_the_cli_flags(keywords, message, tmp_path):
    """Refused before any model loads, so the models need not exist."""
    with pytest.raises(ReportgenError) as caught:
        reportgen.explain(tmp_path / "base.pth", tmp_path / "finetuned.pth", texts=["fine"], **keywords)
    assert message in str(caught.value) and "--" not in str(caught.value)
