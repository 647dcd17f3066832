"""Shapley value sampling's own options (`ShapleyOptions`), checked before any model loads; apart from the
method (`shapley.py`) for the same reason as `path_steps.py`, and declared the same way (`option_spec.option`)."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.choices import DEFAULT_SHAPLEY_SAMPLES
from reportgen.errors import OptionError
from reportgen.option_spec import option


@dataclass
class ShapleyOptions:
    """Shapley value sampling's part of `MethodOptions`."""

    samples: int = option(  # random orders of the words per text (Captum's `n_samples`)
        DEFAULT_SHAPLEY_SAMPLES, keyword="shapley_samples", type=int, metavar="N",
        help="With --method shapley-sampling: random orders of a text's words (Captum's ShapleyValueSampling); a "
             "text of W words costs 3 + N × W forward rows per model and class. Every order's values add up to the "
             "logit change exactly, so N trades the noise of single words' values for time.")

    def check(self) -> None:
        """A count below 1, or not a whole number: OptionError, before any model is loaded."""
        if not isinstance(self.samples, int) or isinstance(self.samples, bool) or self.samples < 1:
            raise OptionError(f"{{shapley_samples}} must be a whole number of at least 1 (got {self.samples})",
                              "shapley_samples")
