"""LIME's and KernelSHAP's own options (`SurrogateOptions`), checked before any model loads; apart from the
methods (`surrogate.py`) for the same reason as `path_steps.py`."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.choices import DEFAULT_SURROGATE_SAMPLES
from reportgen.errors import OptionError


@dataclass
class SurrogateOptions:
    """LIME's and KernelSHAP's part of `MethodOptions`: both fit a linear surrogate to sampled coalitions."""

    samples: int = DEFAULT_SURROGATE_SAMPLES  # coalitions of words drawn per text (Captum's `n_samples`)

    def check(self) -> None:
        """A count below 2, or not a whole number: ReportgenError, before any model is loaded."""
        if not isinstance(self.samples, int) or isinstance(self.samples, bool) or self.samples < 2:
            raise OptionError(f"{{surrogate_samples}} must be a whole number of at least 2 (got {self.samples})",
                              "surrogate_samples")
