"""A report's data checked before anything is drawn from it: every type, every domain, and the facts
that tie values together.

A report JSON can be edited by hand or written by another program. `reportgen report` never writes
a value of the wrong type, a non-finite number, a probability outside [0, 1], a predicted class that
is not its model's most probable one, single-label probabilities that do not sum to 1, NAOPC bounds
whose lower end lies above the upper, a normalised score outside [0, 1] or apart from its bounds, or
a word outside its text; `check_report_data` makes sure a file that `reportgen render` reads holds
none either, and refuses it in one line that names the sample and the field (a NaN would otherwise
render as a grey column, an impossible number as a confident sentence, the rest as tracebacks).
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Any

from reportgen.choices import AUTO_STEPS, ESTIMATORS, PRECISIONS, QUADRATURES, ROLES
from reportgen.validation.models import check_models
from reportgen.validation.place import ROUNDING, Place
from reportgen.validation.rationale import check_plausibility, check_rationale
from reportgen.validation.typed import check_typed

SCORES = ("comprehensiveness", "sufficiency")  # the faithfulness scores a page shows, each with AOPC bounds
CURVES = ("deletion",)
SEGMENTS = (0, 1)  # a sentence pair's first and second text
NORMALISATIONS = ("l1",)  # how a difference makes two models' scores comparable: shares of Σ|score|


@dataclass
class _Facts:
    """What the meta says that every sample must agree with."""

    methods: list[str]
    classes: int
    multi_label: bool
    ks: int | None  # faithfulness: entries of each by_k; None without faithfulness metrics
    fractions: int | None
    random_orders: int | None


def check_report_data(data: dict[str, Any], report: type) -> None:
    """Refuse report data (schema 5, as a dict) that would not render faithfully: a value whose type is not
    its field's in `report` (the `Report` dataclass: its meta and samples), a non-finite number, a value
    outside its domain (a probability outside [0, 1], a class outside `meta.class_names`, a word outside
    its text, an empty list of samples), or values that contradict each other. The ReportgenError names
    the sample (1-based, and its dataset row) and the field, e.g.
    `sample 2 (row 11): models.base.methods.gradient.scores[4] is NaN`."""
    hints = typing.get_type_hints(report)
    top = Place("the report")
    for key in data:
        if key not in hints:
            raise top.fail(key, "is not a field reportgen writes")
    meta = top.get(data, "meta", "meta")
    place = Place("the report")
    check_typed(place, meta, hints["meta"], "meta")
    facts = _check_meta(place, meta)
    samples = top.get(data, "samples", "samples")
    check_typed(top, samples, list, "samples")
    if not samples:
        raise top.fail("samples", "is empty; a report explains at least one text")
    sample_type = typing.get_args(hints["samples"])[0]
    for number, sample in enumerate(samples, start=1):
        row = sample.get("index") if isinstance(sample, dict) else None
        where = f"sample {number}" + (f" (row {row})" if isinstance(row, int) and not isinstance(row, bool) else "")
        place = Place(where)
        place.mapping(sample, "the sample")
        check_typed(place, sample, sample_type, "")
        _check_sample(place, sample, facts)


def _check_meta(place: Place, meta: dict[str, Any]) -> _Facts:
    methods, classes = meta["methods"], meta["class_names"]
    if not methods:
        raise place.fail("meta.methods", "is empty")
    if len(set(methods)) < len(methods):
        raise place.fail("meta.methods", "names a method twice")
    if not classes:
        raise place.fail("meta.class_names", "is empty")
    check_models(place, meta["models"], "a report")
    if meta["steps"] is not None and meta["steps"] != AUTO_STEPS:
        place.integer(meta["steps"], "meta.steps", least=1, what=f" (or {AUTO_STEPS!r})")
    if meta["quadrature"] is not None:
        place.one_of(meta["quadrature"], "meta.quadrature", QUADRATURES)
    place.integer(meta["max_length"], "meta.max_length", least=2)
    place.one_of(meta.get("precision", PRECISIONS[0]), "meta.precision", PRECISIONS)
    faithfulness = meta.get("faithfulness")
    if faithfulness is not None:
        for key in ("ks", "curve_fractions"):
            if not faithfulness[key]:
                raise place.fail(f"meta.faithfulness.{key}", "is empty")
            place.numbers(faithfulness[key], f"meta.faithfulness.{key}", low=0, high=1)
        place.integer(faithfulness["random_orders"], "meta.faithfulness.random_orders")
    if meta.get("tolerance") is not None and not meta["tolerance"] > 0:
        raise place.fail("meta.tolerance", f"is {meta['tolerance']}; it must be above 0")
    place.integer(meta.get("max_steps"), "meta.max_steps", optional=True, least=1)
    estimator = meta.get("score_error_estimator")
    if estimator is not None:
        place.one_of(estimator, "meta.score_error_estimator", tuple(ESTIMATORS))
        if meta["steps"] != AUTO_STEPS:
            steps = "null" if meta["steps"] is None else repr(meta["steps"])
            raise place.fail("meta.score_error_estimator", f"is {estimator!r}, but meta.steps is {steps}; only "
                                                           "--steps auto estimates score errors")
    place.integer(meta.get("shapley_samples"), "meta.shapley_samples", optional=True, least=1)
    place.integer(meta.get("surrogate_samples"), "meta.surrogate_samples", optional=True, least=2)
    names = meta.get("segment_names")
    if names is not None:
        place.items(names, "meta.segment_names", len(SEGMENTS), "a sentence pair")
    for stage, spent in (meta.get("seconds") or {}).items():
        place.number(spent, f"meta.seconds.{stage}", low=0)
    return _Facts(methods, len(classes), meta.get("multi_label", False),
                  len(faithfulness["ks"]) if faithfulness else None,
                  len(faithfulness["curve_fractions"]) if faithfulness else None,
                  faithfulness["random_orders"] if faithfulness else None)


def _class(place: Place, value: Any, field: str, facts: _Facts, optional: bool = False) -> None:
    place.integer(value, field, facts.classes, optional=optional,
                  what=f" ({facts.classes} classes in meta.class_names)")


def _check_sample(place: Place, sample: dict[str, Any], facts: _Facts) -> None:
    place.integer(sample["index"], "index", optional=True)
    label = sample["label"]
    if isinstance(label, list):  # a multi-label row's true labels
        if not facts.multi_label:
            raise place.fail("label", f"is {label}, a list of true labels, but a single-label report has one "
                                      "class per text (meta.multi_label is false)")
        for position, one in enumerate(label):
            _class(place, one, f"label[{position}]", facts)
    else:
        _class(place, label, "label", facts, optional=True)
    pair, cut = sample.get("text_pair"), sample.get("truncated_segments", [])
    if cut and pair is None:
        raise place.fail("truncated_segments", f"is {cut}, but the sample has no text_pair; a single text's "
                                               "truncated says whether it was cut")
    for position, segment in enumerate(cut):
        place.one_of(segment, f"truncated_segments[{position}]", SEGMENTS)
    if len(set(cut)) < len(cut):
        raise place.fail("truncated_segments", "names a text twice")
    if cut and not sample["truncated"]:
        raise place.fail("truncated_segments", f"is {cut}, but truncated is false")
    words = sample.get("words", [])
    _check_words(place, words, sample["text"], pair, len(sample["tokens"]))
    check_rationale(place, sample)
    models = place.get(sample, "models", "models")
    for role in models:
        if role not in ROLES:
            raise place.fail(f"models.{role}", f"is not a role; a sample has the models {', '.join(ROLES)}")
    for role in ROLES:
        _check_model(place, place.get(models, role, f"models.{role}"), f"models.{role}", facts, sample)
    flips = sample.get("agreement_flips", {})
    for role, flip in flips.items():
        if role not in ROLES:
            raise place.fail(f"agreement_flips.{role}", f"is not a role ({', '.join(ROLES)})")
        _check_flip(place, flip, f"agreement_flips.{role}", facts, words, agreement=True)
    if sample.get("difference") is not None:
        _check_difference(place, sample["difference"], facts, len(sample["tokens"]))


def _check_words(place: Place, words: list[dict[str, Any]], text: str, pair: str | None, tokens: int) -> None:
    """Each word a span of its own text (`text`, or the pair's second text for segment 1) and a run of
    tokens; together, in order, the words cover every token once."""
    covered = 0
    for position, word in enumerate(words):
        field = f"words[{position}]"
        segment = word.get("segment", 0)
        place.one_of(segment, f"{field}.segment", SEGMENTS)
        if segment == 1 and pair is None:
            raise place.fail(f"{field}.segment", "is 1, a word of the second text, but the sample has no text_pair")
        source, name = (text, "text") if segment == 0 else (pair or "", "text_pair")
        start, end = word["start"], word["end"]
        if (start is None) != (end is None):
            raise place.fail(field, "has one of start and end; a word has both character offsets or neither")
        if start is not None:
            place.integer(start, f"{field}.start", len(source) + 1, what=f" ({name} has {len(source)} characters)")
            place.integer(end, f"{field}.end", len(source) + 1, what=f" ({name} has {len(source)} characters)")
            if end <= start:
                raise place.fail(field, f"ends (character {end}) where or before it starts ({start})")
            if source[start:end] != word["text"]:
                raise place.fail(f"{field}.text", f"is {word['text']!r} but {name}[{start}:{end}] is "
                                                  f"{source[start:end]!r}")
        first, last = word["first_token"], word["last_token"]
        place.integer(first, f"{field}.first_token", tokens, what=f" (the sample has {tokens} tokens)")
        place.integer(last, f"{field}.last_token", tokens + 1, what=f" (the sample has {tokens} tokens)")
        if last <= first:
            raise place.fail(field, f"has no tokens (first_token {first}, last_token {last})")
        if first != covered:
            raise place.fail(f"{field}.first_token", f"is {first} but the words before it end at token {covered}; "
                                                     "the words cover every token once, in order")
        covered = last
    if words and covered != tokens:
        raise place.fail("words", f"end at token {covered} but the sample has {tokens} tokens")


def _check_probabilities(place: Place, probabilities: list[float], field: str, facts: _Facts,
                         predicted: int | None = None, predicted_field: str = "") -> None:
    """Probabilities of every class: in [0, 1]; a softmax's sum to 1 (a multi-label model's sigmoids are
    independent); `predicted` (when given) is the most probable class."""
    place.numbers(probabilities, field, facts.classes, "meta.class_names", low=0, high=1)
    if not facts.multi_label:
        total = math.fsum(probabilities)
        if abs(total - 1) > 4 * ROUNDING * (len(probabilities) + 1):
            raise place.fail(field, f"sums to {total:.8g}; a softmax's probabilities sum to 1")
    if predicted is not None:
        top = max(range(len(probabilities)), key=lambda c: probabilities[c])
        if probabilities[predicted] < probabilities[top] - 2 * ROUNDING:
            raise place.fail(predicted_field, f"is {predicted}, but class {top} is more probable "
                                              f"({probabilities[top]:.4g} > {probabilities[predicted]:.4g} in "
                                              f"{field}); the predicted class is the most probable one")


def _check_model(place: Place, model: dict[str, Any], field: str, facts: _Facts, sample: dict[str, Any]) -> None:
    tokens, words = len(sample["tokens"]), sample.get("words", [])
    probabilities = model["probabilities"]
    _class(place, model["predicted"], f"{field}.predicted", facts)
    _class(place, model["target"], f"{field}.target", facts)
    _check_probabilities(place, probabilities, f"{field}.probabilities", facts, model["predicted"],
                         f"{field}.predicted")
    _check_chosen(place, model.get("chosen"), f"{field}.chosen", facts, probabilities)
    results = place.get(model, "methods", f"{field}.methods")
    for method in results:
        if method not in facts.methods:
            raise place.fail(f"{field}.methods.{method}", "is not one of meta.methods")
    bounds = model.get("aopc_bounds", {})
    for measure, bound in bounds.items():
        where = f"{field}.aopc_bounds.{measure}"
        if measure not in SCORES:
            raise place.fail(where, f"is not a faithfulness score ({', '.join(SCORES)})")
        if bound["lower"] > bound["upper"]:
            raise place.fail(where, f"has lower {bound['lower']} above upper {bound['upper']}")
        place.integer(bound["rows"], f"{where}.rows")
    for method in facts.methods:
        name = f"{field}.methods.{method}"
        result = place.get(results, method, name)
        place.items(result["scores"], f"{name}.scores", tokens, "tokens")
        place.number(result["pad_share"], f"{name}.pad_share", low=0, high=1)
        if (result.get("convergence_delta") is None) != (result.get("target_logit_change") is None):
            raise place.fail(name, "has only one of convergence_delta and target_logit_change; a delta is "
                                   "measured against the logit change it explains")
        place.integer(result.get("steps"), f"{name}.steps", optional=True, least=1)
        place.number(result.get("score_error"), f"{name}.score_error", optional=True, low=0)
        place.number(result.get("surrogate_fit"), f"{name}.surrogate_fit", optional=True, high=1, slack=1e-6)
        if result.get("score_error") is not None and result.get("converged") is None:
            raise place.fail(name, "has a score_error but no converged; both come from the same refinement")
        if result.get("faithfulness") is not None:
            _check_faithfulness(place, result["faithfulness"], f"{name}.faithfulness", facts, bounds, field)
        if result.get("flip") is not None:
            _check_flip(place, result["flip"], f"{name}.flip", facts, words, probabilities=probabilities)
        check_plausibility(place, result.get("plausibility"), f"{name}.plausibility", sample)
    chance = model.get("random_flips")
    if chance is not None:
        where = f"{field}.random_flips"
        if facts.multi_label:
            raise place.fail(where, "is set, but a multi-label report has no flip test (meta.multi_label)")
        if facts.random_orders is not None:
            place.items(chance["ks"], f"{where}.ks", facts.random_orders, "meta.faithfulness.random_orders")
        _searched(place, chance["searched"], f"{where}.searched", words)
        for position, k in enumerate(chance["ks"]):
            place.integer(k, f"{where}.ks[{position}]", chance["searched"] + 1, optional=True, least=1,
                          what=f" (searched {chance['searched']} words)")


def _check_chosen(place: Place, chosen: list[int] | None, field: str, facts: _Facts,
                  probabilities: list[float]) -> None:
    """A multi-label model's predicted labels: exactly those above 0.5; a single-label model has none."""
    if not facts.multi_label:
        if chosen is not None:
            raise place.fail(field, "is set, but a single-label model predicts one class (meta.multi_label is false)")
        return
    if chosen is None:
        raise place.fail(field, "is missing; a multi-label model's predicted labels are listed (meta.multi_label)")
    for position, label in enumerate(chosen):
        _class(place, label, f"{field}[{position}]", facts)
    above = [c for c, p in enumerate(probabilities) if p > 0.5]
    if sorted(set(chosen)) != chosen or any(abs(probabilities[c] - 0.5) > ROUNDING
                                            for c in set(chosen) ^ set(above)):
        raise place.fail(field, f"is {chosen}, but the labels above 0.5 are {above}")


def _check_faithfulness(place: Place, metrics: dict[str, Any], field: str, facts: _Facts,
                        bounds: dict[str, dict[str, Any]], model: str) -> None:
    """Named scores {value, random, by_k, random_by_k, normalised, random_normalised} and curves {values,
    random}. `value` is the mean of `by_k`; a normalised score (NAOPC) is (value − lower) / (upper − lower)
    with the model's `aopc_bounds` of the measure, in [0, 1]: the bounds are widened to every ordering
    measured (`faithfulness.naopc.widen`)."""
    scores, curves = metrics["scores"], metrics["curves"]
    for name in SCORES:
        place.get(scores, name, f"{field}.scores.{name}")
    for name in CURVES:
        place.get(curves, name, f"{field}.curves.{name}")
    for name, score in scores.items():
        where = f"{field}.scores.{name}"
        for key, by_k in (("value", "by_k"), ("random", "random_by_k")):
            place.items(score[by_k], f"{where}.{by_k}", facts.ks, "meta.faithfulness.ks")
            if score[by_k]:
                mean = math.fsum(score[by_k]) / len(score[by_k])
                if abs(score[key] - mean) > 4 * ROUNDING * max(map(abs, score[by_k])):
                    raise place.fail(f"{where}.{key}", f"is {score[key]}, but the mean of {by_k} is {mean:.8g}")
        for key, raw in (("normalised", "value"), ("random_normalised", "random")):
            if score.get(key) is not None:
                _check_normalised(place, score[key], score[raw], bounds.get(name), f"{where}.{key}",
                                  f"{model}.aopc_bounds.{name}")
    for name, curve in curves.items():
        for key in ("values", "random"):
            place.numbers(curve[key], f"{field}.curves.{name}.{key}", facts.fractions,
                          "meta.faithfulness.curve_fractions", low=0, high=1, slack=ROUNDING)
    place.number(metrics.get("probability"), f"{field}.probability", optional=True, low=0, high=1)


def _check_normalised(place: Place, normalised: float, value: float, bounds: dict[str, Any] | None, field: str,
                      bounds_field: str) -> None:
    if bounds is None:
        raise place.fail(field, f"is {normalised}, but {bounds_field} is missing: NAOPC needs the bounds")
    lower, upper = bounds["lower"], bounds["upper"]
    span = upper - lower
    if span <= 0:
        raise place.fail(field, f"is {normalised}, but {bounds_field} span nothing (lower {lower}, upper {upper})")
    slack = 4 * ROUNDING * (1 + max(abs(value), abs(lower), abs(upper)) / span)
    place.number(normalised, field, low=0, high=1, slack=slack)
    expected = (value - lower) / span
    if abs(normalised - expected) > slack:
        raise place.fail(field, f"is {normalised}, but (AOPC − lower) / (upper − lower) is {expected:.8g} with "
                                f"{bounds_field}")


def _searched(place: Place, searched: int, field: str, words: list[dict[str, Any]]) -> None:
    place.integer(searched, field, len(words) + 1, what=f" (the sample has {len(words)} words)")


def _check_flip(place: Place, flip: dict[str, Any], field: str, facts: _Facts, words: list[dict[str, Any]],
                probabilities: list[float] | None = None, agreement: bool = False) -> None:
    """The flip test of one ranking (`results.Flip`): the first k words of the ranking (all `searched`
    when it does not flip), their spelling, and the verdict before and after removing them."""
    if facts.multi_label:
        raise place.fail(field, "is set, but a multi-label report has no flip test (meta.multi_label)")
    searched, k, removed = flip["searched"], flip["k"], flip["words"]
    _searched(place, searched, f"{field}.searched", words)
    place.integer(k, f"{field}.k", searched + 1, optional=True, least=1, what=f" (searched {searched} words)")
    place.items(removed, f"{field}.words", searched if k is None else k, f"{field}.k" if k is not None
                else f"{field}.searched")
    for position, word in enumerate(removed):
        place.integer(word, f"{field}.words[{position}]", len(words), what=f" (the sample has {len(words)} words)")
    if len(set(removed)) < len(removed):
        raise place.fail(f"{field}.words", "names a word twice")
    texts = place.items(flip["texts"], f"{field}.texts", len(removed), f"{field}.words")
    for position, (word, text) in enumerate(zip(removed, texts)):
        if text != words[word]["text"]:
            raise place.fail(f"{field}.texts[{position}]", f"is {text!r}, but word {word} is {words[word]['text']!r}")
    before = flip["probabilities_before"]
    _check_probabilities(place, before, f"{field}.probabilities_before", facts)
    _class(place, flip["predicted_after"], f"{field}.predicted_after", facts)
    _check_probabilities(place, flip["probabilities_after"], f"{field}.probabilities_after", facts,
                         flip["predicted_after"], f"{field}.predicted_after")
    if k is not None and not agreement and before[flip["predicted_after"]] >= max(before) - 2 * ROUNDING:
        raise place.fail(f"{field}.k", f"is {k}, but predicted_after {flip['predicted_after']} is the class the "
                                       "model gave the whole text: nothing flipped")


def _check_difference(place: Place, difference: dict[str, Any], facts: _Facts, tokens: int) -> None:
    """Both models' scores toward one common class, per method, and fine-tuned − base."""
    _class(place, difference["target"], "difference.target", facts)
    place.one_of(difference["normalisation"], "difference.normalisation", NORMALISATIONS)
    for key in ("scores", "difference"):
        for method in difference[key]:
            if method not in facts.methods:
                raise place.fail(f"difference.{key}.{method}", "is not one of meta.methods")
    for method in facts.methods:
        roles = place.get(difference["scores"], method, f"difference.scores.{method}")
        for role in ROLES:
            scores = place.get(roles, role, f"difference.scores.{method}.{role}")
            place.items(scores, f"difference.scores.{method}.{role}", tokens, "tokens")
        values = place.get(difference["difference"], method, f"difference.difference.{method}")
        place.items(values, f"difference.difference.{method}", tokens, "tokens")
        moved = math.fsum(map(abs, values))
        if moved > 2 * (1 + 4 * ROUNDING):
            raise place.fail(f"difference.difference.{method}", f"moves {moved:.8g} of the say in all; a difference "
                                                                 "of two models' shares moves at most 2")
