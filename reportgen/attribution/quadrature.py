"""Where along the path from baseline to input integrated gradients samples the gradient.

IG is an integral over α ∈ [0, 1]; any quadrature rule is (nodes α_k, weights w_k) with
Σ w_k = 1. Gauss–Legendre is exact for polynomials of degree 2·steps − 1, so on a smooth
integrand (a head with tanh/GELU, as Hugging Face classifiers have) it reaches a given
convergence delta with far fewer steps than a Riemann sum. A ReLU in the head (the state-dict
format's Linear-ReLU-Linear) makes the integrand jump wherever a unit switches along the path; then every
rule's error shrinks only about like 1/steps and Gauss–Legendre has no edge (measured in
docs/benchmarks.md).

`--steps auto` needs a *nested* family instead: grids that each keep every node of the one before,
so refining a text never throws a computed gradient away. `DoublingTrapezoid` is that family for
the trapezoid rule (4, 8, 16, … intervals). Measured on the demo's models at 512 tokens (docs/
benchmarks.md, "Adaptive steps"), it reached a 1 % convergence delta with fewer gradients than the
nested Clenshaw–Curtis and Simpson/Romberg grids on the same nodes, with the ReLU head and with a
smooth one: at that tolerance their higher order has not set in yet.
"""

from __future__ import annotations

import numpy as np

from reportgen.choices import QUADRATURES
from reportgen.errors import ReportgenError


def nodes_and_weights(rule: str, steps: int) -> tuple[list[float], list[float]]:
    """Nodes α_k in [0, 1] and weights w_k summing to 1 for `steps` gradient evaluations."""
    if steps < 1:
        raise ReportgenError(f"--steps must be at least 1 (got {steps})")
    if rule == "gauss-legendre":
        x, w = np.polynomial.legendre.leggauss(steps)
        return ((x + 1) / 2).tolist(), (w / 2).tolist()
    if rule == "riemann-trapezoid":
        if steps < 2:
            raise ReportgenError("the trapezoid rule needs --steps of at least 2")
        alphas = np.linspace(0.0, 1.0, steps)
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
        return alphas.tolist(), weights.tolist()
    offsets = {"riemann-left": 0.0, "riemann-middle": 0.5, "riemann-right": 1.0}
    if rule not in offsets:
        raise ReportgenError(f"unknown quadrature '{rule}'; choose one of {', '.join(QUADRATURES)}")
    alphas = (np.arange(steps) + offsets[rule]) / steps
    return alphas.tolist(), [1.0 / steps] * steps


class DoublingTrapezoid:
    """The trapezoid rule on 4·2^level intervals of [0, 1]: level j's nodes are k / (4·2^j), endpoints included.

    Node k of level j is node 2k of level j + 1, so a refinement computes only the odd-numbered
    nodes and halves the old weights: `size(j)` gradients in all, none thrown away.
    """

    rule = "riemann-trapezoid"
    start = 4  # intervals of level 0

    def size(self, level: int) -> int:
        """Nodes (gradient evaluations) of level `level`."""
        return self.start * 2**level + 1

    def last_level(self, max_steps: int) -> int:
        """The finest level that stays within `max_steps` gradients."""
        if max_steps < self.size(0):
            raise ReportgenError(f"--max-steps must be at least {self.size(0)}, the first grid of --steps auto "
                                 f"(got {max_steps})")
        level = 0
        while self.size(level + 1) <= max_steps:
            level += 1
        return level

    def alphas(self, level: int) -> list[float]:
        return np.linspace(0.0, 1.0, self.size(level)).tolist()

    def weights(self, level: int) -> list[float]:
        return nodes_and_weights(self.rule, self.size(level))[1]

    def new_nodes(self, level: int) -> list[int]:
        """Indices (into level `level`'s nodes) of the nodes that the level before did not have."""
        return list(range(self.size(level))) if level == 0 else list(range(1, self.size(level), 2))
