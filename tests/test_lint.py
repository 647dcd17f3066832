"""ruff (pyflakes, pycodestyle, import sorting, pyupgrade, bugbear; settings in pyproject.toml) over the
code, as part of the test run: `make test` fails on a lint error like on any other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "reportgen", "tests", "benchmarks",
                             "scripts"], cwd=ROOT, capture_output=True, text=True)
    assert "No module named ruff" not in result.stderr, "ruff is missing: pip install -e '.[test]'"
    assert result.returncode == 0, result.stdout + result.stderr
