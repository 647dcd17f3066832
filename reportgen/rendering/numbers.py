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
