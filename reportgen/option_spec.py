"""Each option written once: its keyword, default and help are declared on the field of the options dataclass
that holds it (`option(...)`, a field's metadata), and its check is that dataclass's `check()`.

From these declarations the command line's Click options are made (`cli_options.declared_options`: the flag is
the keyword with dashes, `steps` → `--steps`) and `reportgen.explain`'s keywords are mapped onto the dataclasses
(`from_keywords`), so neither writes a second list. A dataclass field whose default is another options dataclass
(`field(default_factory=PathSteps)`) contributes that dataclass's options too: `attribution.options.MethodOptions`
is composed that way, one field per method that takes options.

Nothing here judges a value's range or choice: a mistake is found by `check()`, which names the option by its keyword
(`errors.OptionError`), so the message reads `steps=` from the API and `--steps` from the command line. Only a value
of the wrong kind for its declared `type` (`tolerance="abc"` where a number is declared) is refused here, as Click
refuses `--tolerance abc`, so that no `check()` compares a string with a number.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Collection, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from typing import Any

from reportgen.errors import OptionError

OPTION = "reportgen.option"
"""The key of a field's metadata that holds its `OptionSpec`."""
GIVEN = "given"
"""An options dataclass may have a field of this name (a `frozenset[str]`, not an option, `compare=False`):
`from_keywords` fills it with the keywords of the options in it (and in its parts) that the caller chose — every
keyword from the API, the flags typed on the command line (`cli_options.declared_group` asks Click where each value
came from) — so that its `check()` can tell an option given at its default from one left alone
(`attribution.options.MethodOptions`: an option of a method not chosen)."""


@dataclass(frozen=True)
class OptionSpec:
    """How one option is offered: `keyword` (the `reportgen.explain` keyword; the CLI flag is `--` + it with
    dashes; None: the field's own name), `help` (the CLI's --help text), `metavar`, `choices` (shown by --help as
    `[a|b|c]`; `check()` judges the value), `type` (what Click turns the command line's text into: int, float,
    bool for an on/off flag) and `from_text` (a command-line text turned into the value `check()` judges, e.g.
    "7" → 7 for --steps, anything else left as written)."""

    help: str
    keyword: str | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    type: type | None = None
    from_text: Callable[[str], Any] | None = None
    show_default: bool = True


def option(default: Any, help: str, **spec: Any) -> Any:
    """A dataclass field that is an option: its default (MISSING: the option must be given), and how it is offered
    (`OptionSpec`'s fields)."""
    metadata = {OPTION: OptionSpec(help, **spec)}
    return field(metadata=metadata) if default is MISSING else field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Declared:
    """One option as declared: its keyword, where it sits (field names from the outer dataclass down), its default
    and its `OptionSpec`."""

    keyword: str
    path: tuple[str, ...]
    default: Any
    spec: OptionSpec


def _part_type(part: Field) -> type | None:
    """The options dataclass a field holds, if its default is one (`field(default_factory=PathSteps)`)."""
    factory = part.default_factory
    return factory if factory is not MISSING and isinstance(factory, type) and is_dataclass(factory) else None


def declared(cls: type) -> list[Declared]:
    """Every option declared on the dataclass `cls` and on the options dataclasses its fields hold, in field
    order. Two options of one keyword: ValueError (a mistake in the declarations, not in the input)."""
    found: list[Declared] = []

    def walk(kind: type, path: tuple[str, ...]) -> None:
        for part in fields(kind):
            spec = part.metadata.get(OPTION)
            if spec is not None:
                found.append(Declared(spec.keyword or part.name, (*path, part.name), part.default, spec))
            elif (inner := _part_type(part)) is not None:
                walk(inner, (*path, part.name))

    walk(cls, ())
    keywords = [d.keyword for d in found]
    repeated = sorted({k for k in keywords if keywords.count(k) > 1})
    if repeated:
        raise ValueError(f"{cls.__name__} declares the option(s) {', '.join(repeated)} more than once")
    return found


def keywords(cls: type) -> dict[str, Any]:
    """Each declared option's keyword and default, in field order (what `reportgen.explain` takes for `cls`)."""
    return {d.keyword: d.default for d in declared(cls)}


def from_keywords(cls: type, given: Mapping[str, Any], *, text: bool = False,
                  explicit: Collection[str] | None = None) -> Any:
    """`cls` built from options given by keyword (the others keep their defaults); `text`: the values are the
    command line's, each passed through its `from_text` first; `explicit`: the keywords of `given` the caller
    chose (None: all of them; the command line passes every option, typed or not), recorded in each dataclass's
    `GIVEN` field where it has one. A keyword `cls` does not declare: TypeError, as for any unexpected keyword
    argument."""
    by_keyword = {d.keyword: d for d in declared(cls)}
    unknown = sorted(set(given) - set(by_keyword))
    if unknown:
        raise TypeError(f"{cls.__name__} takes no option {', '.join(repr(k) for k in unknown)}; it takes "
                        + ", ".join(by_keyword))
    values: dict[tuple[str, ...], Any] = {}
    for keyword, value in given.items():
        spec = by_keyword[keyword].spec
        if text and spec.from_text is not None and isinstance(value, str):
            value = spec.from_text(value)
        check_type(by_keyword[keyword], value)
        values[by_keyword[keyword].path] = value
    chosen = {by_keyword[k].path: k for k in (given if explicit is None else explicit) if k in by_keyword}
    return _build(cls, (), values, chosen)


KINDS: dict[type, tuple[str, Callable[[Any], bool]]] = {
    bool: ("True or False", lambda value: isinstance(value, bool)),
    int: ("a whole number", lambda value: isinstance(value, numbers.Integral) and not isinstance(value, bool)),
    float: ("a number", lambda value: isinstance(value, numbers.Real) and not isinstance(value, bool)),
}
"""A declared `type` as a message names it, and whether a value is of it (an int is a number; a bool is not)."""


def check_type(option: Declared, value: Any) -> None:
    """A value not of its option's declared `type` (int, float, bool): OptionError naming the option and the type and
    showing the value with repr (`tolerance= must be a number (got 'abc')`). None passes where it is the default."""
    kind = KINDS.get(option.spec.type) if option.spec.type is not None else None
    if kind is None or (value is None and option.default is None):
        return
    name, fits = kind
    if not fits(value):
        raise OptionError(f"{{{option.keyword}}} must be {name} (got {value!r})", option.keyword)


def _build(kind: type, path: tuple[str, ...], values: dict[tuple[str, ...], Any],
           chosen: dict[tuple[str, ...], str]) -> Any:
    """`kind` at `path` from the `values` under it; `chosen`: the keywords the caller chose, by path (`GIVEN`)."""
    arguments: dict[str, Any] = {}
    for part in fields(kind):
        where = (*path, part.name)
        if where in values:
            arguments[part.name] = values[where]
        elif part.name == GIVEN and part.metadata.get(OPTION) is None:
            arguments[part.name] = frozenset(k for p, k in chosen.items() if p[:len(path)] == path)
        elif (inner := _part_type(part)) is not None and any(p[:len(where)] == where for p in values):
            arguments[part.name] = _build(inner, where, values, chosen)
    return kind(**arguments)


def with_keywords(function: Callable, *classes: type) -> inspect.Signature:
    """`function`'s signature with its `**keywords` replaced by the options `classes` declare (but those it names
    itself), each keyword-only with its default: what `help()` and `inspect.signature` show for a function that
    takes them through `**keywords` (`reportgen.explain`)."""
    signature = inspect.signature(function)
    kept = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    added = [inspect.Parameter(d.keyword, inspect.Parameter.KEYWORD_ONLY, default=d.default)
             for cls in classes for d in declared(cls) if d.keyword not in signature.parameters]
    return signature.replace(parameters=kept + added)
