"""explain_options: what a report computes, declared once (torch-free) and checked once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reportgen.attribution.options import MethodOptions
from reportgen.errors import OptionError
from reportgen.explain_options import ExplainOptions
from reportgen.option_spec import declared

ROOT = Path(__file__).resolve().parent.parent


def test_the_declared_options_are_the_methods_and_the_report_switches_in_field_order():
    assert [d.keyword for d in declared(ExplainOptions)] == [*MethodOptions.keywords(), "target", "faithfulness",
                                                             "flip_test", "naopc", "include_paths"]


@pytest.mark.parametrize("options, keyword, flag", [
    (ExplainOptions(methods=("gradient", "anchors")), "method=: unknown method 'anchors'", "--method: unknown method"),
    (ExplainOptions(method_options=MethodOptions.from_keywords(steps=0)), "steps= must be at least 1",
     "--steps must be at least 1"),
])
def test_its_check_names_the_option_as_the_caller_gave_it(options, keyword, flag):
    with pytest.raises(OptionError) as caught:
        options.check()
    assert str(caught.value).startswith(keyword) and caught.value.for_cli().startswith(flag)


def test_it_imports_no_torch():
    """The command line builds and checks it before torch loads."""
    code = "import sys, reportgen.explain_options, reportgen.corpus.options; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "False"
