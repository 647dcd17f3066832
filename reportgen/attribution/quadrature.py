"""Where along the path from baseline to input integrated gradients samples the gradient.

IG is an integral over α ∈ [0, 1]; any quadrature rule is (nodes α_k, weights w_k) with
Σ w_k = 1. Gauss–Legendre is exact for polynomials of degree 2·steps − 1, so on a smooth
integrand (a head with tanh/GELU, as Hugging Face classifiers have) it reaches a given
convergence delta with far fewer steps than a Riemann sum. A ReLU in the head (the user's
Linear-ReLU-Linear) makes the integrand jump wherever a unit switches along the path; then every
rule's error shrinks only about like 1/steps and Gauss–Legendre has no edge (measured in
docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

from reportgen.errors import ReportgenError

from reportgen.choices import QUADRATURES


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
