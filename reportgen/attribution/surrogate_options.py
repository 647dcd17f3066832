"""LIME's and KernelSHAP's own options (`SurrogateOptions`), checked before any model loads; apart from the
methods (`surrogate.py`) for the same reason as `path_steps.py`, and declared the same way (`option_spec.option`)."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.choices import DEFAULT_SURROGATE_SAMPLES
from reportgen.errors import OptionError
from reportgen.option_spec import option


@dataclass
class SurrogateOptions:
    """LIME's and KernelSHAP's part of `MethodOptions`: both fit a linear surrogate to sampled coalitions."""

    samples: int = option(  # coalitions of words drawn per text (Captum's `n_samples`)
        DEFAULT_SURROGATE_SAMPLES, keyword="surrogate_samples", type=int, metavar="N",
        help="With --method lime or kernel-shap: coalitions of a text's words drawn to fit the linear surrogate "
             "(Captum's Lime and KernelShap, n_samples), one forward row each per model and class (KernelSHAP 2 "
             "more). Use several times a text's words, since with about as many samples as words a surrogate fits "
             "anything. Below words + 2 a page says LIME's fit (its adjusted R²) is not measurable and KernelSHAP's "
             "values are not determined by their samples.")

    def check(self) -> None:
        """A count below 2, or not a whole number: OptionError, before any model is loaded."""
        if not isinstance(self.samples, int) or isinstance(self.samples, bool) or self.samples < 2:
            raise OptionError(f"{{surrogate_samples}} must be a whole number of at least 2 (got {self.samples})",
                              "surrogate_samples")
