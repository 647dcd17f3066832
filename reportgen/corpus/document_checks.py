"""A corpus JSON checked before its page is drawn: every type, every domain, and the facts that tie its
values together, so a damaged or hand-edited file is refused in one line that names the field.

The document is `corpus_document`'s: the facts (`CorpusFacts`, "meta") and the aggregates
(`Aggregates.to_dict`). `check_typed` checks every field against those dataclasses (`_Document` spells
out the parts that are not a dataclass: the groups, an interval written null where no replicate could
estimate it, the accuracies written beside the outcome counts); the checks here add what a type cannot
say — counts that add up, a word's interval in order, a listed word among its group's words, an
example of the word it is filed under, seconds that fit inside the whole run.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

from reportgen.choices import AUTO_STEPS, ESTIMATORS, PRECISIONS, QUADRATURES, ROLES
from reportgen.corpus.facts import CorpusFacts
from reportgen.corpus.format import CORPUS_AGGREGATES_FORMAT
from reportgen.corpus.plausibility import PlausibilityStats
from reportgen.corpus.statistics import CONFIDENCE, GROUPS, AggregateOptions, Estimate, Example, WordStats
from reportgen.methods import REGISTRY
from reportgen.scan.selection import Outcomes
from reportgen.validation import ROUNDING, Place, check_typed
from reportgen.validation.models import check_models

ADVICE = "correct it, or run `reportgen corpus` again to write it (it resumes from --scores)"
CELLS = {"both-right": "both_right", "both-wrong": "both_wrong", "base-wrong": "base_wrong_finetuned_right",
         "finetuned-wrong": "base_right_finetuned_wrong"}
"""Each outcome group (`statistics.GROUPS`, but "all") and the `Outcomes` count of its rows."""
LEADS = ("", " ")  # what comes before a snippet's word: a space, or nothing where it touches the word before


class _StoredEstimate(TypedDict):
    """An `Estimate` as the JSON holds it: an interval no bootstrap replicate could estimate is null."""

    mean: float
    low: float | None
    high: float | None


class _Accuracy(TypedDict):
    base: float | None
    finetuned: float | None


class _Group(TypedDict):
    """A `GroupStats` as `Aggregates.to_dict` writes it: the listed words by name."""

    title: str
    rows: int
    words: list[WordStats]
    more: list[str]
    less: list[str]


class _Plausible(TypedDict, total=False):
    plausibility: PlausibilityStats  # with --rationale-column only (older files and runs without have none)


class _Document(_Plausible):
    format: str
    version: int
    meta: CorpusFacts
    rows: int
    outcomes: Outcomes | None
    options: AggregateOptions
    confidence: float
    groups: dict[str, _Group]
    examples: dict[str, list[Example]]


def _estimate(place: Place, value: Any, field: str) -> None:
    check_typed(place, value, _StoredEstimate, field)


def _outcomes(place: Place, value: Any, field: str) -> None:
    """The outcome counts, with the accuracies `Outcomes.to_dict` writes beside them."""
    place.mapping(value, field)
    check_typed(place, place.get(value, "accuracy", f"{field}.accuracy"), _Accuracy, f"{field}.accuracy")
    check_typed(place, {key: part for key, part in value.items() if key != "accuracy"}, Outcomes, field)


def check_corpus_document(data: dict[str, Any]) -> None:
    """Refuse (ReportgenError, one line: `this corpus file: <field> …`) a corpus document whose fields are not
    of their types, not finite, outside their domains, or at odds with each other."""
    place = Place("this corpus file", ADVICE)
    check_typed(place, data, _Document, "", custom={Estimate: _estimate, Outcomes: _outcomes},
                complete=(AggregateOptions,))  # the settings the page states: a default would be a guess
    place.one_of(data["format"], "format", (CORPUS_AGGREGATES_FORMAT,))
    meta, rows = data["meta"], data["rows"]
    place.integer(rows, "rows", least=1)
    classes = len(meta["class_names"])
    _check_facts(place, meta, rows)
    options = data["options"]
    for key, least in (("min_count", 1), ("bootstrap", 10), ("top_words", 1), ("examples", 0)):
        place.integer(options[key], f"options.{key}", least=least)
    if abs(data["confidence"] - CONFIDENCE) > ROUNDING:
        raise place.fail("confidence", f"is {data['confidence']}; this reportgen draws {CONFIDENCE:g} intervals")
    outcomes = data["outcomes"]
    if outcomes is not None:
        _check_outcomes(place, outcomes, rows)
    elif meta["target_class"] is None:
        raise place.fail("outcomes", "is null, but every row has a label (meta.target_class is null: each row is "
                                     "explained toward its true label)")
    _check_groups(place, data["groups"], outcomes, rows, options)
    if "plausibility" in data:
        _check_plausibility(place, data["plausibility"], rows)
    _check_examples(place, data["examples"], data["groups"]["all"], options, classes, meta["target_class"])


def _check_plausibility(place: Place, stats: dict[str, Any], rows: int) -> None:
    """Rows within the corpus's; means of each model in [0, 1], a difference in [−1, 1]; each interval in order."""
    place.integer(stats["rows"], "plausibility.rows", rows + 1, least=1, what=f" (the corpus has {rows} rows)")
    place.number(stats["cut"], "plausibility.cut", low=0, high=1, slack=ROUNDING)
    parts = [("plausibility.random", stats["random"], 0.0)] + [
        (f"plausibility.measures.{name}.{part}", estimate, -1.0 if part == "difference" else 0.0)
        for name, measure in stats["measures"].items() for part, estimate in measure.items()]
    for field, estimate, low in parts:
        place.number(estimate["mean"], f"{field}.mean", low=low, high=1, slack=ROUNDING)
        if estimate["low"] is not None and estimate["high"] is not None and estimate["low"] > estimate["high"]:
            raise place.fail(field, f"has its interval the wrong way round ([{estimate['low']}, {estimate['high']}])")


def _check_facts(place: Place, meta: dict[str, Any], rows: int) -> None:
    check_models(place, meta["models"], "a corpus")
    classes = len(meta["class_names"])
    if not classes:
        raise place.fail("meta.class_names", "is empty")
    place.integer(meta["target_class"], "meta.target_class", classes, optional=True,
                  what=f" ({classes} classes in meta.class_names)")
    _check_path(place, meta["path"], meta["method"])
    _check_convergence(place, meta, rows)
    _check_fit(place, meta, rows)
    place.integer(meta["max_length"], "meta.max_length", least=2)
    place.one_of(meta["precision"], "meta.precision", PRECISIONS)
    place.integer(meta["world_size"], "meta.world_size", least=1)
    place.number(meta["seconds"], "meta.seconds", low=0)
    place.number(meta["attribution_seconds"], "meta.attribution_seconds", low=0, high=meta["seconds"],
                 slack=ROUNDING * meta["seconds"])
    for key in ("computed", "reused"):
        place.integer(meta[key], f"meta.{key}")
    if meta["computed"] + meta["reused"] != rows:
        raise place.fail("meta.computed", f"is {meta['computed']} and meta.reused {meta['reused']}, but the corpus "
                                          f"has {rows} rows; each row was computed or reused")


def _check_path(place: Place, path: dict[str, Any], method: str) -> None:
    """The method's own settings (`CorpusOptions.path_settings`): Shapley sampling's orders, integrated
    gradients' steps and quadrature (with the tolerance, cap and score errors' estimator of automatic steps; files
    from before the estimator was named have none), or nothing."""
    info = REGISTRY.get(method)
    shapley, walks, fitted = "shapley_samples" in path, "steps" in path, "surrogate_samples" in path
    if info is not None and (info.samples, info.walks_path, info.surrogate) != (shapley, walks, fitted):
        wanted = ("shapley_samples" if info.samples else "steps and quadrature" if info.walks_path else
                  "surrogate_samples" if info.surrogate else "no settings ({})")
        raise place.fail("meta.path", f"does not fit meta.method {method!r}, which has {wanted}")
    expected = {"shapley_samples"} if shapley else {"surrogate_samples"} if fitted else set()
    if shapley:
        place.integer(path["shapley_samples"], "meta.path.shapley_samples", least=1)
    elif fitted:
        place.integer(path["surrogate_samples"], "meta.path.surrogate_samples", least=2)
    elif walks:
        auto = path["steps"] == AUTO_STEPS
        expected = {"steps", "quadrature"} | ({"tolerance", "max_steps", "score_error_estimator"} if auto else set())
        if not auto:
            place.integer(path["steps"], "meta.path.steps", least=1, what=f" (or {AUTO_STEPS!r})")
        place.one_of(place.get(path, "quadrature", "meta.path.quadrature"), "meta.path.quadrature", QUADRATURES)
        if auto:
            place.number(place.get(path, "tolerance", "meta.path.tolerance"), "meta.path.tolerance", low=0)
            place.integer(place.get(path, "max_steps", "meta.path.max_steps"), "meta.path.max_steps", least=1)
            if "score_error_estimator" in path:
                place.one_of(path["score_error_estimator"], "meta.path.score_error_estimator", tuple(ESTIMATORS))
    for key in path:
        if key not in expected:
            raise place.fail(f"meta.path.{key}", "is not a setting of this method's path")


def _per_model(place: Place, name: str, summaries: dict[str, Any] | None, rows: int) -> list[tuple[str, Any]]:
    """A per-model summary's (role, summary) pairs, once it is checked to hold one summary per model, each over
    the corpus's `rows`; none where `summaries` is None."""
    if summaries is None:
        return []
    if sorted(summaries) != sorted(ROLES):
        raise place.fail(name, f"summarises {', '.join(map(repr, summaries)) or 'no model'}; it has one summary per "
                               f"model: {', '.join(ROLES)}")
    for role, summary in summaries.items():
        if summary["rows"] != rows:
            raise place.fail(f"{name}.{role}.rows", f"is {summary['rows']}, but the corpus has {rows} rows")
    return list(summaries.items())


def _check_convergence(place: Place, meta: dict[str, Any], rows: int) -> None:
    """Integrated gradients' steps and deltas over the rows, per model (`convergence.PathSummary`)."""
    convergence, walks = meta["convergence"], "steps" in meta["path"]
    if (convergence is not None) != walks:
        raise place.fail("meta.convergence", "is null, but integrated gradients' paths are summarised per model"
                         if walks else "is set, but only integrated gradients walks paths to summarise")
    for role, summary in _per_model(place, "meta.convergence", convergence, rows):
        where = f"meta.convergence.{role}"
        place.number(summary["tolerance"], f"{where}.tolerance", low=0)
        place.integer(summary["fewest_steps"], f"{where}.fewest_steps", least=1)
        if not summary["fewest_steps"] <= summary["median_steps"] <= summary["most_steps"]:
            raise place.fail(where, "has fewest_steps, median_steps and most_steps out of order")
        place.number(summary["mean_steps"], f"{where}.mean_steps", low=summary["fewest_steps"],
                     high=summary["most_steps"], slack=ROUNDING * summary["most_steps"])
        place.integer(summary["above_tolerance"], f"{where}.above_tolerance", rows + 1,
                      what=f" (the corpus has {rows} rows)")
        place.number(summary["worst_relative_delta"], f"{where}.worst_relative_delta", low=0)


def _check_fit(place: Place, meta: dict[str, Any], rows: int) -> None:
    """LIME's fits over the rows, per model (`fit.FitSummary`): a LIME corpus has one per model (a corpus file from
    before them has none), no other method has any; counts within the rows, fits at most 1, lowest ≤ mean."""
    fit, info = meta.get("fit"), REGISTRY.get(meta["method"])
    if fit is not None and not (info is not None and info.states_fit):
        raise place.fail("meta.fit", "is set, but only LIME fits a surrogate whose fit is summarised")
    for role, summary in _per_model(place, "meta.fit", fit, rows):
        where = f"meta.fit.{role}"
        place.number(summary["threshold"], f"{where}.threshold", high=1)
        for key in ("poor", "not_measurable"):
            place.integer(summary[key], f"{where}.{key}", rows + 1, what=f" (the corpus has {rows} rows)")
        measured = rows - summary["not_measurable"]
        if summary["poor"] > measured:
            raise place.fail(f"{where}.poor", f"is {summary['poor']}, but only {measured} rows have a measured fit")
        if (summary["mean_fit"] is None) != (measured == 0) or (summary["lowest_fit"] is None) != (measured == 0):
            raise place.fail(where, "needs mean_fit and lowest_fit where some row's fit was measured, and null for "
                                    "both where none was")
        if measured:
            slack = ROUNDING * max(1.0, abs(summary["mean_fit"]))
            place.number(summary["mean_fit"], f"{where}.mean_fit", high=1, slack=slack)
            place.number(summary["lowest_fit"], f"{where}.lowest_fit", high=summary["mean_fit"], slack=slack)


def _check_outcomes(place: Place, outcomes: dict[str, Any], rows: int) -> None:
    """The 2×2 table over the labelled rows, the disagreements over all rows, and the accuracies they give."""
    for key, count in outcomes.items():
        if key != "accuracy":
            place.integer(count, f"outcomes.{key}")
    if outcomes["rows"] != rows:
        raise place.fail("outcomes.rows", f"is {outcomes['rows']}, but the corpus has {rows} rows")
    place.integer(outcomes["labelled"], "outcomes.labelled", rows + 1, least=1, what=f" (the corpus has {rows} rows)")
    cells = sum(outcomes[cell] for cell in CELLS.values())
    if cells != outcomes["labelled"]:
        raise place.fail("outcomes", f"counts {cells} rows in its four cells, but labelled is {outcomes['labelled']}")
    differ = outcomes["base_wrong_finetuned_right"] + outcomes["base_right_finetuned_wrong"]
    place.integer(outcomes["disagree"], "outcomes.disagree", rows + 1, least=differ,
                  what=" (the rows where one model is right and the other wrong disagree)")
    counts = Outcomes(**{key: count for key, count in outcomes.items() if key != "accuracy"})
    for role, accuracy in outcomes["accuracy"].items():
        expected = counts.accuracy(role)
        if accuracy is None or abs(accuracy - expected) > 2 * ROUNDING:
            raise place.fail(f"outcomes.accuracy.{role}", f"is {accuracy}, but the counts give {expected:.8g}")


def _check_groups(place: Place, groups: dict[str, Any], outcomes: dict[str, Any] | None, rows: int,
                  options: dict[str, Any]) -> None:
    place.get(groups, "all", "groups.all")
    for name, group in groups.items():
        where = f"groups.{name}"
        if name not in GROUPS:
            raise place.fail(where, f"is not a group ({', '.join(GROUPS)})")
        if group["title"] != GROUPS[name]:
            raise place.fail(f"{where}.title", f"is {group['title']!r}; the group {name} is {GROUPS[name]!r}")
        expected = rows if name == "all" else None if outcomes is None else outcomes[CELLS[name]]
        if group["rows"] != expected:
            raise place.fail(f"{where}.rows", f"is {group['rows']}, but the " + (
                f"corpus has {rows} rows" if name == "all" else "corpus has no outcome counts" if outcomes is None
                else f"outcomes count {expected}"))
        _check_words(place, group, where, options)
    for name, cell in CELLS.items():
        if outcomes is not None and outcomes[cell] and name not in groups:
            raise place.fail(f"groups.{name}", f"is missing, but outcomes count {outcomes[cell]} of its rows")


def _check_words(place: Place, group: dict[str, Any], where: str, options: dict[str, Any]) -> None:
    """Every word's counts and shares (a share of a model's Σ|score| lies in [−1, 1], a difference of two
    in [−2, 2]); the words listed as gaining or losing the most, among the group's words."""
    by_word = {}
    for position, word in enumerate(group["words"]):
        field = f"{where}.words[{position}]"
        if word["word"] in by_word:
            raise place.fail(f"{field}.word", f"is {word['word']!r}, listed before")
        by_word[word["word"]] = word
        place.integer(word["rows"], f"{field}.rows", group["rows"] + 1, least=options["min_count"],
                      what=f" (options.min_count {options['min_count']}, the group's {group['rows']} rows)")
        place.integer(word["occurrences"], f"{field}.occurrences", least=word["rows"],
                      what=" (it occurs in that many rows)")
        for part, bound in (("base", 1), ("finetuned", 1), ("difference", 2)):
            estimate = word[part]
            for key in ("mean", "low", "high"):
                place.number(estimate[key], f"{field}.{part}.{key}", optional=key != "mean", low=-bound,
                             high=bound, slack=bound * 4 * ROUNDING)
            if None not in (estimate["low"], estimate["high"]) and estimate["low"] > estimate["high"]:
                raise place.fail(f"{field}.{part}", f"has low {estimate['low']} above high {estimate['high']}")
        change = word["finetuned"]["mean"] - word["base"]["mean"]
        scale = abs(word["finetuned"]["mean"]) + abs(word["base"]["mean"])
        if abs(word["difference"]["mean"] - change) > 4 * ROUNDING * scale:
            raise place.fail(f"{field}.difference.mean", f"is {word['difference']['mean']}, but fine-tuned − base "
                                                         f"is {change:.8g}")
    for key, sign in (("more", 1), ("less", -1)):
        listed = group[key]
        if len(listed) > options["top_words"] or len(set(listed)) < len(listed):
            raise place.fail(f"{where}.{key}", f"lists {len(listed)} words ({len(set(listed))} different); at most "
                                               f"options.top_words ({options['top_words']}), each once")
        for position, name in enumerate(listed):
            word = by_word.get(name)
            if word is None:
                raise place.fail(f"{where}.{key}[{position}]", f"is {name!r}, which is not among {where}.words")
            if sign * word["difference"]["mean"] <= 0:
                raise place.fail(f"{where}.{key}[{position}]", f"is {name!r}, whose difference "
                                                               f"{word['difference']['mean']} is not "
                                                               + ("above" if sign > 0 else "below") + " 0")


def _check_examples(place: Place, examples: dict[str, list[dict[str, Any]]], listed: dict[str, Any],
                    options: dict[str, Any], classes: int, target_class: int | None) -> None:
    """Example rows for each word the "all" group lists, each centred on an occurrence of that word."""
    wanted = set(listed["more"]) | set(listed["less"]) if options["examples"] else set()
    for word in examples:
        if word not in wanted:
            raise place.fail(f"examples.{word}", "is not a word groups.all lists in more or less"
                             if options["examples"] else "is set, but options.examples is 0")
    missing = sorted(wanted - set(examples))
    if missing:
        raise place.fail(f"examples.{missing[0]}", "is missing; every word groups.all lists has its examples")
    what = f" ({classes} classes in meta.class_names)"
    for word, items in examples.items():
        place.items(items, f"examples.{word}")
        if not 1 <= len(items) <= options["examples"]:
            raise place.fail(f"examples.{word}", f"has {len(items)} examples; from 1 to options.examples "
                                                 f"({options['examples']})")
        for position, example in enumerate(items):
            field = f"examples.{word}[{position}]"
            if example["word"] != word:
                raise place.fail(f"{field}.word", f"is {example['word']!r}, filed under {word!r}")
            place.integer(example["index"], f"{field}.index")
            place.integer(example["label"], f"{field}.label", classes, optional=True, what=what)
            for key in ("target", "base_pred", "finetuned_pred"):
                place.integer(example[key], f"{field}.{key}", classes, what=what)
            expected = example["label"] if target_class is None else target_class
            if example["target"] != expected:
                raise place.fail(f"{field}.target", f"is {example['target']}, but the rows are explained toward "
                                 + ("their label" if target_class is None else "meta.target_class")
                                 + f" ({expected})")
            for key in ("base_prob", "finetuned_prob"):  # the predicted class's: the largest of the softmax
                place.number(example[key], f"{field}.{key}", low=1 / classes, high=1, slack=4 * ROUNDING)
            _check_snippet(place, example, field)


def _check_snippet(place: Place, example: dict[str, Any], field: str) -> None:
    """The words around the occurrence: exactly one of them the example's word, with the example's shares."""
    snippet = example["snippet"]
    focus = [position for position, word in enumerate(snippet) if word["focus"]]
    if len(focus) != 1:
        raise place.fail(f"{field}.snippet", f"marks {len(focus)} words as its focus; an example has one")
    for position, word in enumerate(snippet):
        place.one_of(word["lead"], f"{field}.snippet[{position}].lead", LEADS)
        for key in ("base", "finetuned"):
            place.number(word[key], f"{field}.snippet[{position}].{key}", low=-1, high=1, slack=4 * ROUNDING)
    shown = snippet[focus[0]]
    if shown["text"].lower() != example["word"]:
        raise place.fail(f"{field}.snippet[{focus[0]}].text", f"is {shown['text']!r}, but the example is of "
                                                               f"{example['word']!r}")
    for key in ("base", "finetuned"):
        if not math.isclose(shown[key], example[f"{key}_share"], rel_tol=4 * ROUNDING, abs_tol=0.0):
            raise place.fail(f"{field}.{key}_share", f"is {example[f'{key}_share']}, but the focus word's share is "
                                                     f"{shown[key]}")
