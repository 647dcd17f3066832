"""Attribution: the maths, batched, on tensors. One class per method (its record in `reportgen.methods`),
shared helpers in `base`."""

from __future__ import annotations

import importlib

from reportgen.attribution.base import AttributionSettings, Attributor, TokenScores
from reportgen.attribution.options import MethodOptions
from reportgen.attribution.path_steps import PathSteps
from reportgen.attribution.shapley_options import ShapleyOptions
from reportgen.errors import ReportgenError
from reportgen.methods import METHODS, REGISTRY


def make_attributor(method: str, settings: AttributionSettings, options: MethodOptions | None = None) -> Attributor:
    """The attributor for a CLI method name, built from its registry record; each method that takes options
    picks its own part of `options` (`Attributor.from_options`); None: each method's own defaults (integrated
    gradients 50 Gauss–Legendre steps). An unknown name: ReportgenError."""
    info = REGISTRY.get(method)
    if info is None:
        raise ReportgenError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}")
    module, _, name = info.attributor.partition(":")
    attributor: type[Attributor] = getattr(importlib.import_module(module), name)
    return attributor(settings) if options is None else attributor.from_options(settings, options)


__all__ = ["AttributionSettings", "Attributor", "MethodOptions", "PathSteps", "ShapleyOptions", "TokenScores",
           "make_attributor"]
