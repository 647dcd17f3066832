"""Attribution: the maths, batched, on tensors. One class per method, shared helpers in `base`."""

from __future__ import annotations

from reportgen.attribution.base import AttributionSettings, Attributor, TokenScores
from reportgen.attribution.gradients import Gradient, GradientXInput
from reportgen.attribution.integrated_gradients import IntegratedGradients
from reportgen.attribution.quadrature import QUADRATURES
from reportgen.attribution.rollout import AttentionGradient, AttentionRollout
from reportgen.errors import ReportgenError

METHODS = ("integrated-gradients", "gradient-x-input", "gradient", "attention-rollout", "attention-gradient")


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


def is_signed(method: str) -> bool:
    """Whether a method's scores have a direction (for/against the target) or only a magnitude."""
    return make_attributor(method, AttributionSettings(batch_size=1)).signed


__all__ += ["is_signed"]
