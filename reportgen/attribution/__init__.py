"""Attribution: the maths, batched, on tensors. One class per method (its record in `reportgen.methods`),
shared helpers in `base`.

The package's names are imported when first asked for (PEP 562), so that the methods' options
(`attribution.options`, `path_steps`, `shapley_options`) import without torch: the command line checks them
before torch loads."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reportgen.attribution.base import AttributionSettings, Attributor, TokenScores
    from reportgen.attribution.options import MethodOptions
    from reportgen.attribution.path_steps import PathSteps
    from reportgen.attribution.shapley_options import ShapleyOptions

_HOMES = {"AttributionSettings": "base", "Attributor": "base", "TokenScores": "base", "MethodOptions": "options",
          "PathSteps": "path_steps", "ShapleyOptions": "shapley_options"}


def __getattr__(name: str) -> Any:
    if name == "make_attributor":
        return make_attributor
    if name in _HOMES:
        return getattr(importlib.import_module(f"reportgen.attribution.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'reportgen.attribution' has no attribute '{name}'")


def make_attributor(method: str, settings: AttributionSettings,
                    options: MethodOptions | None = None) -> Attributor:
    """The attributor for a CLI method name, built from its registry record; each method that takes options
    picks its own part of `options` (`Attributor.from_options`); None: each method's own defaults (integrated
    gradients 50 Gauss–Legendre steps). An unknown name: ReportgenError."""
    from reportgen.errors import ReportgenError
    from reportgen.methods import METHODS, REGISTRY

    info = REGISTRY.get(method)
    if info is None:
        raise ReportgenError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}")
    module, _, name = info.attributor.partition(":")
    attributor = getattr(importlib.import_module(module), name)
    return attributor(settings) if options is None else attributor.from_options(settings, options)


__all__ = ["AttributionSettings", "Attributor", "MethodOptions", "PathSteps", "ShapleyOptions", "TokenScores",
           "make_attributor"]
