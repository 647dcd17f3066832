"""Numbers as the pages print them: a true minus sign (U+2212), a power of ten only where plain digits
would not do, and no minus on a number that shows as zero — never Python's "-2.7e-07", "1e+02" or "-0.000"."""

from __future__ import annotations

import math

SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
PLAIN_POWER = 6
"""A number below 10⁶ that has no digits after the point at the shown precision prints plainly ("+100",
"+12000"); from 10⁶ up, and below 10⁻⁴ (as Python's "g" does), with a power of ten."""


def minus(text: str) -> str:
    """A formatted number (or a few, as in "[-0.5, 0.2]") with its hyphens turned into minus signs."""
    return text.replace("-", "−")


def figure(value: float, digits: int = 3, signed: bool = False) -> str:
    """`value` to `digits` significant digits, in print: "0.0124", "−2.7 × 10⁻⁴", "100" (not "1 × 10²"),
    "0" for zero of either sign; `signed`: with its sign, "+0.0124", "+0"."""
    sign = "+" if signed else ""
    text = f"{value + 0.0:{sign}.{digits}g}"  # + 0.0 turns −0.0 into 0.0
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = int(exponent)
        if 0 <= power < PLAIN_POWER:  # a whole number at this precision: its digits, rounded as shown
            text = f"{float(text):{sign}.0f}"
        else:
            text = f"{mantissa} × 10{str(power).translate(SUPERSCRIPTS)}"
    return minus(text)


def signed_figure(value: float, digits: int = 3) -> str:
    """`value` with a sign and `digits` significant digits (`figure`): "+0.0124", "−2.7 × 10⁻⁴", "+100"."""
    return figure(value, digits, signed=True)


def fixed(value: float, places: int, signed: bool = False) -> str:
    """`value` to `places` decimals with a true minus ("0.125", "−0.40"; `signed`: "+0.125"). A value
    that rounds to zero at this precision prints as zero without a minus: "0.000" (`signed`: "+0.000"),
    never "−0.000", a sign the reader cannot check against any digit."""
    sign = "+" if signed else ""
    text = f"{value:{sign}.{places}f}"
    if float(text) == 0:
        text = f"{0.0:{sign}.{places}f}"
    return minus(text)


def probability_beside(probability: float, threshold: float, digits: int = 2, most: int = 4) -> str:
    """A probability to `digits` decimals, or as many more (up to `most`) as keep it from printing as the
    `threshold` it is compared with: 0.4987 beside 0.5 is "0.499", not "0.50", which would read as the threshold."""
    text = f"{probability:.{digits}f}"
    for shown in range(digits + 1, most + 1):
        if probability == threshold or float(text) != threshold:
            break
        text = f"{probability:.{shown}f}"
    return text


def fmt(score: float) -> str:
    """Scores as short, exact-enough text: 4 significant digits, explicit sign, a true minus."""
    return signed_figure(score, 4)


def pct(share: float) -> str:
    """A share (0.125) as a percentage to one decimal, no space: "12.5%"."""
    return f"{100 * share:.1f}%"


def signed_pct(share: float) -> str:
    """A signed share of a model's Σ|attribution|: "−6.7 %", "+0.4 %" (and "+0.0 %", never "−0.0 %")."""
    return f"{fixed(100 * share, 1, signed=True)} %"


def pp(value: float) -> str:
    """A difference of shares, in percentage points, to 3 significant digits (changes can be small)."""
    return f"{signed_figure(100 * value)} pp"


def share(value: float) -> str:
    """A share (0.0124) as a percentage to 3 significant digits: "1.24 %"."""
    return f"{figure(100 * value)} %"


def relative(change: float, base: float) -> str:
    """The difference as a share of the base model's own mean share: +2.4 % means 1.024 × the base's.
    Only where both models' mean shares are above 0 ("—" otherwise): a signed share near 0 or changing
    sign makes the ratio meaningless (+0.8 pp on a base share of −0.09 % would read −933 %)."""
    return f"{fixed(100 * change / base, 1, signed=True)} %" if base > 0 and base + change > 0 else "—"


def interval(low: float, high: float, scale: float = 100) -> str:
    """An interval [low, high] times `scale` (shares → percentage points), signed figures: "[+0.12, +0.80]";
    "—" when either end is not a number."""
    if math.isnan(low) or math.isnan(high):
        return "—"
    return f"[{signed_figure(scale * low)}, {signed_figure(scale * high)}]"
