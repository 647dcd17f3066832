"""Numbers as the pages print them: a true minus sign (U+2212) and a power of ten, never Python's
"-2.7e-07"."""

from __future__ import annotations

SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def minus(text: str) -> str:
    """A formatted number (or a few, as in "[-0.5, 0.2]") with its hyphens turned into minus signs."""
    return text.replace("-", "−")


def signed_figure(value: float, digits: int = 3) -> str:
    """`value` with a sign and `digits` significant digits, in print: "+0.0124", "−2.7 × 10⁻⁴"."""
    text = f"{value:+.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPTS)}"
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
