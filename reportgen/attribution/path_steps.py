"""Integrated gradients' own options: how it walks its paths (`PathSteps`), checked before any model loads.

They live apart from the method (`integrated_gradients.py`) so that `options.MethodOptions`, and through it
`base.Attributor.from_options`, can name them without importing the method that subclasses `base`.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.attribution.quadrature import AdaptiveTrapezoid, nodes_and_weights
from reportgen.choices import AUTO_STEPS, DEFAULT_MAX_STEPS, DEFAULT_TOLERANCE
from reportgen.errors import OptionError

GRID = AdaptiveTrapezoid


def check_steps(steps: int | str, tolerance: float, max_steps: int) -> None:
    """Mistakes in steps, tolerance and max_steps (even where fixed steps ignore the other two), found before any
    model is loaded (the CLI calls it before torch loads): OptionError naming the option."""
    if steps != AUTO_STEPS and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise OptionError(f"{{steps}} must be at least 1, or {AUTO_STEPS} (got {steps})", "steps")
    if not tolerance > 0:
        raise OptionError(f"{{tolerance}} must be above 0 (got {tolerance}); e.g. 0.01 for a delta within 1 % "
                          "of F(x) − F(x′)", "tolerance")
    if max_steps < len(GRID.first):
        raise OptionError(f"{{max_steps}} must be at least {len(GRID.first)}, the first nodes of {{steps}} auto "
                          f"(got {max_steps})", "max_steps", "steps")


@dataclass
class PathSteps:
    """How integrated gradients walks its paths: its part of `MethodOptions`, for a report and a corpus alike."""

    steps: int | str = AUTO_STEPS  # a fixed count, or refined per text until within tolerance
    quadrature: str | None = None  # None: gauss-legendre for a fixed count, the adaptive trapezoid for auto
    tolerance: float = DEFAULT_TOLERANCE  # auto: |convergence delta| / |F(x) − F(x′)| to reach
    max_steps: int = DEFAULT_MAX_STEPS  # auto: the most gradient evaluations per text

    @property
    def adaptive(self) -> bool:
        return self.steps == AUTO_STEPS

    @property
    def rule(self) -> str:
        """The quadrature as run: the one given, else gauss-legendre for a fixed count, the trapezoid for auto."""
        return self.quadrature or (GRID.rule if self.adaptive else "gauss-legendre")

    def check(self) -> None:
        """Every mistake in these options (ReportgenError), found before any model is loaded."""
        check_steps(self.steps, self.tolerance, self.max_steps)
        if self.adaptive and self.quadrature not in (None, GRID.rule):
            raise OptionError(f"{{quadrature}} {self.quadrature} needs a fixed {{steps}} N; {{steps}} {AUTO_STEPS} "
                              f"refines a {GRID.rule} rule where its error is large", "quadrature", "steps")
        if not self.adaptive:
            nodes_and_weights(self.rule, self.steps)
