"""The colour scale: scores → a few discrete shades, each with readable text on top.

Discrete levels keep the file small (a CSS class per level instead of a style per token) and make
the legend exact: every shade in the text appears in the legend with the score range it stands for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LEVELS = 8  # shades per sign; level 0 is "about zero"
FOR_COLOR = (33, 102, 172)  # blue: evidence for the target class (ColorBrewer RdBu end)
AGAINST_COLOR = (178, 24, 43)  # red: evidence against it
UNSIGNED_COLOR = (84, 39, 143)  # purple: magnitude only (gradient norm)
PAPER = (255, 255, 255)
DARK_TEXT, LIGHT_TEXT = "#111111", "#ffffff"


def _mix(color: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(round(p + (c - p) * amount) for p, c in zip(PAPER, color))  # type: ignore[return-value]


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio between two colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True)
class Shade:
    css_class: str
    background: str
    text: str
    contrast: float


def _shade(name: str, rgb: tuple[int, int, int]) -> Shade:
    dark, light = (17, 17, 17), (255, 255, 255)
    on_dark, on_light = contrast_ratio(rgb, dark), contrast_ratio(rgb, light)
    text, contrast = (DARK_TEXT, on_dark) if on_dark >= on_light else (LIGHT_TEXT, on_light)
    return Shade(name, _hex(rgb), text, round(contrast, 2))


DIFF_MORE = (1, 102, 94)  # teal: fine-tuned gives the token more of the say (ColorBrewer BrBG end)
DIFF_LESS = (140, 81, 10)  # brown: fine-tuned gives it less
PALETTES = {
    # kind: (colour for positive levels, colour for negative levels or None, class prefix)
    "signed": (FOR_COLOR, AGAINST_COLOR, ""),
    "unsigned": (UNSIGNED_COLOR, None, "u"),
    "difference": (DIFF_MORE, DIFF_LESS, "d"),
}


def shades(kind: str | bool) -> list[Shade]:
    """All shades of one palette, most negative first; the CSS and the legend are both made from this list.

    Three palettes live in one report (signed and unsigned methods, and the difference view), so
    each has its own class prefix; `kind` may be a bool for signed/unsigned.
    """
    positive_rgb, negative_rgb, prefix = PALETTES[_kind(kind)]
    # Amounts grow a little faster than linear so that small scores stay visible, never full-strength.
    amounts = [0.1 + 0.9 * (level / LEVELS) for level in range(1, LEVELS + 1)]
    positive = [_shade(css_class(level, kind), _mix(positive_rgb, a)) for level, a in enumerate(amounts, start=1)]
    zero = [_shade("z", PAPER)]
    if negative_rgb is None:
        return zero + positive
    negative = [_shade(css_class(-level, kind), _mix(negative_rgb, a)) for level, a in enumerate(amounts, start=1)]
    return negative[::-1] + zero + positive


def _kind(kind: str | bool) -> str:
    if isinstance(kind, bool):
        return "signed" if kind else "unsigned"
    return kind


def level_of(score: float, scale_max: float) -> int:
    """Signed level in [-LEVELS, LEVELS]; |score| below half a level's width is 0."""
    if scale_max <= 0 or not math.isfinite(score):
        return 0
    level = round(min(abs(score) / scale_max, 1.0) * LEVELS)
    return int(math.copysign(level, score)) if level else 0


def css_class(level: int, kind: str | bool = "signed") -> str:
    """'z' for zero; 'p3'/'n3' (signed), 'u3' (unsigned), 'dp3'/'dn3' (difference)."""
    if level == 0:
        return "z"
    prefix = PALETTES[_kind(kind)][2]
    if _kind(kind) == "unsigned":
        return f"u{abs(level)}"
    return f"{prefix}p{level}" if level > 0 else f"{prefix}n{-level}"


def level_bounds(level: int, scale_max: float) -> tuple[float, float]:
    """The |score| range a level stands for, for the legend."""
    width = scale_max / LEVELS
    low = max(0.0, (abs(level) - 0.5) * width)
    high = min(scale_max, (abs(level) + 0.5) * width)
    return low, high
