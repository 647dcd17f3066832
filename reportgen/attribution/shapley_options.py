"""Shapley value sampling's own options (`ShapleyOptions`), checked before any model loads; apart from the
method (`shapley.py`) for the same reason as `path_steps.py`."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.choices import DEFAULT_SHAPLEY_SAMPLES
from reportgen.errors import OptionError


@dataclass
class ShapleyOptions:
    """Shapley value sampling's part of `MethodOptions`."""

    samples: int = DEFAULT_SHAPLEY_SAMPLES  # random orders of the words per text (Captum's `n_samples`)

    def check(self) -> None:
        """A count below 1, or not a whole number: ReportgenError, before any model is loaded."""
        if not isinstance(self.samples, int) or isinstance(self.samples, bool) or self.samples < 1:
            raise OptionError(f"{{shapley_samples}} must be a whole number of at least 1 (got {self.samples})",
                              "shapley_samples")
