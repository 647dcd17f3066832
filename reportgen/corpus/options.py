"""What the attributions of a corpus are (`CorpusOptions`), torch-free: --method declared on its field with every
method's options (`option_spec.option`), from which `reportgen corpus` gets them (`cli_options.corpus_options`),
and checked once, in `check()`, before torch loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportgen.attribution.options import MethodOptions
from reportgen.choices import CORPUS_METHOD, ESTIMATOR
from reportgen.errors import OptionError
from reportgen.methods import METHODS, REGISTRY, check_methods
from reportgen.option_spec import option


@dataclass
class CorpusOptions:
    """What the attributions of a corpus are: changing any of these makes stored rows unusable
    (each method's own options are `method_options`, as for a report)."""

    method: str = option(
        CORPUS_METHOD, metavar="METHOD",
        help="One attribution method: " + ", ".join(METHODS) + ". The default, the gradient norm (unsigned, toward "
             "the true class), costs one backward pass per text; on the demo's models its most-gained words (awful, "
             "boring, great, …) matched those of integrated gradients (signed, complete, 12-70× the cost), while "
             "attention methods give every token a floor that drowns corpus averages (docs/corpus.md).")
    method_options: MethodOptions = field(default_factory=MethodOptions)
    target_class: int | None = None  # None: each row's true label
    max_length: int = 512
    batch_size: int | None = None  # texts per batch; None: pick for the device
    precision: str = "fp32"
    rationale_column: str | None = None  # human rationales: each row's plausibility is stored beside its scores

    def check(self) -> None:
        if "," in self.method:
            raise OptionError(f"{{method}}: a corpus uses one method (got '{self.method}'); run once per method",
                              "method")
        check_methods((self.method,))
        self.method_options.check((self.method,))  # an unknown quadrature fails here, before any model is loaded,
        # as does an option of another method

    @property
    def integrated_gradients(self) -> bool:
        return REGISTRY[self.method].walks_path

    @property
    def lime(self) -> bool:
        """A method whose surrogate's fit is stated (LIME; KernelSHAP's values add up instead)."""
        return REGISTRY[self.method].states_fit

    @property
    def auto_steps(self) -> bool:
        return self.integrated_gradients and self.method_options.path.adaptive

    def attributor(self, batch_size: int):
        from reportgen.attribution import AttributionSettings, make_attributor

        return make_attributor(self.method, AttributionSettings(batch_size=batch_size, precision=self.precision),
                               self.method_options)

    def path_settings(self) -> dict[str, Any]:
        """The method's own settings (empty for methods without options): how integrated gradients walked
        its paths (the quadrature as run, and the tolerance, cap and score errors' estimator where the steps were
        chosen per row), Shapley value sampling's orders per row, or LIME's and KernelSHAP's coalitions per row."""
        if REGISTRY[self.method].samples:
            return {"shapley_samples": self.method_options.shapley.samples}
        if REGISTRY[self.method].surrogate:
            return {"surrogate_samples": self.method_options.surrogate.samples}
        if not self.integrated_gradients:
            return {}
        path = self.method_options.path
        out: dict[str, Any] = {"steps": path.steps, "quadrature": path.rule}
        if self.auto_steps:
            out |= {"tolerance": path.tolerance, "max_steps": path.max_steps,
                    "score_error_estimator": ESTIMATOR.name}
        return out

    def settings(self) -> dict[str, Any]:
        """The options a resumed run must share with the stored rows (steps only matter for IG; the rationale
        column, where there is one, decides the plausibility columns)."""
        rationales = {} if self.rationale_column is None else {"rationale_column": self.rationale_column}
        return {"method": self.method, "precision": self.precision, "target_class": self.target_class,
                **self.path_settings(), **rationales}
