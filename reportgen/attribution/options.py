"""Every method's options, composed: one field per method that takes any, each the method's own dataclass.

A run's options (`pipeline.ExplainOptions`, `corpus.run.CorpusOptions`) hold one `MethodOptions` as a field;
`Attributor.from_options(settings, options)` lets each method pick its own part of it. Each part declares its
options' keywords, defaults and help on its fields (`option_spec.option`): the CLI's flags on `report`, `demo`
and `corpus` (`cli_options.method_options`) and `reportgen.explain`'s keywords are made from them, so a new
part here is all it takes for its options to reach both. Torch-free, so the command line checks them first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import Field, dataclass, field, fields
from typing import Any

from reportgen import option_spec
from reportgen.attribution.path_steps import PathSteps
from reportgen.attribution.shapley_options import ShapleyOptions
from reportgen.attribution.surrogate_options import SurrogateOptions
from reportgen.errors import OptionError

TAKEN_BY = "reportgen.taken_by"
"""The key of a `MethodOptions` field's metadata that names the methods taking its options (`part`)."""


def part(kind: type, *methods: str) -> Any:
    """A field of `MethodOptions`: the options dataclass `kind` (its default: `kind()`), whose options the
    `methods` take (and no other). This is the one place that says which method an option applies to: an option of
    the part given while none of its methods is chosen is refused (`MethodOptions.check`), before any model loads."""
    return field(default_factory=kind, metadata={TAKEN_BY: methods})


@dataclass
class MethodOptions:
    """The options of every method that takes any; each part has a `check()` and names its methods (`part`)."""

    path: PathSteps = part(PathSteps, "integrated-gradients")
    shapley: ShapleyOptions = part(ShapleyOptions, "shapley-sampling")
    surrogate: SurrogateOptions = part(SurrogateOptions, "lime", "kernel-shap")
    # The keywords the caller chose (`option_spec.GIVEN`: from the API or typed on the command line), so that one
    # given at its default is told from one left alone; not an option, not compared.
    given: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @classmethod
    def keywords(cls) -> dict[str, Any]:
        """Every part's options by keyword (steps, tolerance, …, shapley_samples), with their defaults."""
        return option_spec.keywords(cls)

    @classmethod
    def from_keywords(cls, given: Mapping[str, Any] | None = None, /, **keywords: Any) -> MethodOptions:
        """The options from `reportgen.explain` keywords of the parts' declared names (steps=, shapley_samples=,
        …; the CLI flags are the same names with dashes); the rest keep their defaults. An unknown keyword:
        TypeError."""
        return option_spec.from_keywords(cls, {**(given or {}), **keywords})

    @classmethod
    def parts(cls) -> list[Field]:
        """The fields that hold a method's options (`part`); ValueError for one declared without its methods."""
        found = [f for f in fields(cls) if f.name != option_spec.GIVEN]
        for part_field in found:
            if not part_field.metadata.get(TAKEN_BY):
                raise ValueError(f"{cls.__name__}.{part_field.name} names no method; declare it with part(…)")
        return found

    def given_options(self) -> set[str]:
        """The keywords of the options given: those the caller chose (`given`), and any whose value is not its
        default (a dataclass built in Python says no more)."""
        found = set(self.given)
        for declared in option_spec.declared(type(self)):
            value: Any = self
            for name in declared.path:
                value = getattr(value, name)
            if value != declared.default:
                found.add(declared.keyword)
        return found

    def check(self, methods: Sequence[str] | None = None) -> None:
        """Every mistake in every method's options (ReportgenError), found before any model is loaded; with the
        `methods` chosen, first an option given for none of them (OptionError: "{surrogate_samples} applies to
        {method} lime or kernel-shap, not chosen here")."""
        if methods is not None:
            self.check_taken(methods)
        for part_field in self.parts():
            getattr(self, part_field.name).check()

    def check_taken(self, methods: Sequence[str]) -> None:
        """An option given (`given_options`) while no method that takes it (`part`) is among `methods`: OptionError
        naming the options and the methods that would take them."""
        given = self.given_options()
        for part_field in self.parts():
            takers = part_field.metadata[TAKEN_BY]
            if set(takers) & set(methods):
                continue
            named = [d.keyword for d in option_spec.declared(part_field.default_factory) if d.keyword in given]
            if named:
                options = " and ".join("{" + keyword + "}" for keyword in named)
                verb = "applies" if len(named) == 1 else "apply"
                raise OptionError(f"{options} {verb} to {{method}} {' or '.join(takers)}, not chosen here", *named,
                                  "method")
