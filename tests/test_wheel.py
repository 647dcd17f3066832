"""The built wheel works on its own: templates inside the package, a report rendered outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel
REPO = Path(__file__).resolve().parent.parent

RENDER = """
import json, sys
from pathlib import Path
import reportgen
from reportgen.rendering.html import render_html, templates_dir
from reportgen.results import (MethodResult, ModelAttribution, ModelInfo, Report, ReportMeta, SampleResult,
                               words_from_wordpieces)

info = [ModelInfo(role=r, name=r + ".pth", source=r + ".pth", format="checkpoint", sha256=None, encoder="e",
                  pooling="mean-all", num_classes=2, pads_to_max_length=True) for r in ("base", "finetuned")]
tokens = ["[CLS]", "great", "film", "[SEP]"]
scores = [0.0, 0.5, -0.25, 0.0]
sample = SampleResult(index=0, label=1, text="great film", tokens=tokens, truncated=False,
                      models={r: ModelAttribution([0.3, 0.7], 1, 1, {"gradient-x-input": MethodResult(scores, 0.0)})
                              for r in ("base", "finetuned")}, words=words_from_wordpieces(tokens))
meta = ReportMeta(methods=["gradient-x-input"], steps=None, quadrature=None, target="predicted", device="cpu",
                  max_length=8, class_names=["neg", "pos"], dataset=None, split=None, created="now",
                  versions={}, models=info)
Path(sys.argv[1]).write_text(render_html(Report(meta, [sample])), encoding="utf-8")
print(json.dumps({"package": reportgen.__file__, "templates": str(templates_dir())}))
"""


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`python -m build --wheel` (offline: hatchling from the test extra), then `pip install --target`."""
    folder = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(folder / "dist"), str(REPO)],
        cwd=folder)
    (wheel,) = (folder / "dist").glob("reportgen_saliency-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    # `reportgen` on the package index is an unrelated project: ours must never resolve to it.
    assert "\nName: reportgen-saliency\n" in metadata
    sources = {p.relative_to(REPO).as_posix() for p in (REPO / "reportgen").rglob("*.py")}
    assert sources <= names, f"modules missing from the wheel: {sorted(sources - names)}"
    assert {"reportgen/templates/report.html.j2", "reportgen/templates/report.css",
            "reportgen/templates/_charts.html.j2", "reportgen/templates/_charts.css"} <= names
    assert not any(name.startswith("tests/") for name in names)
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "reportgen = reportgen.cli:main" in entry_points
    target = folder / "site"
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(target),
         str(wheel)], cwd=folder)
    return target


def installed_env(target: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def test_installed_package_renders_with_its_own_templates(installed, tmp_path):
    out = tmp_path / "report.html"
    result = run([sys.executable, "-c", RENDER, str(out)], cwd=tmp_path, env=installed_env(installed))
    where = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(where["package"]).resolve().is_relative_to(installed.resolve())
    assert Path(where["templates"]).resolve() == (installed / "reportgen" / "templates").resolve()
    html = out.read_text(encoding="utf-8")
    assert html.count('data-score="') == 8 and "great" in html


def test_installed_command_writes_a_report(installed, checkpoints, encoder_dir, tmp_path):
    out = tmp_path / "cli.html"
    run([sys.executable, "-m", "reportgen", "report", "--base", str(checkpoints["base"]), "--finetuned",
         str(checkpoints["finetuned"]), "--encoder", str(encoder_dir), "--text", "a great film", "--method",
         "gradient", "--max-length", "16", "--device", "cpu", "-q", "-o", str(out)],
        cwd=tmp_path, env=installed_env(installed))
    assert 'data-score="' in out.read_text(encoding="utf-8")
