"""What a report computes (`ExplainOptions`), torch-free: the options a caller chooses are declared on their fields
once (`option_spec.option`: keyword, default, help), from which `report` and `demo` get --target, the
faithfulness switches and --include-paths with every method's options (`cli_options.explain_options`), and
`reportgen.explain` its keywords; `check()` is their one check, before any model loads."""

from __future__ import annotations

from dataclasses import dataclass, field

from reportgen.attribution.options import MethodOptions
from reportgen.choices import DEFAULT_METHODS, DEFAULT_TARGET
from reportgen.methods import check_methods
from reportgen.option_spec import option


@dataclass
class ExplainOptions:
    """Everything that decides what a report computes (how it looks is decided when rendering);
    each method's own options (integrated gradients' steps, Shapley samples) are `method_options`."""

    methods: tuple[str, ...] = DEFAULT_METHODS
    method_options: MethodOptions = field(default_factory=MethodOptions)
    target: str = option(
        DEFAULT_TARGET,
        help="Class whose logit is explained: common (one class for both models, so both columns' colours mean the "
             "same: the true label when known, else the fine-tuned model's prediction), predicted (each model's own "
             "prediction), label, or a class index or name. Multi-label models (config problem_type "
             "multi_label_classification: a sigmoid per label, every label above 0.5 predicted) get one explanation "
             "per label: by default (common or predicted) each predicted label (the most probable one where none is "
             "above 0.5); with label each of the row's true labels (its label column may hold a list of them, e.g. "
             "[0, 3]: the page shows them and marks each explained label ✓ or ✗); or the one given here.")
    max_length: int = 512
    batch_size: int | None = None  # None: pick for the device
    precision: str = "fp32"
    faithfulness: bool = option(  # also the flip test (flip_test)
        True, type=bool,
        help="Measure each method's ERASER faithfulness per sample and model: comprehensiveness (how much p(target) "
             "drops when the top 1/5/10/20/50 % of tokens are removed, averaged) and sufficiency (how much it drops "
             "when only they are kept), beside the same numbers for random orders; and the flip test (the fewest "
             "top-ranked words whose removal changes each model's class). Forward passes only.")
    flip_test: bool = option(  # also the agreement flips; every word count up to the cap, so the costliest check
        True, type=bool,
        help="Also run the flip test: the fewest top-ranked words whose removal changes each model's class, beside "
             "the same search on seeded random orders of words (and, with two models, whether one model's top "
             "words flip the other): at most 64 forward rows per text, model and ranking (each method's and each "
             "random order's), measured at 19–67 % of a report's time (its Time line says how much). --no-flip-test "
             "leaves it out for a faster report; the ERASER metrics and NAOPC are unchanged. Needs --faithfulness.")
    random_orders: int = 3
    naopc: bool = option(  # normalised AOPC: the bounds cost 2n + 208 forward rows per text and model (beam)
        True, type=bool,
        help="Also normalise comprehensiveness and sufficiency by each text's best and worst orderings (NAOPC, Edin "
             "et al. 2024), so the two models' numbers compare: at most 2 × tokens + 208 forward rows per text and "
             "model (measured 2 × tokens + 25 on 256-token reviews, the largest share of a report's time; exact "
             "search up to 8 tokens). Needs --faithfulness.")
    include_paths: bool = option(  # False: model, encoder and dataset by name only (safe to share)
        False, type=bool, show_default=False,
        help="Show full local paths of models, encoder and dataset (default: names and SHA-256 only, so the file is "
             "safe to share).")
    progress: bool = True

    def check(self) -> None:
        check_methods(self.methods)  # before any model is loaded
        self.method_options.check(self.methods)  # and an option of a method not chosen
