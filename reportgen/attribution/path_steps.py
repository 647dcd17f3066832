"""Integrated gradients' own options: how it walks its paths (`PathSteps`), checked before any model loads.

They live apart from the method (`integrated_gradients.py`) so that `options.MethodOptions`, and through it
`base.Attributor.from_options`, can name them without importing the method that subclasses `base`; and they
import neither torch nor numpy, so that the command line checks them before torch loads. Each option's keyword,
default and help are declared here once (`option_spec.option`); the CLI's flags and `reportgen.explain`'s
keywords are made from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.choices import AUTO_STEPS, DEFAULT_MAX_STEPS, DEFAULT_TOLERANCE, QUADRATURES, convergence_rule
from reportgen.errors import OptionError
from reportgen.option_spec import option

ADAPTIVE_RULE = "riemann-trapezoid"
"""The rule `--steps auto` refines (`quadrature.AdaptiveTrapezoid`)."""
FIRST_NODES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Where `--steps auto` starts on every path: its first grid (`quadrature.AdaptiveTrapezoid.first`)."""
FIRST_REFINEMENT = 2 * len(FIRST_NODES) - 1
"""The nodes once `--steps auto` has halved every first interval (9): the fewest with which the scores' error is
estimated (`quadrature.AdaptiveTrapezoid.score_error`), so the least `max_steps` it takes."""
MOST_STEPS = 4097
"""The most `max_steps` takes: each text being refined holds two (max_steps, tokens) float tensors (its gradients
and their error shares; 17 MB at 512 tokens), and a cap 16 × the default's 257 is already far past where the
refinement stops on the paths measured (docs/benchmarks.md)."""


def steps_from_text(text: str) -> int | str:
    """--steps as written: a whole number becomes an int, anything else stays as written for `check()` to judge."""
    return int(text) if text.isdigit() else text


def check_steps(steps: int | str, tolerance: float, max_steps: int) -> None:
    """Mistakes in steps, tolerance and max_steps (even where fixed steps ignore the other two), found before any
    model is loaded: OptionError naming the option."""
    if steps != AUTO_STEPS and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise OptionError(f"{{steps}} must be at least 1, or {AUTO_STEPS} (got {steps})", "steps")
    if not 0 < tolerance < 1:  # also refuses nan and inf; 2 would be 200 %, not 2 %
        raise OptionError(f"{{tolerance}} must be above 0 and below 1, a fraction (got {tolerance}); e.g. 0.01 for "
                          "1 %", "tolerance")
    if max_steps < FIRST_REFINEMENT:  # below it no score error exists, and the rule would fall back to the delta alone
        raise OptionError(f"{{max_steps}} must be at least {FIRST_REFINEMENT} with {{steps}} auto (the first "
                          f"refinement's {FIRST_REFINEMENT} nodes are what the scores' error is estimated from) "
                          f"(got {max_steps})", "max_steps", "steps")
    if max_steps > MOST_STEPS:  # each text holds (max_steps, tokens) floats twice while it is refined
        raise OptionError(f"{{max_steps}} must be at most {MOST_STEPS} (each text being refined holds "
                          f"max-steps × tokens gradients in memory) (got {max_steps})", "max_steps")


@dataclass
class PathSteps:
    """How integrated gradients walks its paths: its part of `MethodOptions`, for a report and a corpus alike."""

    steps: int | str = option(  # a fixed count, or refined per text until within tolerance
        AUTO_STEPS, metavar="auto|N", from_text=steps_from_text,
        help="Integrated-gradients path steps. auto: each sample starts on 5 steps of the trapezoid rule and halves "
             "only the intervals that hold most of its scores' estimated error (every gradient reused) until it has "
             "converged (see --tolerance), independently of the others; the report shows the steps (gradients) each "
             "sample took. N: a fixed N steps of --quadrature for every sample.")
    tolerance: float = option(  # auto: the scores' estimated error, or |delta| / |F(x) − F(x′)|, to reach
        DEFAULT_TOLERANCE, type=float,
        help=f"With --steps auto: {convergence_rule()} (0.01 = 1 %; a |F(x)−F(x′)| below 0.01 logits counts as "
             "0.01).")
    max_steps: int = option(  # auto: the most gradient evaluations per text
        DEFAULT_MAX_STEPS, type=int,
        help=f"With --steps auto: the most steps (gradients) per sample, at least {FIRST_REFINEMENT} (the first "
             f"refinement, from which the scores' error is estimated) and at most {MOST_STEPS}; a sample that has not "
             "converged by then (see --tolerance) is flagged in the report.")
    quadrature: str | None = option(  # None: gauss-legendre for a fixed count, the adaptive trapezoid for auto
        None, choices=QUADRATURES, show_default=False,
        help="How integrated gradients places a fixed --steps N along the path [default: gauss-legendre; "
             "--steps auto always refines riemann-trapezoid grids].")

    @property
    def adaptive(self) -> bool:
        return self.steps == AUTO_STEPS

    @property
    def rule(self) -> str:
        """The quadrature as run: the one given, else gauss-legendre for a fixed count, the trapezoid for auto."""
        return self.quadrature or (ADAPTIVE_RULE if self.adaptive else "gauss-legendre")

    def check(self) -> None:
        """Every mistake in these options (OptionError), found before any model is loaded."""
        check_steps(self.steps, self.tolerance, self.max_steps)
        if self.quadrature is not None and self.quadrature not in QUADRATURES:
            raise OptionError(f"{{quadrature}}: unknown quadrature '{self.quadrature}'; choose one of "
                              f"{', '.join(QUADRATURES)}", "quadrature")
        if self.adaptive and self.quadrature not in (None, ADAPTIVE_RULE):
            raise OptionError(f"{{quadrature}} {self.quadrature} needs a fixed {{steps}} N; {{steps}} {AUTO_STEPS} "
                              f"refines a {ADAPTIVE_RULE} rule where its error is large", "quadrature", "steps")
        if not self.adaptive and self.rule == "riemann-trapezoid" and self.steps < 2:
            raise OptionError("the trapezoid rule needs {steps} of at least 2", "steps")
