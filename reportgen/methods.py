"""One record per attribution method, importable without torch: the registry every layer reads.

The CLI's `--method` help and choices, the pipeline (which passes a method needs, whether a class
change needs another run), the view model (titles, what a shade means, signed colour scales) and the
corpus view (the attention floor note) all read these records, so adding a method means one record here and one
`Attributor` subclass (docs/architecture.md, "How to add a method"). Nothing here builds an
attributor; `reportgen.attribution.make_attributor` imports the class a record names when a run
needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reportgen.errors import OptionError

Needs = Literal["gradients", "attention", "forward"]


@dataclass(frozen=True)
class MethodInfo:
    """What a method is, for everything except computing it.

    `needs`: "gradients" (backward passes through the model), "attention" (the attention
    probabilities, with or without gradients; their residual path gives every token a floor) or
    "forward" (only forward passes on perturbed texts, `reportgen.perturbation`).
    `attributor`: "module:Class" of its `reportgen.attribution.base.Attributor` subclass.
    """

    name: str
    title: str
    signed: bool  # scores say for or against the target; False: a magnitude only
    class_specific: bool  # False: the scores ignore the target, so one run serves every class
    needs: Needs
    description: str  # one line, for `--method` help
    attributor: str
    shade: str  # what a token's shade means, for the report's lede ("Shade = …") when the method leads
    walks_path: bool = False  # takes integrated gradients' path options (--steps, --quadrature, --tolerance)
    samples: bool = False  # takes --shapley-samples (permutations per text)
    surrogate: bool = False  # takes --surrogate-samples (coalitions per text for a fitted linear surrogate)
    gap: str | None = None  # its values add up to f(x) − f(no words): "exact" (but for rounding) or "fitted"

    @property
    def states_fit(self) -> bool:
        """Its trust is its surrogate's fit (LIME: `MethodResult.surrogate_fit`); KernelSHAP's values add up to
        f(x) − f(no words) instead, so it states its gap."""
        return self.surrogate and self.gap is None


REGISTRY: dict[str, MethodInfo] = {info.name: info for info in (
    MethodInfo("integrated-gradients", "Integrated gradients", signed=True, class_specific=True, needs="gradients",
               description="signed, adds up to the logit change",
               attributor="reportgen.attribution.integrated_gradients:IntegratedGradients",
               shade="its integrated-gradients attribution", walks_path=True),
    MethodInfo("gradient-x-input", "Gradient × input", signed=True, class_specific=True, needs="gradients",
               description="signed, one backward pass",
               attributor="reportgen.attribution.gradients:GradientXInput",
               shade="gradient × input"),
    MethodInfo("gradient", "Gradient norm", signed=False, class_specific=True, needs="gradients",
               description="unsigned sensitivity",
               attributor="reportgen.attribution.gradients:Gradient",
               shade="how strongly the target logit reacts to a change of the token's embedding "
                     "(L2 norm of the gradient)"),
    MethodInfo("attention-rollout", "Attention rollout", signed=False, class_specific=False, needs="attention",
               description="unsigned: attention flow through all layers, read out where the model pools; "
                           "class-independent",
               attributor="reportgen.attribution.rollout:AttentionRollout",
               shade="how much attention flows from the pooled positions to the token "
                     "through all layers (attention rollout)"),
    MethodInfo("attention-gradient", "Gradient-weighted attention", signed=False, class_specific=True,
               needs="attention",
               description="unsigned: gradient-weighted attention, Chefer et al. 2021, class-specific",
               attributor="reportgen.attribution.rollout:AttentionGradient",
               shade="the token's gradient-weighted attention relevance for the target class"),
    MethodInfo("occlusion", "Occlusion (leave one word out)", signed=True, class_specific=True, needs="forward",
               description="signed: how much the target logit drops when each word alone is removed; "
                           "1 + words forward passes per text",
               attributor="reportgen.attribution.occlusion:Occlusion",
               shade="how much the target logit drops when the word alone is removed (occlusion)"),
    MethodInfo("shapley-sampling", "Shapley values (sampled)", signed=True, class_specific=True, needs="forward",
               description="signed Shapley values of the words (Captum's ShapleyValueSampling), add up to the "
                           "logit change when every word is removed; 3 + --shapley-samples × words forward "
                           "passes per text",
               attributor="reportgen.attribution.shapley:ShapleySampling",
               shade="the word's Shapley value: its mean effect on the target logit over random "
                     "orders of adding the words", samples=True, gap="exact"),
    MethodInfo("lime", "LIME (linear surrogate)", signed=True, class_specific=True, needs="forward",
               description="signed coefficients of a linear model (Captum's Lime) fitted to the target logit of "
                           "random coalitions of words; its adjusted R² says how well it fits; "
                           "--surrogate-samples forward passes per text",
               attributor="reportgen.attribution.surrogate:Lime",
               shade="the word's coefficient in a linear model fitted, near the text, to the target logit of "
                     "random coalitions of its words (LIME)", surrogate=True),
    MethodInfo("kernel-shap", "KernelSHAP", signed=True, class_specific=True, needs="forward",
               description="signed Shapley values of the words estimated by a kernel-weighted linear fit "
                           "(Captum's KernelShap), add up to the logit change when every word is removed; "
                           "2 + --surrogate-samples forward passes per text",
               attributor="reportgen.attribution.surrogate:KernelShap",
               shade="the word's Shapley value as KernelSHAP estimates it: its effect on the target logit, "
                     "from a kernel-weighted linear fit to random coalitions of the words",
               surrogate=True, gap="fitted"),
)}
METHODS = tuple(REGISTRY)


def is_signed(method: str) -> bool:
    """Whether a method's scores have a direction (for/against the target) or only a magnitude
    (a name this reportgen does not know, from a newer report, counts as signed)."""
    info = REGISTRY.get(method)
    return info.signed if info else True


def method_title(method: str) -> str:
    info = REGISTRY.get(method)
    return info.title if info else method


def method_shade(method: str) -> str:
    """What a token's shade means under `method`, for the report's lede (a name this reportgen does not know:
    the name)."""
    info = REGISTRY.get(method)
    return info.shade if info else method


def methods_help() -> str:
    """The methods as `--method` help lists them: "name (description), …"."""
    return ", ".join(f"{info.name} ({info.description})" for info in REGISTRY.values())


def parse_methods(methods: str | Sequence[str]) -> tuple[str, ...]:
    """Method names from a comma-separated string ("gradient, occlusion") or a list, blanks dropped; not checked."""
    names = methods.split(",") if isinstance(methods, str) else methods
    return tuple(name.strip() for name in names if name.strip())


def check_methods(methods: Sequence[str]) -> None:
    """The one check of a list of methods (every options dataclass's `check()`, and the CLI before torch loads):
    OptionError naming `method` for none, an unknown name, or a name given twice."""
    if not methods:
        raise OptionError("{method}: give at least one method, e.g. " + METHODS[0], "method")
    unknown = [method for method in methods if method not in REGISTRY]
    if unknown:
        raise OptionError(f"{{method}}: unknown method '{unknown[0]}'; choose from {', '.join(METHODS)} "
                          "(comma-separated for several)", "method")
    if len(set(methods)) != len(methods):
        raise OptionError(f"{{method}} lists a method twice: {','.join(methods)}", "method")
