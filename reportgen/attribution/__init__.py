"""Attribution: the maths, batched, on tensors. One class per method, shared helpers in `base`."""

from __future__ import annotations

from reportgen.attribution.base import AttributionSettings, Attributor, TokenScores
from reportgen.attribution.gradients import Gradient, GradientXInput
from reportgen.attribution.integrated_gradients import IntegratedGradients
from reportgen.attribution.quadrature import QUADRATURES
from reportgen.choices import DEFAULT_MAX_STEPS, DEFAULT_TOLERANCE, METHODS, is_signed
from reportgen.attribution.rollout import AttentionGradient, AttentionRollout
from reportgen.errors import ReportgenError

def make_attributor(method: str, settings: AttributionSettings, *, steps: int | str = 50,
                    quadrature: str | None = None, tolerance: float = DEFAULT_TOLERANCE,
                    max_steps: int = DEFAULT_MAX_STEPS) -> Attributor:
    """The attributor for a CLI method name (the other keywords matter for integrated gradients only;
    quadrature None: the default rule for `steps`)."""
    if method == "integrated-gradients":
        return IntegratedGradients(settings, steps=steps, quadrature=quadrature, tolerance=tolerance,
                                   max_steps=max_steps)
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
