"""View pieces that the report (`rendering.view_model`) and the corpus page (`corpus.view`) share, so
both say and show them the same way: role titles, verdict marks, colour legends and shades, model
and version lines, integrated gradients' fixed steps."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.rendering.colors import LEVELS, Shade, css_class, shades
from reportgen.results import ModelInfo

ROLE_TITLES = {"base": "Base", "finetuned": "Fine-tuned"}


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role)


def mark(predicted: int, label: int | None) -> str:
    """✓ when the prediction is the label, ✗ when not, "" without a label."""
    if label is None:
        return ""
    return "✓" if predicted == label else "✗"


@dataclass
class LegendView:
    caption: str
    low: str
    high: str
    low_word: str  # "against", "less in fine-tuned", ""
    high_word: str
    swatches: list[str]


@dataclass
class PageView:
    """What `_base.html.j2` shows around any page: its title and lede, the models and header facts,
    the colour shades it uses, and the footer's generator."""

    title: str
    lede: str
    models: list[tuple[str, str]]  # (role title, description)
    header: list[tuple[str, str]]  # (fact, value)
    shades: list[Shade]
    generator: str


def legend(caption: str, kind: str, low: str, high: str, difference_words: tuple[str, str]) -> LegendView:
    """A colour scale's legend: unsigned from 0 to `high`; signed and difference from `low` to `high`,
    with "against"/"for" or `difference_words` at the ends."""
    if kind == "unsigned":
        return LegendView(caption, "0", high, "", "", [css_class(level, kind) for level in range(0, LEVELS + 1)])
    low_word, high_word = difference_words if kind == "difference" else ("against", "for")
    return LegendView(caption, low, high, low_word, high_word,
                      [css_class(level, kind) for level in range(-LEVELS, LEVELS + 1)])


def all_shades() -> list[Shade]:
    """Every shade a page may use: signed, unsigned (white shared with signed) and difference."""
    return shades("signed") + shades("unsigned")[1:] + shades("difference")


def describe_model(info: ModelInfo) -> str:
    """A model as the header names it: file name, SHA-256, format."""
    parts = [info.name]
    if info.sha256:
        parts.append(f"sha256 {info.sha256}")
    if info.format == "checkpoint":
        parts.append(f"state dict on encoder {info.encoder}, pooling {info.pooling}")
    else:
        parts.append("Hugging Face model")
    if info.note:
        parts.append(info.note)
    return " · ".join(parts)


def versions_line(versions: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in versions.items())


def generator(versions: dict[str, str]) -> str:
    """The footer's "reportgen 0.2.0"."""
    return f"reportgen {versions.get('reportgen', '')}"


def fixed_steps(steps: int | str, quadrature: str | None) -> str:
    """Integrated gradients' fixed path: "16 steps (gauss-legendre)"."""
    return f"{steps} steps ({quadrature})"
