"""Every field of a document checked against the type the program reads it as.

A reportgen JSON file is the `asdict` of dataclasses (a report) or close to it (a corpus file), so the
dataclasses themselves say what each field must be: `check_typed` walks a parsed document beside a
type hint — a dataclass or TypedDict (an object with exactly those fields; one with a default may be
left out), `list[X]`, `dict[str, X]`, `X | None`, `int`, `float`, `str`, `bool`, `Any` — and refuses
the first value of another type, a non-finite number, a missing field or one the type does not have,
in one line that names the field. Whatever the type cannot say (ranges, lengths, facts that tie
fields together) is left to the document's own checks, which may then rely on every type.

Each hint is turned into a checking function once (`_checker`), so a report of thousands of scores is
checked without looking at its types again for every number.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any

from reportgen.validation.place import Place, field_path, shown

Custom = Mapping[Any, Callable[[Place, Any, str], None]]
"""Dataclasses whose JSON differs from their fields (a derived value written beside them, a NaN written
as null): the check to run instead, given the place, the value and the field's path."""
_Check = Callable[[Place, Any, str, Custom, Collection[type]], None]

_NAMES = {int: "a whole number", float: "a number", str: "a string", bool: "true or false",
          type(None): "null", list: "a list", dict: "an object"}


def check_typed(place: Place, value: Any, hint: Any, field: str, custom: Custom | None = None,
                complete: Collection[type] = ()) -> None:
    """Refuse (ReportgenError naming `field` under `place`) the first part of `value` that is not of
    type `hint`: a wrong type, NaN or ±inf where a number belongs, a field missing or unknown. A field with
    a default may be left out (a file older than the field), except in the dataclasses in `complete`, whose
    every field was always written and would silently become its default (e.g. settings a page states)."""
    _checker(hint)(place, value, field, custom or {}, complete)


@functools.cache
def _checker(hint: Any) -> _Check:
    """The function that checks values of `hint` (see `check_typed`)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return lambda place, value, field, custom, complete: None
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(hint))
    fits, name = _fits(hint), _name(hint)

    def fail(place: Place, value: Any, field: str) -> None:
        raise place.fail(field, f"is {shown(value)}, not {name}")

    if hint is float:
        def check(place: Place, value: Any, field: str, custom: Custom, complete: Collection[type]) -> None:
            if not fits(value):
                fail(place, value, field)
            if not math.isfinite(value):
                raise place.fail(field, f"is {shown(value)}; every number must be finite")
    elif origin is list:
        check = _list(typing.get_args(hint)[0], fits, fail)
    elif origin is dict:
        entry = _checker(typing.get_args(hint)[1])

        def check(place: Place, value: Any, field: str, custom: Custom, complete: Collection[type]) -> None:
            if not fits(value):
                fail(place, value, field)
            for key, item in value.items():
                entry(place, item, field_path(field, key), custom, complete)
    elif _is_record(hint):
        check = _record(hint, fits, fail)
    else:
        def check(place: Place, value: Any, field: str, custom: Custom, complete: Collection[type]) -> None:
            if not fits(value):
                fail(place, value, field)
    return check


def _union(alternatives: tuple[Any, ...]) -> _Check:
    options = [(_fits(alternative), alternative) for alternative in alternatives]
    names = list(dict.fromkeys(_name(a) for a in alternatives))
    either = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]

    def check(place: Place, value: Any, field: str, custom: Custom, complete: Collection[type]) -> None:
        for fits, alternative in options:
            if fits(value):
                _checker(alternative)(place, value, field, custom, complete)
                return
        raise place.fail(field, f"is {shown(value)}, not {either}")
    return check


def _list(item: Any, fits: Callable[[Any], bool], fail: Callable[[Place, Any, str], None]) -> _Check:
    """A list's entries; lists of numbers or strings (per-token scores) without a call per entry."""
    entry = _checker(item)
    plain = {float: (int, float), int: (int,), str: (str,)}.get(item)

    def check(place: Place, value: Any, field: str, custom: Custom, complete: Collection[type]) -> None:
        if not fits(value):
            fail(place, value, field)
        for position, part in enumerate(value):
            if plain is None or type(part) not in plain or (item is float and not math.isfinite(part)):
                entry(place, part, field_path(field, position), custom, complete)
    return check


def _record(record: type, fits: Callable[[Any], bool], fail: Callable[[Place, Any, str], None]) -> _Check:
    """An object with the fields of a dataclass or TypedDict: none unknown, none missing that must be there."""
    hints = typing.get_type_hints(record)
    if typing.is_typeddict(record):
        names, required = list(hints), frozenset(record.__required_keys__)
    else:
        fields = dataclasses.fields(record)
        names = [f.name for f in fields]
        required = frozenset(f.name for f in fields
                             if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    checks = [(name, _checker(hints[name])) for name in names]

    def check(place: Place, value: Any, field: str, custom: Custom, complete: Collection[type]) -> None:
        handler = custom.get(record)
        if handler is not None:
            handler(place, value, field)
            return
        if not fits(value):
            fail(place, value, field)
        for key in value:
            if key not in hints:
                raise place.fail(field_path(field, key), "is not a field reportgen writes")
        for key, inner in checks:
            if key in value:
                inner(place, value[key], field_path(field, key), custom, complete)
            elif key in required or record in complete:
                raise place.fail(field_path(field, key), "is missing")
    return check


def _fits(hint: Any) -> Callable[[Any], bool]:
    """Whether a value has the outer shape of `hint` (what is inside is checked after). JSON's values are
    exactly these types, so `type(value) is …` (a boolean is not a number here)."""
    if hint is float:
        return lambda value: type(value) in (int, float)
    origin = typing.get_origin(hint) or hint
    if _is_record(hint):
        origin = dict
    if origin in (bool, int, str, list, dict):
        return lambda value: type(value) is origin
    if hint is type(None):
        return lambda value: value is None
    if hint is Any:
        return lambda value: True
    raise TypeError(f"check_typed cannot check the type {hint!r}")  # a new kind of field: teach it here


def _name(hint: Any) -> str:
    return _NAMES.get(typing.get_origin(hint) or hint, "an object")


def _is_record(hint: Any) -> bool:
    return isinstance(hint, type) and (dataclasses.is_dataclass(hint) or typing.is_typeddict(hint))
