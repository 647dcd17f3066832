"""option_spec: each option declared once on its dataclass's field, and what is made from the declarations."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import pytest

from reportgen.attribution.options import MethodOptions
from reportgen.attribution.path_steps import PathSteps
from reportgen.attribution.shapley_options import ShapleyOptions
from reportgen.attribution.surrogate_options import SurrogateOptions
from reportgen.errors import OptionError
from reportgen.option_spec import declared, from_keywords, keywords, option, with_keywords


@dataclass
class Inner:
    count: int = option(3, keyword="inner_count", type=int, from_text=int, help="How many.")
    plain: str = "not an option"


@dataclass
class Outer:
    name: str = option("x", help="A name.")
    inner: Inner = field(default_factory=Inner)


def test_declared_walks_the_parts_in_field_order_and_skips_plain_fields():
    found = declared(Outer)
    assert [(d.keyword, d.path, d.default) for d in found] == [("name", ("name",), "x"),
                                                             ("inner_count", ("inner", "count"), 3)]
    assert keywords(Outer) == {"name": "x", "inner_count": 3}


def test_from_keywords_builds_the_parts_and_keeps_the_other_defaults():
    built = from_keywords(Outer, {"inner_count": 7})
    assert built == Outer(name="x", inner=Inner(count=7))
    assert from_keywords(Outer, {"inner_count": "9"}, text=True).inner.count == 9  # the command line's text



def test_an_unknown_keyword_is_a_type_error_naming_it_and_the_known_ones():
    with pytest.raises(TypeError, match=r"Outer takes no option 'nme'; it takes name, inner_count"):
        from_keywords(Outer, {"nme": "y"})


def test_a_keyword_declared_twice_is_a_mistake_in_the_declarations():
    @dataclass
    class Twice:
        a: Inner = field(default_factory=Inner)
        b: Inner = field(default_factory=Inner)

    with pytest.raises(ValueError, match="inner_count"):
        declared(Twice)


def test_the_methods_options_are_their_parts_declarations():
    """MethodOptions' keywords come from PathSteps, ShapleyOptions and SurrogateOptions alone: no list is written
    twice."""
    assert list(MethodOptions.keywords()) == [*keywords(PathSteps), *keywords(ShapleyOptions),
                                              *keywords(SurrogateOptions)]
    assert MethodOptions.keywords() == {"steps": "auto", "tolerance": PathSteps().tolerance,
                                        "max_steps": PathSteps().max_steps, "quadrature": None,
                                        "shapley_samples": ShapleyOptions().samples,
                                        "surrogate_samples": SurrogateOptions().samples}
    assert MethodOptions.from_keywords(steps=6, shapley_samples=2, surrogate_samples=40) == MethodOptions(
        PathSteps(steps=6), ShapleyOptions(samples=2), SurrogateOptions(samples=40))


def test_with_keywords_shows_the_declared_options_in_a_signature():
    def function(a: int, *, b: int = 1, **options: object) -> None:
        """Takes Outer's options."""

    signature = with_keywords(function, Outer)
    assert list(signature.parameters) == ["a", "b", "name", "inner_count"]
    assert signature.parameters["inner_count"].default == 3
    assert signature.parameters["name"].kind is inspect.Parameter.KEYWORD_ONLY


@dataclass
class Typed:
    count: int = option(3, type=int, help="How many.")
    share: float = option(0.5, type=float, help="How much.")
    on: bool = option(True, type=bool, help="Whether.")
    maybe: int | None = option(None, type=int, help="How many, if any.")
    free: str = option("x", help="Any text.")


@pytest.mark.parametrize("given, message", [
    ({"share": "abc"}, "share= must be a number (got 'abc')"),
    ({"count": "3"}, "count= must be a whole number (got '3')"),
    ({"count": 2.0}, "count= must be a whole number (got 2.0)"),
    ({"count": True}, "count= must be a whole number (got True)"),  # a bool is not a count
    ({"share": False}, "share= must be a number (got False)"),
    ({"on": "no"}, "on= must be True or False (got 'no')"),
    ({"on": 0}, "on= must be True or False (got 0)"),
    ({"count": None}, "count= must be a whole number (got None)"),
])
def test_a_keyword_of_the_wrong_type_names_it_the_type_and_the_value(given, message):
    with pytest.raises(OptionError) as caught:
        from_keywords(Typed, given)
    assert str(caught.value) == message
    flag = "--" + next(iter(given)).replace("_", "-")
    assert caught.value.for_cli() == message.replace(next(iter(given)) + "=", flag)


def test_a_keyword_of_its_declared_type_passes_an_int_is_a_number_and_a_default_none_stays_allowed():
    built = from_keywords(Typed, {"count": 4, "share": 1, "on": False, "maybe": None, "free": 7})
    assert (built.count, built.share, built.on, built.maybe, built.free) == (4, 1, False, None, 7)


@pytest.mark.parametrize("keywords, message", [
    ({"tolerance": "abc"}, "tolerance= must be a number (got 'abc')"),
    ({"shapley_samples": "3"}, "shapley_samples= must be a whole number (got '3')"),
    ({"faithfulness": "no"}, "faithfulness= must be True or False (got 'no')"),
    ({"max_length": "128"}, "max_length= must be a whole number (got '128')"),
])
def test_explain_refuses_a_keyword_of_the_wrong_type_before_anything_loads(keywords, message, tmp_path):
    import reportgen

    with pytest.raises(OptionError) as caught:
        reportgen.explain(tmp_path / "missing-base.pth", tmp_path / "missing-ft.pth", texts=["fine"], **keywords)
    assert str(caught.value) == message
