"""Every method's options, composed: one field per method that takes any, each the method's own dataclass.

A run's options (`pipeline.ExplainOptions`, `corpus.run.CorpusOptions`) hold one `MethodOptions` as a field;
`Attributor.from_options(settings, options)` lets each method pick its own part of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from reportgen.attribution.path_steps import PathSteps
from reportgen.attribution.shapley_options import ShapleyOptions
from reportgen.attribution.surrogate_options import SurrogateOptions
from reportgen.choices import (
    AUTO_STEPS,
    DEFAULT_MAX_STEPS,
    DEFAULT_SHAPLEY_SAMPLES,
    DEFAULT_SURROGATE_SAMPLES,
    DEFAULT_TOLERANCE,
)


@dataclass
class MethodOptions:
    """The options of every method that takes any; each part has a `check()`."""

    path: PathSteps = field(default_factory=PathSteps)  # integrated gradients
    shapley: ShapleyOptions = field(default_factory=ShapleyOptions)  # Shapley value sampling
    surrogate: SurrogateOptions = field(default_factory=SurrogateOptions)  # LIME and KernelSHAP

    @classmethod
    def from_keywords(cls, *, steps: int | str = AUTO_STEPS, quadrature: str | None = None,
                      tolerance: float = DEFAULT_TOLERANCE, max_steps: int = DEFAULT_MAX_STEPS,
                      shapley_samples: int = DEFAULT_SHAPLEY_SAMPLES,
                      surrogate_samples: int = DEFAULT_SURROGATE_SAMPLES) -> MethodOptions:
        """The options from the CLI flags and `reportgen.explain` keywords of the same names (--steps, …)."""
        return cls(path=PathSteps(steps=steps, quadrature=quadrature, tolerance=tolerance, max_steps=max_steps),
                   shapley=ShapleyOptions(samples=shapley_samples),
                   surrogate=SurrogateOptions(samples=surrogate_samples))

    def check(self) -> None:
        """Every mistake in every method's options (ReportgenError), found before any model is loaded."""
        for part in fields(self):
            getattr(self, part.name).check()
