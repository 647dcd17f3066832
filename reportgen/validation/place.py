"""Where a value sits in a document, and the one-line refusal that names it.

A `Place` is a part of a document ("meta", "sample 2 (row 11)", "this corpus file") with the advice
that goes with its kind of file; its checks name the field by its path (`models.base.scores[3]`)
and say what the value is and what it must be, e.g. `sample 2 (row 11): models.base.predicted is 7;
it must be from 0 to 1 (2 classes in meta.class_names); correct it or …`.
"""

from __future__ import annotations

import math
from typing import Any

from reportgen.errors import ReportgenError

ROUNDING = 2.0 ** -23
"""The relative rounding a stored number may carry: float32's machine epsilon, which also covers
numbers written with 8 significant digits (at most 5e-8 relative). Facts that tie stored numbers
together (probabilities that sum to 1, a mean of the values beside it) hold within a few of these,
scaled by the magnitudes involved."""


def shown(value: Any) -> str:
    """A value as a message names it, in JSON's words: NaN, +inf, null, true, a short string in quotes
    that says it is a string ('5' is text, not the number 5)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+inf" if value > 0 else "-inf")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 20 else value[:20] + "…") + " (a string)"
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    return repr(value)


def field_path(parent: str, key: str | int) -> str:
    """`parent.key`, `parent[3]` for a list position, or `key` alone at the top of a place."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


class Place:
    """A part of a document (its name starts every message) and the advice for its kind of file."""

    def __init__(self, where: str, advice: str = "correct it or write the report again with "
                                                "`reportgen report --json`") -> None:
        self.where = where
        self.advice = advice

    def within(self, where: str) -> Place:
        """Another part of the same document, with the same advice."""
        return Place(where, self.advice)

    def fail(self, field: str, problem: str) -> ReportgenError:
        return ReportgenError(f"{self.where}: {field} {problem}; {self.advice}")

    def get(self, mapping: dict[str, Any], key: str, field: str) -> Any:
        if not isinstance(mapping, dict):
            raise self.fail(field.rpartition(".")[0] or field, "is not an object")
        if key not in mapping:
            raise self.fail(field, "is missing")
        return mapping[key]

    def mapping(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"is {shown(value)}, not an object")
        return value

    def number(self, value: Any, field: str, optional: bool = False, low: float = -math.inf,
               high: float = math.inf, slack: float = 0.0) -> None:
        """A finite number in [low, high], or in [low − slack, high + slack] (stored rounding)."""
        if optional and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(field, f"is {shown(value)}, not a number")
        if not math.isfinite(value):
            raise self.fail(field, f"is {shown(value)}; every number must be finite")
        if not low - slack <= value <= high + slack:
            raise self.fail(field, f"is {value}, outside [{low:g}, {high:g}]")

    def integer(self, value: Any, field: str, stop: int | None = None, optional: bool = False,
                what: str = "", least: int = 0) -> None:
        """A whole number ≥ least (0 unless given) and < stop when given."""
        if optional and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"is {shown(value)}, not a whole number")
        if value < least or (stop is not None and value >= stop):
            allowed = f"from {least} to {stop - 1}" if stop is not None else f"{least} or more"
            raise self.fail(field, f"is {value}; it must be {allowed}{what}")

    def items(self, value: Any, field: str, length: int | None = None, what: str = "") -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(field, f"is {shown(value)}, not a list")
        if length is not None and len(value) != length:
            raise self.fail(field, f"has {len(value)} entries but {what} has {length}")
        return value

    def numbers(self, value: Any, field: str, length: int | None = None, what: str = "", low: float = -math.inf,
                high: float = math.inf, slack: float = 0.0) -> None:
        for position, item in enumerate(self.items(value, field, length, what)):
            self.number(item, f"{field}[{position}]", low=low, high=high, slack=slack)

    def one_of(self, value: Any, field: str, allowed: tuple[Any, ...], what: str = "") -> None:
        if not any(type(value) is type(a) and value == a for a in allowed):
            choices = ", ".join(shown(a).removesuffix(" (a string)") for a in allowed)
            raise self.fail(field, f"is {shown(value)}; it must be one of {choices}{what}")
