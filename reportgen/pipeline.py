"""From loaded models and texts to a `Report`: predict, choose targets, attribute, measure, package.

This is the one code path behind `reportgen report`, `reportgen demo` and `reportgen.explain`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import torch

from reportgen.attribution import MethodOptions
from reportgen.batching import default_batch_size
from reportgen.choices import ESTIMATOR, role_word
from reportgen.comparison import common_class, difference
from reportgen.errors import OptionError, ReportgenError
from reportgen.explainer import Explainer, ExplainOptions, Run
from reportgen.faithfulness import CURVE_FRACTIONS, KS
from reportgen.inference import predict_logits
from reportgen.loading.checks import check_labels, multi_label, resolve_class_names
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.labels import GIVEN
from reportgen.loading.models import LoadedModel, check_max_length
from reportgen.loading.true_labels import Written, class_labels
from reportgen.methods import REGISTRY
from reportgen.plausibility import Span, cut_share, marks, plausibility, rationale_spans
from reportgen.progress import Progress
from reportgen.provenance import device_name, shareable_info, shareable_name, versions
from reportgen.results import (
    PREDICTION_STAGE,
    Difference,
    FaithfulnessMeta,
    Flip,
    ModelAttribution,
    Plausibility,
    Report,
    ReportMeta,
    SampleResult,
    Word,
    stored,
)
from reportgen.stopwatch import Stopwatch
from reportgen.targets import choose_targets, explained_labels
from reportgen.words import group_words

__all__ = ["ExplainOptions", "MethodOptions", "Texts", "check_rationales", "explain"]

PAIR_NAMES = ["Text A", "Text B"]
"""What a sentence pair's texts are called when their dataset columns do not name them (free text)."""


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
    rationales: list[Any] | None = None  # human rationales as given, one per text (`plausibility.rationale_spans`)

    def named(self, class_names: list[str]) -> Texts:
        """These texts with their labels as class indices (`true_labels.class_label`): a label written as a class
        name read through `class_names`; one that names no class is a one-line error naming the row."""
        return replace(self, labels=class_labels(self.labels, class_names, self.indices, self.label_column))

    def select(self, rows: list[int]) -> Texts:
        """These rows, in this order (a text explained for several labels appears once per label)."""
        return replace(self, texts=[self.texts[i] for i in rows], indices=[self.indices[i] for i in rows],
                       labels=[self.labels[i] for i in rows],
                       pairs=None if self.pairs is None else [self.pairs[i] for i in rows],
                       rationales=None if self.rationales is None else [self.rationales[i] for i in rows])



def explain(models: dict[str, LoadedModel], texts: Texts, options: ExplainOptions) -> Report:
    """Explain every text with every model and method; tokens must agree across models to be shown side by side."""
    options.check()
    check_max_length(models, options.max_length)
    class_names = resolve_class_names(models, texts.class_names, texts.names_source)
    texts = texts.named(class_names)
    several = multi_label(models)
    check_labels(texts.indices, texts.labels, len(class_names), several)
    spans = _rationale_spans(texts, several)
    encoded = {role: encode(m.tokenizer, texts.texts, options.max_length, m.info.pads_to_max_length, texts.indices,
                            pairs=texts.pairs)
               for role, m in models.items()}
    tokens = {role: encoded[role].tokens(m.tokenizer) for role, m in models.items()}
    first_role = next(iter(models))
    for role in models:
        if tokens[role] != tokens[first_role]:
            raise OptionError(f"the {role_word(first_role)} and {role_word(role)} models split the texts into "
                              "different wordpieces; side-by-side reports need models with the same tokenizer "
                              "({encoder})", "encoder")
    watch = Stopwatch()
    with watch.stage(PREDICTION_STAGE):
        runs, texts, rows = _predict(models, encoded, texts, options, class_names, several)
    tokens = {role: [tokens[role][i] for i in rows] for role in tokens}
    encoded = {role: run.inputs for role, run in runs.items()}
    explainer = Explainer(options, Progress(enabled=options.progress), watch)
    for role, run in runs.items():
        run.name = role_word(role)
        for method in options.methods:
            run.results[method] = explainer.method_results(run, method)
        for method in options.methods:
            run.common_scores[method] = explainer.towards(run, method, run.common)
    first = encoded[first_role]
    words = [group_words(first.word_ids[i], first.offsets[i], text, tokens[first_role][i],
                         exact=first.words_exact, sequence_ids=first.sequence_ids[i],
                         text_pair=None if texts.pairs is None else texts.pairs[i])
             for i, text in enumerate(texts.texts)]
    agreement: list[dict[str, Flip]] = [{} for _ in texts.texts]
    if options.faithfulness:
        for run in runs.values():
            if options.flip_test and not several:  # a multi-label verdict is a set of labels, not one class a
                explainer.flips(run, words)          # removal can flip
            if options.naopc:
                explainer.normalise(run)
        if options.flip_test and {"base", "finetuned"} <= set(runs) and not several:
            agreement = explainer.agreement_flips(runs, words)
    plausible = _plausibility(explainer, runs, texts, spans, first, words, options.methods)
    samples = [_sample(i, texts, tokens[first_role][i], words[i], encoded[first_role], runs, options.methods,
                       agreement[i], options.target, plausible[i], None if spans is None else spans[i])
               for i in range(len(texts.texts))]
    seconds = {stage: round(spent, 2) for stage, spent in watch.seconds.items()}
    return Report(meta=replace(_meta(models, texts, options, class_names), multi_label=several, seconds=seconds),
                  samples=samples)


def _predict(models: dict[str, LoadedModel], encoded: dict[str, EncodedTexts], texts: Texts,
             options: ExplainOptions, class_names: list[str],
             several: bool) -> tuple[dict[str, Run], Texts, list[int]]:
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
        run = Run(model, encoded[role].select(rows), probabilities, predicted, targets, predicted.clone(),
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


def _common(i: int, label: int | None, runs: dict[str, Run], target: str) -> tuple[int, str]:
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


def check_rationales(texts: Texts) -> None:
    """The texts' rationales checked (`plausibility.rationale_spans`) before any model loads: a one-line
    ReportgenError naming the first malformed one, or one whose text has no true label."""
    _rationale_spans(texts, several=False)


def _rationale_spans(texts: Texts, several: bool) -> list[list[Span] | None] | None:
    """Each text's human rationale as checked character spans (None: none given), before any work; None without
    rationales. A rationale is one line of error where malformed, for a multi-label model or a sentence pair
    (not read), or where its text has no true label (plausibility is scored on evidence for it)."""
    if texts.rationales is None:
        return None
    if several:
        raise ReportgenError("rationales are read for single-label models only (a rationale supports one label); "
                             "leave them out for a multi-label model")
    if texts.pairs is not None:
        raise ReportgenError("rationales mark one text, so sentence pairs' are not read; leave them out")
    spans = []
    for i, (value, text, label) in enumerate(zip(texts.rationales, texts.texts, texts.labels)):
        where = f"row {texts.indices[i]}" if texts.indices[i] is not None else f"text {i + 1}"
        found = rationale_spans(value, text, where)
        if found and label is None:
            raise ReportgenError(f"{where} has a rationale but no true label; plausibility is scored on evidence for "
                                 "the label the rationale supports: give the labels (a label column, or labels=)")
        spans.append(found)
    return spans


def _plausibility(explainer: Explainer, runs: dict[str, Run], texts: Texts, spans: list[list[Span] | None] | None,
                  encoded: EncodedTexts, words: list[list[Word]],
                  methods: tuple[str, ...]) -> list[dict[str, dict[str, Plausibility | None]]]:
    """Per text, role and method: the plausibility of the scores for the true label against the text's rationale
    (`plausibility.plausibility`; None without one). Scores for the label are the report's own where a column
    or the difference view explains it, else one more attribution (`Explainer.towards`)."""
    if spans is None:
        return [{} for _ in texts.texts]
    found = [None if not one else marks(one, encoded.offsets[i], encoded.word_ids[i], words[i], encoded.truncated[i])
             for i, one in enumerate(spans)]
    result: list[dict[str, dict[str, Plausibility | None]]] = [{role: {} for role in runs} for _ in texts.texts]
    for role, run in runs.items():
        classes = torch.tensor([label if found[i] is not None else int(run.targets[i])
                                for i, label in enumerate(texts.labels)], dtype=torch.long)
        for method in methods:
            scores = explainer.towards(run, method, classes)
            for i, mark in enumerate(found):
                result[i][role][method] = None if mark is None else plausibility(scores[i], REGISTRY[method].signed,
                                                                                  mark, words[i])
    return result


def _sample(i: int, texts: Texts, tokens: list[str], words: list[Word], encoded: EncodedTexts,
            runs: dict[str, Run], methods: tuple[str, ...], agreement: dict[str, Flip], target: str,
            plausible: dict[str, dict[str, Plausibility | None]], spans: list[Span] | None) -> SampleResult:
    models = {role: ModelAttribution(probabilities=run.probabilities[i].tolist(), predicted=int(run.predicted[i]),
                                     target=int(run.targets[i]),
                                     methods={m: replace(run.results[m][i],
                                                         plausibility=plausible.get(role, {}).get(m))
                                              for m in methods},
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
        rationale=None if spans is None else [list(span) for span in spans],
        rationale_cut=None if not spans else cut_share(spans, encoded.offsets[i], encoded.word_ids[i],
                                                       encoded.truncated[i]),
    )


def _meta(models: dict[str, LoadedModel], texts: Texts, options: ExplainOptions, class_names: list[str]) -> ReportMeta:
    any_model = next(iter(models.values()))
    infos = [m.info for m in models.values()]
    has_path = any(REGISTRY[method].walks_path for method in options.methods)
    path, shapley = options.method_options.path, options.method_options.shapley
    auto = has_path and path.adaptive
    sampled = any(REGISTRY[method].samples for method in options.methods)
    fitted = any(REGISTRY[method].surrogate for method in options.methods)
    return ReportMeta(
        methods=list(options.methods),
        steps=path.steps if has_path else None, quadrature=path.rule if has_path else None,
        tolerance=path.tolerance if auto else None, max_steps=path.max_steps if auto else None,
        score_error_estimator=ESTIMATOR.name if auto else None,
        target=options.target, device=device_name(any_model.device), max_length=options.max_length,
        class_names=class_names,
        dataset=texts.dataset if options.include_paths else shareable_name(texts.dataset), split=texts.split,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        versions=versions(), models=infos if options.include_paths else [shareable_info(i) for i in infos],
        precision=options.precision, shapley_samples=shapley.samples if sampled else None,
        surrogate_samples=options.method_options.surrogate.samples if fitted else None,
        segment_names=None if texts.pairs is None else texts.segment_names or list(PAIR_NAMES),
        faithfulness=FaithfulnessMeta(ks=list(KS), curve_fractions=list(CURVE_FRACTIONS),
                                      random_orders=options.random_orders, seed=0) if options.faithfulness else None,
    )

