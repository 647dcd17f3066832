"""Hand edits of a JSON document, every field in turn: the fuzzing that shows a reader refuses damage in
one line and draws every undamaged page (tests/test_validation.py, tests/test_corpus_document.py)."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator
from typing import Any

from reportgen.errors import ReportgenError

WRONG = (math.nan, math.inf, -math.inf, None, "x", True, -1, 1e300, [], {})
"""What each field is replaced with: a non-finite number, null, a string, a boolean, a negative and a
huge number, an empty list and an empty object."""
REMOVED = object()


def kind(value: Any) -> str:
    """A value's JSON kind (an int and a float are both numbers)."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "list", dict: "object"}[type(value)]


def fields(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every field below `node`: each key of an object, each entry of a list."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in list(children):
        yield path + (key,)
        yield from fields(child, path + (key,))


def kinds_of_field(document: Any, alike: Collection[str] = ()) -> list[tuple[Any, ...]]:
    """One path for each field of the document's schema and kind of value it holds: list entries count as
    one field (the first entry of each kind stands for the rest), and so do the entries of an object
    under keys in `alike` (e.g. the two models' roles, the methods' names: the same type under each)."""
    chosen: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for path in fields(document):
        node = document
        for key in path:
            node = node[key]
        shape = tuple("#" if isinstance(key, int) else "*" if key in alike else key for key in path)
        chosen.setdefault((shape, kind(node)), path)
    return list(chosen.values())


def damaged(document: Any, alike: Collection[str] = ()) -> Iterator[tuple[str, Any, Any]]:
    """Every field (`kinds_of_field`) replaced by every WRONG value of another value, and every object's
    field removed, one at a time: yields (the field's path, the original value, what replaced it or
    REMOVED) while `document` holds that one change, and puts the field back after. Whoever reads the
    document must not keep it."""
    for path in kinds_of_field(document, alike):
        *parents, last = path
        parent = document
        for key in parents:
            parent = parent[key]
        original = parent[last]
        name = ".".join(map(str, path))
        for value in WRONG:
            if kind(value) == kind(original) and value == original:
                continue
            parent[last] = value
            try:
                yield name, original, value
            finally:
                parent[last] = original
        if isinstance(parent, dict):
            after = list(parent)[list(parent).index(last) + 1:]
            del parent[last]
            try:
                yield name, original, REMOVED
            finally:
                parent[last] = original
                for key in after:  # the field back in its place: order can matter to a reader
                    parent[key] = parent.pop(key)


def assert_refused_in_one_line_or_drawn(document: Any, read: Callable[[Any], Any], draw: Callable[[Any], str],
                                        refusal: tuple[str, ...], alike: Collection[str] = ()) -> dict[str, int]:
    """Every damage of `document` is either refused by `read` with a one-line ReportgenError starting with
    one of `refusal`, or read and drawn into a whole page — never another exception. A non-finite number, or a value
    of another kind than the field's (but null, which optional fields take), is always refused.
    Returns how many edits were refused and drawn."""
    counts = {"refused": 0, "drawn": 0}
    for name, original, value in damaged(document, alike):
        edit = f"{name}: {original!r:.40} → {'removed' if value is REMOVED else repr(value)}"
        try:
            read_back = read(document)
        except ReportgenError as exc:
            message = str(exc)
            assert "\n" not in message and message.startswith(refusal), f"{edit}: {message}"
            counts["refused"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - what the test is for: no other exception
            raise AssertionError(f"{edit}: {type(exc).__name__}: {exc}") from exc
        must_refuse = value is not REMOVED and (  # (a field that held null may take another kind)
            (isinstance(value, float) and not math.isfinite(value))
            or kind(value) not in (kind(original), "null") and original is not None)
        assert not must_refuse, f"{edit}: accepted"
        try:
            page = draw(read_back)
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"{edit}: read, then {type(exc).__name__} drawing it: {exc}") from exc
        assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>"), edit
        counts["drawn"] += 1
    return counts
