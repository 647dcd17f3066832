"""Attribution: the maths, batched, on tensors. One class per method, shared helpers in `base`."""

from __future__ import annotations

from reportgen.attribution.base import AttributionSettings, Attributor, TokenScores
from reportgen.attribution.gradients import Gradient, GradientXInput
from reportgen.attribution.integrated_gradients import IntegratedGradients
from reportgen.attribution.quadrature import QUADRATURES
from reportgen.errors import ReportgenError

METHODS = ("integrated-gradients", "gradient-x-input", "gradient")


def make_attributor(method: str, settings: AttributionSettings, *, steps: int = 50,
                    quadrature: str = "gauss-legendre") -> Attributor:
    """The attributor for a CLI method name."""
    if method == "integrated-gradients":
        return IntegratedGradients(settings, steps=steps, quadrature=quadrature)
    if method == "gradient-x-input":
        return GradientXInput(settings)
    if method == "gradient":
        return Gradient(settings)
    raise ReportgenError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}")


__all__ = ["METHODS", "QUADRATURES", "AttributionSettings", "Attributor", "TokenScores", "make_attributor"]
