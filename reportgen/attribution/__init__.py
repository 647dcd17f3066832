"""Attribution: the maths, batched, on tensors. One class per method, shared helpers in `base`."""

from __future__ import annotations

from reportgen.attribution.base import AttributionSettings, Attributor, TokenScores
from reportgen.attribution.gradients import Gradient, GradientXInput
from reportgen.attribution.integrated_gradients import IntegratedGradients
from reportgen.attribution.quadrature import QUADRATURES
from reportgen.choices import METHODS, is_signed
from reportgen.attribution.rollout import AttentionGradient, AttentionRollout
from reportgen.errors import ReportgenError

def make_attributor(method: str, settings: AttributionSettings, *, steps: int = 50,
                    quadrature: str = "gauss-legendre") -> Attributor:
    """The attributor for a CLI method name (`steps`/`quadrature` matter for integrated gradients only)."""
    if method == "integrated-gradients":
        return IntegratedGradients(settings, steps=steps, quadrature=quadrature)
    if method == "gradient-x-input":
        return GradientXInput(settings)
    if method == "gradient":
        return Gradient(settings)
    if method == "attention-rollout":
        return AttentionRollout(settings)
    if method == "attention-gradient":
        return AttentionGradient(settings)
    raise ReportgenError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}")


__all__ = ["METHODS", "QUADRATURES", "AttributionSettings", "Attributor", "TokenScores", "make_attributor"]

__all__ += ["is_signed"]
