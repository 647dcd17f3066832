"""Every method's options, composed: one field per method that takes any, each the method's own dataclass.

A run's options (`pipeline.ExplainOptions`, `corpus.run.CorpusOptions`) hold one `MethodOptions` as a field;
`Attributor.from_options(settings, options)` lets each method pick its own part of it. Each part declares its
options' keywords, defaults and help on its fields (`option_spec.option`): the CLI's flags on `report`, `demo`
and `corpus` (`cli_options.method_options`) and `reportgen.explain`'s keywords are made from them, so a new
part here is all it takes for its options to reach both. Torch-free, so the command line checks them first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from reportgen import option_spec
from reportgen.attribution.path_steps import PathSteps
from reportgen.attribution.shapley_options import ShapleyOptions
from reportgen.attribution.surrogate_options import SurrogateOptions


@dataclass
class MethodOptions:
    """The options of every method that takes any; each part has a `check()`."""

    path: PathSteps = field(default_factory=PathSteps)  # integrated gradients
    shapley: ShapleyOptions = field(default_factory=ShapleyOptions)  # Shapley value sampling
    surrogate: SurrogateOptions = field(default_factory=SurrogateOptions)  # LIME and KernelSHAP

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

    def check(self) -> None:
        """Every mistake in every method's options (ReportgenError), found before any model is loaded."""
        for part in fields(self):
            getattr(self, part.name).check()
