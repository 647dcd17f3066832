"""From loaded models and texts to a `Report`: predict, choose targets, attribute, measure, package.

This is the one code path behind `reportgen report`, `reportgen demo` and `reportgen.explain`.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import torch
from tqdm.auto import tqdm

import reportgen
from reportgen.attribution import AttributionSettings, Attributor, MethodOptions, make_attributor
from reportgen.batching import default_batch_size
from reportgen.choices import DEFAULT_METHODS, DEFAULT_TARGET
from reportgen.comparison import common_class, difference
from reportgen.errors import ReportgenError
from reportgen.faithfulness import (
    CURVE_FRACTIONS,
    KS,
    FaithfulnessSettings,
    RandomReference,
    forward_rows,
    measure_faithfulness,
    random_reference,
)
from reportgen.inference import predict_logits
from reportgen.loading.checks import check_class_counts, check_labels, multi_label
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel, check_max_length
from reportgen.methods import REGISTRY
from reportgen.rendering.reading import describe
from reportgen.results import (
    Difference,
    FaithfulnessMeta,
    MethodResult,
    ModelAttribution,
    ModelInfo,
    Report,
    ReportMeta,
    SampleResult,
    stored,
)
from reportgen.words import group_words

TARGETS_HELP = ("common (one class for both models: the true label when known, else the fine-tuned model's "
                "prediction), predicted (each model's own predicted class; multi-label: each predicted label), label "
                "(the true label), or a class index or name")
PAIR_NAMES = ["Text A", "Text B"]
"""What a sentence pair's texts are called when their dataset columns do not name them (free text)."""


@dataclass
class ExplainOptions(MethodOptions):
    """Everything that decides what a report computes (how it looks is decided when rendering);
    each method's own options (integrated gradients' steps, Shapley samples) come from `MethodOptions`."""

    methods: tuple[str, ...] = DEFAULT_METHODS
    target: str = DEFAULT_TARGET
    max_length: int = 512
    batch_size: int | None = None  # None: pick for the device
    precision: str = "fp32"
    faithfulness: bool = True
    random_orders: int = 3
    include_paths: bool = False  # False: model, encoder and dataset by name only (safe to share)
    progress: bool = True

    def check(self) -> None:
        if not self.methods:
            raise ReportgenError("--method: give at least one method")
        if len(set(self.methods)) != len(self.methods):
            raise ReportgenError(f"--method lists a method twice: {','.join(self.methods)}")
        unknown = [method for method in self.methods if method not in REGISTRY]
        if unknown:  # before any model is loaded
            raise ReportgenError(f"unknown method '{unknown[0]}'; choose one of {', '.join(REGISTRY)}")
        self.check_method_options()


@dataclass
class Texts:
    """What to explain: texts with their dataset rows and labels (None where unknown)."""

    texts: list[str]
    indices: list[int | None]
    labels: list[int | None]
    class_names: list[str] | None = None
    dataset: str | None = None
    split: str | None = None
    pairs: list[str] | None = None  # sentence pairs: the second text of each (texts holds the first)
    segment_names: list[str] | None = None  # a pair's two texts, e.g. ["Premise", "Hypothesis"]

    def select(self, rows: list[int]) -> Texts:
        """These rows, in this order (a text explained for several labels appears once per label)."""
        return replace(self, texts=[self.texts[i] for i in rows], indices=[self.indices[i] for i in rows],
                       labels=[self.labels[i] for i in rows],
                       pairs=None if self.pairs is None else [self.pairs[i] for i in rows])


def class_index(spec: str, class_names: list[str], option: str, advice: str = "give") -> int:
    """A class given by name or index, as its index; an error naming `option` otherwise."""
    if spec in class_names:
        return class_names.index(spec)
    if spec.isdigit() and int(spec) < len(class_names):
        return int(spec)
    raise ReportgenError(f"{option} '{spec}': {advice} a class name ({', '.join(class_names)}) or an index "
                         f"below {len(class_names)}")


def target_class(target: str, class_names: list[str]) -> int | None:
    """A fixed --target as a class index (an index or a class name); None for common, predicted and label."""
    if target in ("common", "predicted", "label"):
        return None
    return class_index(target, class_names, "--target", "use common, predicted, label, or")


def choose_targets(target: str, predicted: torch.Tensor, labels: list[int | None], class_names: list[str],
                   common: torch.Tensor | None = None) -> torch.Tensor:
    """The class whose logit each text's attribution explains; `common` is each text's common class
    (`comparison.common_class`), needed for target "common"."""
    if target == "common":
        if common is None:
            raise ValueError("--target common needs each text's common class")
        return common.clone()
    if target == "label":
        missing = [i for i, label in enumerate(labels) if label is None]
        if missing:
            raise ReportgenError("--target label: some texts have no label; use --target predicted")
        return torch.tensor(labels, dtype=torch.long)
    fixed = target_class(target, class_names)
    return predicted if fixed is None else torch.full_like(predicted, fixed)


def explained_labels(target: str, chosen: dict[str, torch.Tensor], probabilities: dict[str, torch.Tensor],
                     labels: list[int | None], class_names: list[str]) -> list[list[int]]:
    """Multi-label models: the labels each text is explained for, in label order.

    `predicted` and `common`: every label either model predicts (probability above 0.5), or a model's most probable
    label where it predicts none; `label`: the row's label; a class: that label. chosen, probabilities:
    per role, (texts, labels) from `LoadedModel.verdicts`.
    """
    if target not in ("common", "predicted"):  # common: both models explain each chosen label anyway
        return [[int(t)] for t in choose_targets(target, torch.zeros(len(labels), dtype=torch.long), labels,
                                                 class_names)]
    picked = torch.zeros_like(next(iter(chosen.values())))
    for role, flags in chosen.items():
        top = torch.nn.functional.one_hot(probabilities[role].argmax(dim=-1), flags.shape[1]).bool()
        picked |= torch.where(flags.any(dim=1, keepdim=True), flags, top)
    return [row.nonzero().flatten().tolist() for row in picked]


def resolve_class_names(given: list[str] | None, num_classes: int) -> list[str]:
    if given is None:
        return [f"class {i}" for i in range(num_classes)]
    if len(given) != num_classes:
        raise ReportgenError(f"{len(given)} class names ({', '.join(given)}) for models with {num_classes} "
                             "classes; fix --label-names")
    return list(given)


def pad_share(scores: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Share of Σ|score| on padding positions: padding matters when pooling averages over it."""
    magnitude = scores.abs()
    on_padding = (magnitude * (attention_mask == 0)).sum(dim=1)
    return on_padding / magnitude.sum(dim=1).clamp(min=1e-30)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.machine()})"


@dataclass
class _Run:
    """One model's share of the work: its inputs, verdicts and the settings its passes use."""

    model: LoadedModel
    inputs: EncodedTexts
    probabilities: torch.Tensor
    predicted: torch.Tensor
    targets: torch.Tensor
    common: torch.Tensor
    batch_size: int
    results: dict[str, list[MethodResult]] = field(default_factory=dict)
    common_scores: dict[str, list[list[float]]] = field(default_factory=dict)
    chance: RandomReference | None = None  # the random orders' rows, shared by every method
    attributors: dict[str, Attributor] = field(default_factory=dict)  # by method, built once per model
    chosen: torch.Tensor | None = None  # multi-label: (rows, labels) bool, every label the model predicts


class _Explainer:
    """Runs every method for every model, with one progress bar over all the passes."""

    def __init__(self, options: ExplainOptions, bar: tqdm) -> None:
        self.options = options
        self.bar = bar

    def attributor(self, run: _Run, method: str) -> Attributor:
        if method not in run.attributors:
            settings = AttributionSettings(batch_size=run.batch_size, precision=self.options.precision,
                                           on_progress=self.bar.update, on_planned=self.planned)
            run.attributors[method] = make_attributor(method, settings, self.options)
        return run.attributors[method]

    def planned(self, rows: int) -> None:
        """Integrated gradients with auto steps learns how many rows a text needs as it goes."""
        self.bar.total += rows
        self.bar.refresh()

    def method_results(self, run: _Run, method: str) -> list[MethodResult]:
        attributor = self.attributor(run, method)
        result = attributor.attribute(run.model, run.inputs, run.targets)
        scores = result.scores.cpu()
        shares = pad_share(scores, run.inputs.attention_mask).tolist()
        faithfulness = [None] * len(run.inputs)
        if self.options.faithfulness:
            settings = FaithfulnessSettings(random_orders=self.options.random_orders, batch_size=run.batch_size,
                                            precision=self.options.precision, on_progress=self.bar.update)
            if run.chance is None:
                run.chance = random_reference(run.model, run.inputs, run.targets, settings)
            faithfulness = measure_faithfulness(run.model, run.inputs, result.scores, run.targets,
                                                attributor.signed, settings, run.chance)
        lengths = run.inputs.lengths()
        return [MethodResult(
            scores=stored(scores[i, : lengths[i]].tolist()), pad_share=shares[i],
            convergence_delta=None if result.convergence_delta is None else float(result.convergence_delta[i]),
            target_logit_change=None if result.logit_change is None else float(result.logit_change[i]),
            faithfulness=faithfulness[i], steps=None if result.steps is None else int(result.steps[i]),
        ) for i in range(len(run.inputs))]

    def towards_common(self, run: _Run, method: str) -> list[list[float]]:
        """Scores for the common class: the main ones where it is the target, else one more attribution."""
        scores = [r.scores for r in run.results[method]]
        others = [i for i in range(len(run.inputs)) if int(run.common[i]) != int(run.targets[i])]
        if others and REGISTRY[method].class_specific:
            subset = run.inputs.select(others)
            extra = self.attributor(run, method).attribute(run.model, subset, run.common[others]).scores.cpu()
            for row, i in enumerate(others):
                scores[i] = stored(extra[row, : len(scores[i])].tolist())
        return scores

    def planned_rows(self, runs: dict[str, _Run]) -> int:
        """Every pass the report needs: each method's own, the faithfulness measures' and the
        common-class attributions (known once both models have predicted)."""
        rows = 0
        for run in runs.values():
            texts, others = len(run.inputs), int((run.common != run.targets).sum())
            for method in self.options.methods:
                attributor = self.attributor(run, method)
                rows += attributor.rows(texts) + (attributor.rows(others) if attributor.class_specific else 0)
            if self.options.faithfulness:
                rows += forward_rows(texts, FaithfulnessSettings(random_orders=self.options.random_orders),
                                     methods=len(self.options.methods))
        return rows


def explain(models: dict[str, LoadedModel], texts: Texts, options: ExplainOptions) -> Report:
    """Explain every text with every model and method; tokens must agree across models to be shown side by side."""
    options.check()
    check_max_length(models, options.max_length)
    class_names = resolve_class_names(texts.class_names, check_class_counts(models))
    several = multi_label(models)
    check_labels(texts.indices, texts.labels, len(class_names))
    encoded = {role: encode(m.tokenizer, texts.texts, options.max_length, m.info.pads_to_max_length, texts.indices,
                            pairs=texts.pairs)
               for role, m in models.items()}
    tokens = {role: encoded[role].tokens(m.tokenizer) for role, m in models.items()}
    first_role = next(iter(models))
    for role in models:
        if tokens[role] != tokens[first_role]:
            raise ReportgenError(f"the {first_role} and {role} models split the texts into different wordpieces; "
                                 "side-by-side reports need models with the same tokenizer (--encoder)")
    runs, texts, rows = _predict(models, encoded, texts, options, class_names, several)
    tokens = {role: [tokens[role][i] for i in rows] for role in tokens}
    encoded = {role: run.inputs for role, run in runs.items()}
    with tqdm(total=0, desc="explain", unit="pass", disable=not options.progress, leave=False) as bar:
        explainer = _Explainer(options, bar)
        bar.total = explainer.planned_rows(runs)
        for role, run in runs.items():
            for method in options.methods:
                bar.set_postfix_str(f"{role}, {method}")
                run.results[method] = explainer.method_results(run, method)
            for method in options.methods:
                run.common_scores[method] = explainer.towards_common(run, method)
    samples = [_sample(i, texts, tokens[first_role][i], encoded[first_role], runs, options.methods)
               for i in range(len(texts.texts))]
    for sample in samples:
        sample.sentence = describe(sample, class_names, options.methods[0])
    return Report(meta=replace(_meta(models, texts, options, class_names), multi_label=several), samples=samples)


def _predict(models: dict[str, LoadedModel], encoded: dict[str, EncodedTexts], texts: Texts,
             options: ExplainOptions, class_names: list[str],
             several: bool) -> tuple[dict[str, _Run], Texts, list[int]]:
    """Both models' verdicts first: the common class of the difference view needs both.

    A multi-label pair of models explains each text once per chosen label (`explained_labels`): the
    runs, texts and rows (the text each run row is) come back with one row per (text, label), and
    both models and the difference view explain that label."""
    verdicts, batch_sizes = {}, {}
    for role, model in models.items():
        batch_sizes[role] = options.batch_size or default_batch_size(model.device)
        logits = predict_logits(model, encoded[role], batch_size=batch_sizes[role], precision=options.precision)
        verdicts[role] = [verdict.cpu() for verdict in model.verdicts(logits)]
    rows = list(range(len(texts.texts)))
    if several:
        per_text = explained_labels(options.target, {role: v[2] for role, v in verdicts.items()},
                                    {role: v[0] for role, v in verdicts.items()}, texts.labels, class_names)
        rows = [i for i, chosen in enumerate(per_text) for _ in chosen]
        explained = torch.tensor([label for chosen in per_text for label in chosen], dtype=torch.long)
        texts = texts.select(rows)
    runs = {}
    for role, model in models.items():
        probabilities, predicted, chosen = (verdict[rows] for verdict in verdicts[role])
        targets = explained if several else predicted  # single-label targets follow once the common class is known
        run = _Run(model, encoded[role].select(rows), probabilities, predicted, targets, predicted.clone(),
                   batch_sizes[role], chosen=chosen if several else None)
        runs[role] = run
    for i, label in enumerate(texts.labels):
        common, _ = _common(i, label, runs)
        for run in runs.values():
            run.common[i] = common
    if not several:
        for run in runs.values():
            run.targets = choose_targets(options.target, run.predicted, texts.labels, class_names, run.common)
    return runs, texts, rows


def _common(i: int, label: int | None, runs: dict[str, _Run]) -> tuple[int, str]:
    """The class both models explain in the difference view: a multi-label sample's own label, else
    `common_class`."""
    run = next(iter(runs.values()))
    if run.chosen is not None:
        return int(run.targets[i]), "the label this sample explains"
    return common_class(label, {role: int(run.predicted[i]) for role, run in runs.items()})


def _sample(i: int, texts: Texts, tokens: list[str], encoded: EncodedTexts, runs: dict[str, _Run],
            methods: tuple[str, ...]) -> SampleResult:
    models = {role: ModelAttribution(probabilities=run.probabilities[i].tolist(), predicted=int(run.predicted[i]),
                                     target=int(run.targets[i]),
                                     methods={m: run.results[m][i] for m in methods},
                                     chosen=None if run.chosen is None else run.chosen[i].nonzero().flatten().tolist())
              for role, run in runs.items()}
    common, reason = _common(i, texts.labels[i], runs)
    raw = {m: {role: run.common_scores[m][i] for role, run in runs.items()} for m in methods}
    diff = {m: stored(difference(raw[m]["base"], raw[m]["finetuned"])) for m in methods} \
        if {"base", "finetuned"} <= set(runs) else {}
    pair = None if texts.pairs is None else texts.pairs[i]
    words = group_words(encoded.word_ids[i], encoded.offsets[i], texts.texts[i], tokens, exact=encoded.words_exact,
                        sequence_ids=encoded.sequence_ids[i], text_pair=pair)
    return SampleResult(
        index=texts.indices[i], label=texts.labels[i], text=texts.texts[i], tokens=tokens,
        truncated=encoded.truncated[i], models=models, text_pair=pair, truncated_segments=encoded.cut_segments[i],
        words=words,
        words_exact=encoded.words_exact,
        difference=Difference(target=common, reason=reason, normalisation="l1", scores=raw, difference=diff)
        if diff else None,
    )


def shareable_name(spec: str | None) -> str | None:
    """A path's last component (a hub id stays whole): reports must not carry local paths."""
    if spec is None:
        return None
    path = Path(spec).expanduser()
    return path.name if path.exists() or spec.startswith((".", "/", "~")) else spec


def encoder_name(spec: str | None) -> str | None:
    """A local encoder by the hub name its config.json records (`_name_or_path`), else its folder's name."""
    if spec is None:
        return None
    path = Path(spec).expanduser()
    if path.is_dir():
        try:
            recorded = json.loads((path / "config.json").read_text(encoding="utf-8")).get("_name_or_path")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if isinstance(recorded, str) and recorded and not recorded.startswith(("/", ".", "~")) \
                and not Path(recorded).is_absolute():
            return recorded
        return path.name
    return shareable_name(spec)


def shareable_info(info: ModelInfo) -> ModelInfo:
    return replace(info, source=shareable_name(info.source) or info.name, encoder=encoder_name(info.encoder))


def _meta(models: dict[str, LoadedModel], texts: Texts, options: ExplainOptions, class_names: list[str]) -> ReportMeta:
    any_model = next(iter(models.values()))
    infos = [m.info for m in models.values()]
    has_path = any(REGISTRY[method].walks_path for method in options.methods)
    auto = has_path and options.adaptive
    sampled = any(REGISTRY[method].samples for method in options.methods)
    return ReportMeta(
        methods=list(options.methods),
        steps=options.steps if has_path else None, quadrature=options.rule if has_path else None,
        tolerance=options.tolerance if auto else None, max_steps=options.max_steps if auto else None,
        target=options.target, device=device_name(any_model.device), max_length=options.max_length,
        class_names=class_names,
        dataset=texts.dataset if options.include_paths else shareable_name(texts.dataset), split=texts.split,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        versions=versions(), models=infos if options.include_paths else [shareable_info(i) for i in infos],
        precision=options.precision, shapley_samples=options.shapley_samples if sampled else None,
        segment_names=None if texts.pairs is None else texts.segment_names or list(PAIR_NAMES),
        faithfulness=FaithfulnessMeta(ks=list(KS), curve_fractions=list(CURVE_FRACTIONS),
                                      random_orders=options.random_orders, seed=0) if options.faithfulness else None,
    )


def versions() -> dict[str, str]:
    import transformers

    return {"reportgen": reportgen.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "python": platform.python_version()}
