"""Render the report with Jinja2 from the templates shipped with the package."""

from __future__ import annotations

from pathlib import Path

import jinja2

from reportgen.choices import GRANULARITIES, SCALES
from reportgen.errors import ReportgenError
from reportgen.rendering.characters import displayable
from reportgen.rendering.views.report import build_view
from reportgen.results import Report

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def templates_dir() -> Path:
    """Inside an installed wheel the templates sit in the package; in a checkout, beside it."""
    for candidate in (PACKAGE_DIR / "templates", PACKAGE_DIR.parent / "templates"):
        if (candidate / "report.html.j2").is_file():
            return candidate
    raise ReportgenError(f"reportgen's templates are missing (looked in {PACKAGE_DIR / 'templates'}); "
                         "reinstall reportgen")


def _shown(value: object) -> object:
    """Every string a template prints (the report's and the corpus's), as a browser can display it."""
    return type(value)(displayable(value)) if isinstance(value, str) else value


def environment() -> jinja2.Environment:
    # Autoescape everything: review text such as <script> or {{ 7*7 }} must show as text.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              finalize=_shown)


def render_html(report: Report, scale: str = "share", granularity: str = "word") -> str:
    if scale not in SCALES:
        raise ReportgenError(f"unknown scale '{scale}'; choose one of {', '.join(SCALES)}")
    if granularity not in GRANULARITIES:
        raise ReportgenError(f"unknown granularity '{granularity}'; choose one of {', '.join(GRANULARITIES)}")
    return environment().get_template("report.html.j2").render(view=build_view(report, scale, granularity))
