"""Attribution: the maths, batched, on tensors. One class per method (its record in `reportgen.methods`),
shared helpers in `base`."""

from __future__ import annotations

import importlib

from reportgen.attribution.base import AttributionSettings, Attributor, TokenScores
from reportgen.attribution.integrated_gradients import PathSteps
from reportgen.attribution.options import MethodOptions
from reportgen.errors import ReportgenError
from reportgen.methods import METHODS, REGISTRY


def make_attributor(method: str, settings: AttributionSettings, path: PathSteps | None = None) -> Attributor:
    """The attributor for a CLI method name, built from its registry record; `path` matters only to
    methods that take options: integrated gradients its path (None: its default 50 steps), Shapley
    value sampling its `MethodOptions.shapley_samples` (a plain `PathSteps` or None: the default)."""
    info = REGISTRY.get(method)
    if info is None:
        raise ReportgenError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}")
    module, _, name = info.attributor.partition(":")
    attributor: type[Attributor] = getattr(importlib.import_module(module), name)
    return attributor.from_options(settings, path)


__all__ = ["AttributionSettings", "Attributor", "MethodOptions", "PathSteps", "TokenScores", "make_attributor"]
