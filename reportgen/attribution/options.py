"""Every method's own options, as a report and a corpus take them."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.attribution.integrated_gradients import PathSteps
from reportgen.choices import DEFAULT_SHAPLEY_SAMPLES
from reportgen.errors import ReportgenError


def check_samples(samples: int) -> None:
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise ReportgenError(f"--shapley-samples must be a whole number of at least 1 (got {samples})")


@dataclass
class MethodOptions(PathSteps):
    """Integrated gradients' path (`PathSteps`) and Shapley value sampling's permutations per text."""

    shapley_samples: int = DEFAULT_SHAPLEY_SAMPLES

    def check_method_options(self) -> None:
        """Every mistake in these options, found before any model is loaded."""
        self.check_path()
        check_samples(self.shapley_samples)
