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
from reportgen.choices import DEFAULT_METHODS, DEFAULT_TARGET, class_position, role_word
from reportgen.comparison import common_class, difference
from reportgen.errors import ReportgenError
from reportgen.faithfulness import (
    CURVE_FRACTIONS,
    KS,
    FaithfulnessSettings,
    RandomReference,
    flip,
    forward_rows,
    measure_faithfulness,
    random_reference,
)
from reportgen.faithfulness.naopc import BoundSettings, aopc_bounds, normalise_scores
from reportgen.inference import predict_logits
from reportgen.loading.checks import check_labels, multi_label, resolve_class_names
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.labels import GIVEN
from reportgen.loading.models import LoadedModel, check_max_length
from reportgen.loading.true_labels import Written, class_labels
from reportgen.methods import REGISTRY
from reportgen.results import (
    BOUNDS_STAGE,
    FAITHFULNESS_STAGE,
    FLIP_STAGE,
    PREDICTION_STAGE,
    AopcBounds,
    Difference,
    FaithfulnessMeta,
    Flip,
    MethodResult,
    ModelAttribution,
    ModelInfo,
    RandomFlips,
    Report,
    ReportMeta,
    SampleResult,
    Word,
    stored,
)
from reportgen.stopwatch import Stopwatch
from reportgen.words import group_words

TARGETS_HELP = ("common (one class for both models: the true label when known, else the fine-tuned model's "
                "prediction), predicted (each model's own predicted class; multi-label: each predicted label), label "
                "(the true label; multi-label: each of the row's true labels), or a class index or name")
PAIR_NAMES = ["Text A", "Text B"]
"""What a sentence pair's texts are called when their dataset columns do not name them (free text)."""


@dataclass
class ExplainOptions:
    """Everything that decides what a report computes (how it looks is decided when rendering);
    each method's own options (integrated gradients' steps, Shapley samples) are `method_options`."""

    methods: tuple[str, ...] = DEFAULT_METHODS
    method_options: MethodOptions = field(default_factory=MethodOptions)
    target: str = DEFAULT_TARGET
    max_length: int = 512
    batch_size: int | None = None  # None: pick for the device
    precision: str = "fp32"
    faithfulness: bool = True  # also the flip test
    random_orders: int = 3
    naopc: bool = True  # normalised AOPC: the bounds cost 2n + 208 forward rows per text and model (beam)
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
        self.method_options.check()


@dataclass
class Texts:
    """What to explain: texts with their dataset rows and labels, and the class names with where they come from
    (`names_source`: `labels.GIVEN` overrides the models' own names, `labels.DATASET` must agree with them;
    `checks.resolve_class_names`).

    labels: as the data writes them (`true_labels.Written`: a class index or name, a list of them for a
    multi-label data set, None where unknown) until `named` reads them as class indices with the names the
    models' classes resolved to; `label_column` names their column in its errors."""

    texts: list[str]
    indices: list[int | None]
    labels: list[Written]
    class_names: list[str] | None = None
    names_source: str | None = GIVEN
    dataset: str | None = None
    split: str | None = None
    pairs: list[str] | None = None  # sentence pairs: the second text of each (texts holds the first)
    segment_names: list[str] | None = None  # a pair's two texts, e.g. ["Premise", "Hypothesis"]
    label_column: str | None = None

    def named(self, class_names: list[str]) -> Texts:
        """These texts with their labels as class indices (`true_labels.class_label`): a label written as a class
        name read through `class_names`; one that names no class is a one-line error naming the row."""
        return replace(self, labels=class_labels(self.labels, class_names, self.indices, self.label_column))

    def select(self, rows: list[int]) -> Texts:
        """These rows, in this order (a text explained for several labels appears once per label)."""
        return replace(self, texts=[self.texts[i] for i in rows], indices=[self.indices[i] for i in rows],
                       labels=[self.labels[i] for i in rows],
                       pairs=None if self.pairs is None else [self.pairs[i] for i in rows])


def class_index(spec: str, class_names: list[str], option: str, advice: str = "give") -> int:
    """A class given by name (case aside where that is unique: `choices.class_position`) or index, as its index;
    an error naming `option` otherwise."""
    if (position := class_position(spec, class_names)) is not None:
        return position
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
                     labels: list[int | list[int] | None], class_names: list[str],
                     indices: list[int | None] | None = None) -> list[list[int]]:
    """Multi-label models: the labels each text is explained for, in label order.

    `predicted` and `common`: every label either model predicts (probability above 0.5), or a model's most probable
    label where it predicts none; `label`: the row's label, or each of its true labels where it has a list of them
    (a row whose list is empty has none to explain: an error naming it, from `indices`); a class: that label.
    chosen, probabilities: per role, (texts, labels) from `LoadedModel.verdicts`.
    """
    if target == "label":  # a text without a label is refused by choose_targets
        singles = choose_targets(target, torch.zeros(len(labels), dtype=torch.long),
                                 [0 if isinstance(label, list) else label for label in labels], class_names)
        explained = []
        for i, (label, single) in enumerate(zip(labels, singles)):
            if label == []:
                row = f"row {indices[i]}" if indices and indices[i] is not None else f"text {i + 1}"
                raise ReportgenError(f"--target label: {row} has no true label (an empty list), so nothing to "
                                     "explain; use --target predicted, which explains each predicted label")
            explained.append(list(label) if isinstance(label, list) else [int(single)])
        return explained
    if target not in ("common", "predicted"):  # common: both models explain each chosen label anyway
        return [[int(t)] for t in choose_targets(target, torch.zeros(len(labels), dtype=torch.long), labels,
                                                 class_names)]
    picked = torch.zeros_like(next(iter(chosen.values())))
    for role, flags in chosen.items():
        top = torch.nn.functional.one_hot(probabilities[role].argmax(dim=-1), flags.shape[1]).bool()
        picked |= torch.where(flags.any(dim=1, keepdim=True), flags, top)
    return [row.nonzero().flatten().tolist() for row in picked]


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
    random_flips: list[RandomFlips | None] = field(default_factory=list)
    bounds: list[dict[str, AopcBounds]] = field(default_factory=list)
    attributors: dict[str, Attributor] = field(default_factory=dict)  # by method, built once per model
    chosen: torch.Tensor | None = None  # multi-label: (rows, labels) bool, every label the model predicts


class _Explainer:
    """Runs every method for every model, with one progress bar over all the passes."""

    def __init__(self, options: ExplainOptions, bar: tqdm, watch: Stopwatch) -> None:
        self.options = options
        self.bar = bar
        self.watch = watch  # seconds per stage: each method, the faithfulness metrics, flip test, AOPC bounds

    def attributor(self, run: _Run, method: str) -> Attributor:
        if method not in run.attributors:
            settings = AttributionSettings(batch_size=run.batch_size, precision=self.options.precision,
                                           on_progress=self.bar.update, on_planned=self.planned)
            run.attributors[method] = make_attributor(method, settings, self.options.method_options)
        return run.attributors[method]

    def planned(self, rows: int) -> None:
        """Integrated gradients with auto steps learns how many rows a text needs as it goes."""
        self.bar.total += rows
        self.bar.refresh()

    def method_results(self, run: _Run, method: str) -> list[MethodResult]:
        attributor = self.attributor(run, method)
        with self.watch.stage(method):
            result = attributor.attribute(run.model, run.inputs, run.targets)
            scores = result.scores.cpu()
        shares = pad_share(scores, run.inputs.attention_mask).tolist()
        faithfulness = [None] * len(run.inputs)
        if self.options.faithfulness:
            settings = FaithfulnessSettings(random_orders=self.options.random_orders, batch_size=run.batch_size,
                                            precision=self.options.precision, on_progress=self.bar.update)
            with self.watch.stage(FAITHFULNESS_STAGE):
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

    def towards(self, run: _Run, method: str, classes: torch.Tensor, planned: bool = False) -> list[list[float]]:
        """Scores for `classes` (one per text): the report's own where they explain that class (its
        target, or the common class once computed), else one more attribution of those texts, whose
        rows the progress bar learns now unless `planned` (`planned_rows` counted them)."""
        known = [(run.targets, [r.scores for r in run.results[method]])]
        if method in run.common_scores:
            known.append((run.common, run.common_scores[method]))
        scores: list[list[float]] = []
        others = []
        for i in range(len(run.inputs)):
            found = next((s[i] for chosen, s in known if int(chosen[i]) == int(classes[i])), None)
            if found is None:
                others.append(i)
            scores.append(found if found is not None else known[0][1][i])
        if others and REGISTRY[method].class_specific:  # unspecific scores serve every class
            subset, attributor = run.inputs.select(others), self.attributor(run, method)
            if not planned:
                self.planned(attributor.rows(len(others)))
            with self.watch.stage(method):
                extra = attributor.attribute(run.model, subset, classes[others]).scores.cpu()
            for row, i in enumerate(others):
                scores[i] = stored(extra[row, : len(scores[i])].tolist())
        return scores

    def flip_settings(self, run: _Run) -> flip.FlipSettings:
        return flip.FlipSettings(batch_size=run.batch_size, precision=self.options.precision,
                            on_progress=self.bar.update, on_planned=self.planned)

    def flips(self, run: _Run, words: list[list[Word]]) -> None:
        """The flip test of every method's ranking (evidence for the predicted class) and of the
        seeded random word orders, into each `MethodResult.flip` and `run.random_flips`."""
        texts = range(len(run.inputs))
        candidates = [flip.removable_words(words[i], run.inputs.special_tokens_mask[i]) for i in texts]
        lengths = run.inputs.lengths()
        rankings = []
        for method in self.options.methods:
            scores = self.towards(run, method, run.predicted)
            rankings += [flip.word_ranking(words[i], scores[i], candidates[i], REGISTRY[method].signed) for i in texts]
        rankings += [flip.random_word_ranking(run.inputs.input_ids[i], lengths[i], candidates[i], 0, order)
                     for order in range(self.options.random_orders) for i in texts]
        rows = [i for _ in range(len(self.options.methods) + self.options.random_orders) for i in texts]
        with self.watch.stage(FLIP_STAGE):
            found = flip.flip_counts(run.model, run.inputs, words, rankings, rows, [flip.ANY_OTHER] * len(rows),
                                     self.flip_settings(run))
        for m, method in enumerate(self.options.methods):
            for i in texts:
                run.results[method][i].flip = found[m * len(texts) + i]
        randoms = found[len(self.options.methods) * len(texts):]
        run.random_flips = [RandomFlips([randoms[r * len(texts) + i].k for r in range(self.options.random_orders)],
                                        randoms[i].searched) for i in texts]

    def normalise(self, run: _Run) -> None:
        """NAOPC: each text's AOPC bounds for this model, and every method's normalised scores."""
        settings = BoundSettings(ks=KS, batch_size=run.batch_size, precision=self.options.precision,
                                 on_progress=self.bar.update, on_planned=self.planned)
        with self.watch.stage(BOUNDS_STAGE):
            bounds = aopc_bounds(run.model, run.inputs, run.targets, settings)
        run.bounds = [normalise_scores(b, [run.results[m][i].faithfulness for m in self.options.methods])
                      for i, b in enumerate(bounds)]

    def agreement_flips(self, runs: dict[str, _Run], words: list[list[Word]]) -> list[dict[str, Flip]]:
        """Where base and fine-tuned disagree: the fewest words, by the other model's main-method
        evidence for this model's class, whose removal makes this model agree with the other."""
        method = self.options.methods[0]
        flips: list[dict[str, Flip]] = [{} for _ in range(len(words))]
        for role, other in (("base", "finetuned"), ("finetuned", "base")):
            run, ranker = runs[role], runs[other]
            texts = [i for i in range(len(words)) if int(run.predicted[i]) != int(ranker.predicted[i])]
            if not texts:
                continue
            scores = self.towards(ranker, method, run.predicted)
            candidates = {i: flip.removable_words(words[i], run.inputs.special_tokens_mask[i]) for i in texts}
            rankings = [flip.word_ranking(words[i], scores[i], candidates[i], REGISTRY[method].signed) for i in texts]
            with self.watch.stage(FLIP_STAGE):
                found = flip.flip_counts(run.model, run.inputs, words, rankings, texts,
                                         [int(ranker.predicted[i]) for i in texts], self.flip_settings(run))
            for i, found_flip in zip(texts, found):
                flips[i][role] = found_flip
        return flips

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
    class_names = resolve_class_names(models, texts.class_names, texts.names_source)
    texts = texts.named(class_names)
    several = multi_label(models)
    check_labels(texts.indices, texts.labels, len(class_names), several)
    encoded = {role: encode(m.tokenizer, texts.texts, options.max_length, m.info.pads_to_max_length, texts.indices,
                            pairs=texts.pairs)
               for role, m in models.items()}
    tokens = {role: encoded[role].tokens(m.tokenizer) for role, m in models.items()}
    first_role = next(iter(models))
    for role in models:
        if tokens[role] != tokens[first_role]:
            raise ReportgenError(f"the {role_word(first_role)} and {role_word(role)} models split the texts into "
                                 "different wordpieces; side-by-side reports need models with the same tokenizer "
                                 "(--encoder)")
    watch = Stopwatch()
    with watch.stage(PREDICTION_STAGE):
        runs, texts, rows = _predict(models, encoded, texts, options, class_names, several)
    tokens = {role: [tokens[role][i] for i in rows] for role in tokens}
    encoded = {role: run.inputs for role, run in runs.items()}
    with tqdm(total=0, desc="explain", unit="pass", disable=not options.progress, leave=False) as bar:
        explainer = _Explainer(options, bar, watch)
        bar.total = explainer.planned_rows(runs)
        for role, run in runs.items():
            for method in options.methods:
                bar.set_postfix_str(f"{role_word(role)}, {method}")
                run.results[method] = explainer.method_results(run, method)
            for method in options.methods:
                run.common_scores[method] = explainer.towards(run, method, run.common, planned=True)
        first = encoded[first_role]
        words = [group_words(first.word_ids[i], first.offsets[i], text, tokens[first_role][i],
                             exact=first.words_exact, sequence_ids=first.sequence_ids[i],
                             text_pair=None if texts.pairs is None else texts.pairs[i])
                 for i, text in enumerate(texts.texts)]
        agreement: list[dict[str, Flip]] = [{} for _ in texts.texts]
        if options.faithfulness:
            for role, run in runs.items():
                bar.set_postfix_str(f"{role_word(role)}, flip test" + (", normalised AOPC" if options.naopc else ""))
                if not several:  # a multi-label verdict is a set of labels, not one class a removal can flip
                    explainer.flips(run, words)
                if options.naopc:
                    explainer.normalise(run)
            if {"base", "finetuned"} <= set(runs) and not several:
                agreement = explainer.agreement_flips(runs, words)
    samples = [_sample(i, texts, tokens[first_role][i], words[i], encoded[first_role], runs, options.methods,
                       agreement[i], options.target) for i in range(len(texts.texts))]
    seconds = {stage: round(spent, 2) for stage, spent in watch.seconds.items()}
    return Report(meta=replace(_meta(models, texts, options, class_names), multi_label=several, seconds=seconds),
                  samples=samples)


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
                                    {role: v[0] for role, v in verdicts.items()}, texts.labels, class_names,
                                    texts.indices)
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
    if not several:  # --target common explains `common_class`; the others choose their own
        fallback = torch.tensor([common_class(label, {role: int(run.predicted[i]) for role, run in runs.items()})[0]
                                 for i, label in enumerate(texts.labels)], dtype=torch.long)
        for run in runs.values():
            run.targets = choose_targets(options.target, run.predicted, texts.labels, class_names, fallback)
    for i, label in enumerate(texts.labels):
        common, _ = _common(i, label, runs, options.target)
        for run in runs.values():
            run.common[i] = common
    return runs, texts, rows


def _common(i: int, label: int | None, runs: dict[str, _Run], target: str) -> tuple[int, str]:
    """The class both models explain in the difference view, and why: the class every column explains
    where they explain one (a multi-label sample's own label, a class given as `target`, both models'
    prediction with target predicted), else `common_class` (the true label when known, else the
    fine-tuned model's prediction). Call it once the targets are chosen."""
    run = next(iter(runs.values()))
    if run.chosen is not None:
        return int(run.targets[i]), "the label this sample explains"
    explained = {int(run.targets[i]) for run in runs.values()}
    if len(explained) == 1 and target not in ("common", "label"):  # those two explain `common_class` anyway
        return explained.pop(), "the class both models predict" if target == "predicted" else \
            "the class chosen as target"
    return common_class(label, {role: int(run.predicted[i]) for role, run in runs.items()})


def _sample(i: int, texts: Texts, tokens: list[str], words: list[Word], encoded: EncodedTexts,
            runs: dict[str, _Run], methods: tuple[str, ...], agreement: dict[str, Flip], target: str) -> SampleResult:
    models = {role: ModelAttribution(probabilities=run.probabilities[i].tolist(), predicted=int(run.predicted[i]),
                                     target=int(run.targets[i]),
                                     methods={m: run.results[m][i] for m in methods},
                                     random_flips=run.random_flips[i] if run.random_flips else None,
                                     aopc_bounds=run.bounds[i] if run.bounds else {},
                                     chosen=None if run.chosen is None else run.chosen[i].nonzero().flatten().tolist())
              for role, run in runs.items()}
    common, reason = _common(i, texts.labels[i], runs, target)
    raw = {m: {role: run.common_scores[m][i] for role, run in runs.items()} for m in methods}
    diff = {m: stored(difference(raw[m]["base"], raw[m]["finetuned"])) for m in methods} \
        if {"base", "finetuned"} <= set(runs) else {}
    pair = None if texts.pairs is None else texts.pairs[i]
    return SampleResult(
        index=texts.indices[i], label=texts.labels[i], text=texts.texts[i], tokens=tokens,
        truncated=encoded.truncated[i], models=models, text_pair=pair, truncated_segments=encoded.cut_segments[i],
        words=words,
        words_exact=encoded.words_exact,
        difference=Difference(target=common, reason=reason, normalisation="l1", scores=raw, difference=diff)
        if diff else None,
        agreement_flips=agreement,
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
    path, shapley = options.method_options.path, options.method_options.shapley
    auto = has_path and path.adaptive
    sampled = any(REGISTRY[method].samples for method in options.methods)
    return ReportMeta(
        methods=list(options.methods),
        steps=path.steps if has_path else None, quadrature=path.rule if has_path else None,
        tolerance=path.tolerance if auto else None, max_steps=path.max_steps if auto else None,
        target=options.target, device=device_name(any_model.device), max_length=options.max_length,
        class_names=class_names,
        dataset=texts.dataset if options.include_paths else shareable_name(texts.dataset), split=texts.split,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        versions=versions(), models=infos if options.include_paths else [shareable_info(i) for i in infos],
        precision=options.precision, shapley_samples=shapley.samples if sampled else None,
        segment_names=None if texts.pairs is None else texts.segment_names or list(PAIR_NAMES),
        faithfulness=FaithfulnessMeta(ks=list(KS), curve_fractions=list(CURVE_FRACTIONS),
                                      random_orders=options.random_orders, seed=0) if options.faithfulness else None,
    )


def versions() -> dict[str, str]:
    import transformers

    return {"reportgen": reportgen.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "python": platform.python_version()}
