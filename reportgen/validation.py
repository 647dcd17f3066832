"""Report data read from JSON is checked before anything is rendered from it.

A report JSON can be edited by hand or written by another program. `reportgen report` never
writes a non-finite score, a score list that does not match the tokens, or a class outside the
model's classes; `check_report_data` makes sure a file that `reportgen render` reads holds none
either, and refuses it in one line that names the sample and the field (a NaN would otherwise
render as a grey column, an infinity as a legend reading `+inf`, and the rest as tracebacks).
"""

from __future__ import annotations

import math
from typing import Any

from reportgen.choices import ROLES
from reportgen.errors import ReportgenError


class _Place:
    """Where in the report a value sits: "sample 2 (row 11)" and the field's path, for the message."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, problem: str) -> ReportgenError:
        return ReportgenError(f"{self.where}: {field} {problem}; correct it or write the report again with "
                              "`reportgen report --json`")

    def get(self, mapping: dict[str, Any], key: str, field: str) -> Any:
        if not isinstance(mapping, dict):
            raise self.fail(field.rpartition(".")[0] or field, "is not an object")
        if key not in mapping:
            raise self.fail(field, "is missing")
        return mapping[key]

    def mapping(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"is {_shown(value)}, not an object")
        return value

    def string(self, value: Any, field: str, optional: bool = False) -> None:
        if not (isinstance(value, str) or (optional and value is None)):
            raise self.fail(field, f"is {_shown(value)}, not a string")

    def boolean(self, value: Any, field: str) -> None:
        if not isinstance(value, bool):
            raise self.fail(field, f"is {_shown(value)}, not true or false")

    def number(self, value: Any, field: str, optional: bool = False, low: float = -math.inf,
               high: float = math.inf) -> None:
        if optional and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(field, f"is {_shown(value)}, not a number")
        if not math.isfinite(value):
            raise self.fail(field, f"is {_shown(value)}; every number must be finite")
        if not low <= value <= high:
            raise self.fail(field, f"is {value}, outside [{low:g}, {high:g}]")

    def integer(self, value: Any, field: str, stop: int | None = None, optional: bool = False,
                what: str = "") -> None:
        """A whole number ≥ 0 (and < stop when given)."""
        if optional and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"is {_shown(value)}, not a whole number")
        if value < 0 or (stop is not None and value >= stop):
            allowed = f"from 0 to {stop - 1}" if stop is not None else "0 or more"
            raise self.fail(field, f"is {value}; it must be {allowed}{what}")

    def items(self, value: Any, field: str, length: int | None = None, what: str = "") -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(field, f"is {_shown(value)}, not a list")
        if length is not None and len(value) != length:
            raise self.fail(field, f"has {len(value)} entries but {what} has {length}")
        return value

    def numbers(self, value: Any, field: str, length: int | None = None, what: str = "", low: float = -math.inf,
                high: float = math.inf) -> None:
        for position, item in enumerate(self.items(value, field, length, what)):
            self.number(item, f"{field}[{position}]", low=low, high=high)


def _shown(value: Any) -> str:
    """A value as the message names it: NaN, +inf, null, a short string in quotes."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+inf" if value > 0 else "-inf")
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value if len(value) <= 20 else value[:20] + "…")
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    return repr(value)


def check_report_data(data: dict[str, Any]) -> None:
    """Refuse report data (schema 4, as a dict) that would not render faithfully: a non-finite or
    non-numeric number, a probability outside [0, 1], a score list whose length differs from the
    tokens, a class index outside `meta.class_names`, a word outside its text or tokens, or a
    value of the wrong type. The ReportgenError names the sample (1-based, and its dataset row)
    and the field, e.g. `sample 2 (row 11): models.base.methods.gradient.scores[4] is NaN`."""
    place = _Place("meta")
    meta = place.mapping(place.get(data, "meta", "meta"), "meta")
    methods = place.items(place.get(meta, "methods", "meta.methods"), "meta.methods")
    if not methods:
        raise place.fail("meta.methods", "is empty")
    for position, method in enumerate(methods):
        place.string(method, f"meta.methods[{position}]")
    classes = place.items(place.get(meta, "class_names", "meta.class_names"), "meta.class_names")
    for position, name in enumerate(classes):
        place.string(name, f"meta.class_names[{position}]")
    for position, model in enumerate(place.items(place.get(meta, "models", "meta.models"), "meta.models")):
        for key in ("role", "name"):
            place.string(place.get(model, key, f"meta.models[{position}].{key}"), f"meta.models[{position}].{key}")
        place.string(model.get("weights_dtype"), f"meta.models[{position}].weights_dtype", optional=True)
    faithfulness = meta.get("faithfulness")
    if faithfulness is not None:
        place.mapping(faithfulness, "meta.faithfulness")
        for key in ("ks", "curve_fractions"):
            place.numbers(place.get(faithfulness, key, f"meta.faithfulness.{key}"), f"meta.faithfulness.{key}",
                          low=0, high=1)
    place.number(meta.get("tolerance"), "meta.tolerance", optional=True, low=0)
    if meta.get("seconds") is not None:
        for stage, spent in place.mapping(meta["seconds"], "meta.seconds").items():
            place.number(spent, f"meta.seconds.{stage}", low=0)
    place.integer(meta.get("shapley_samples"), "meta.shapley_samples", optional=True)
    samples = place.items(place.get(data, "samples", "samples"), "samples")
    for number, sample in enumerate(samples, start=1):
        row = sample.get("index") if isinstance(sample, dict) else None
        where = f"sample {number}" + (f" (row {row})" if isinstance(row, int) and not isinstance(row, bool) else "")
        _check_sample(_Place(where), sample, methods, len(classes), faithfulness)


def _check_sample(place: _Place, sample: Any, methods: list[str], classes: int,
                  faithfulness: dict[str, Any] | None) -> None:
    place.mapping(sample, "the sample")
    place.integer(place.get(sample, "index", "index"), "index", optional=True)
    label = place.get(sample, "label", "label")
    if isinstance(label, list):  # a multi-label row's true labels
        for position, one in enumerate(label):
            place.integer(one, f"label[{position}]", classes, what=f" ({classes} classes in meta.class_names)")
    else:
        place.integer(label, "label", classes, optional=True, what=f" ({classes} classes in meta.class_names)")
    text = place.get(sample, "text", "text")
    place.string(text, "text")
    tokens = place.items(place.get(sample, "tokens", "tokens"), "tokens")
    for position, token in enumerate(tokens):
        place.string(token, f"tokens[{position}]")
    place.boolean(place.get(sample, "truncated", "truncated"), "truncated")
    place.string(sample.get("sentence", ""), "sentence")
    for position, word in enumerate(place.items(sample.get("words", []), "words")):
        _check_word(place, word, f"words[{position}]", len(text), len(tokens))
    models = place.mapping(place.get(sample, "models", "models"), "models")
    words = len(sample.get("words", []))
    for role in ROLES:
        _check_model(place, place.get(models, role, f"models.{role}"), f"models.{role}", methods, classes,
                     len(tokens), faithfulness, words)
    for role, flip in place.mapping(sample.get("agreement_flips") or {}, "agreement_flips").items():
        _check_flip(place, flip, f"agreement_flips.{role}", classes, words)
    difference = sample.get("difference")
    if difference is not None:
        _check_difference(place, place.mapping(difference, "difference"), classes, len(tokens))


def _check_word(place: _Place, word: Any, field: str, characters: int, tokens: int) -> None:
    place.mapping(word, field)
    place.string(place.get(word, "text", f"{field}.text"), f"{field}.text")
    start, end = place.get(word, "start", f"{field}.start"), place.get(word, "end", f"{field}.end")
    place.integer(start, f"{field}.start", characters + 1, optional=True, what=" (the text's length + 1)")
    place.integer(end, f"{field}.end", characters + 1, optional=True, what=" (the text's length + 1)")
    if start is not None and end is not None and end < start:
        raise place.fail(field, f"ends (character {end}) before it starts ({start})")
    first, last = place.get(word, "first_token", f"{field}.first_token"), place.get(word, "last_token",
                                                                                    f"{field}.last_token")
    place.integer(first, f"{field}.first_token", tokens, what=f" (the sample has {tokens} tokens)")
    place.integer(last, f"{field}.last_token", tokens + 1, what=f" (the sample has {tokens} tokens)")
    if last <= first:
        raise place.fail(field, f"has no tokens (first_token {first}, last_token {last})")


def _check_flip(place: _Place, flip: Any, field: str, classes: int, words: int) -> None:
    """Schema 4: the flip test of one ranking (`results.Flip`)."""
    if flip is None:
        return
    place.mapping(flip, field)
    place.integer(place.get(flip, "k", f"{field}.k"), f"{field}.k", optional=True)
    place.integer(place.get(flip, "searched", f"{field}.searched"), f"{field}.searched")
    removed = place.items(place.get(flip, "words", f"{field}.words"), f"{field}.words")
    for position, word in enumerate(removed):
        place.integer(word, f"{field}.words[{position}]", words, what=f" (the sample has {words} words)")
    for position, text in enumerate(place.items(place.get(flip, "texts", f"{field}.texts"), f"{field}.texts",
                                                len(removed), f"{field}.words")):
        place.string(text, f"{field}.texts[{position}]")
    for key in ("probabilities_before", "probabilities_after"):
        place.numbers(place.get(flip, key, f"{field}.{key}"), f"{field}.{key}", classes, "meta.class_names",
                      low=0, high=1)
    place.integer(place.get(flip, "predicted_after", f"{field}.predicted_after"), f"{field}.predicted_after",
                  classes, what=f" ({classes} classes in meta.class_names)")


def _check_model(place: _Place, model: Any, field: str, methods: list[str], classes: int, tokens: int,
                 faithfulness: dict[str, Any] | None, words: int = 0) -> None:
    place.mapping(model, field)
    place.numbers(place.get(model, "probabilities", f"{field}.probabilities"), f"{field}.probabilities", classes,
                  "meta.class_names", low=0, high=1)
    for key in ("predicted", "target"):
        place.integer(place.get(model, key, f"{field}.{key}"), f"{field}.{key}", classes,
                      what=f" ({classes} classes in meta.class_names)")
    results = place.mapping(place.get(model, "methods", f"{field}.methods"), f"{field}.methods")
    for method in methods:
        name = f"{field}.methods.{method}"
        result = place.mapping(place.get(results, method, name), name)
        place.numbers(place.get(result, "scores", f"{name}.scores"), f"{name}.scores", tokens, "tokens")
        place.number(place.get(result, "pad_share", f"{name}.pad_share"), f"{name}.pad_share", low=0, high=1)
        for key in ("convergence_delta", "target_logit_change"):
            place.number(result.get(key), f"{name}.{key}", optional=True)
        place.integer(result.get("steps"), f"{name}.steps", optional=True)
        if result.get("faithfulness") is not None:
            _check_faithfulness(place, result["faithfulness"], f"{name}.faithfulness", faithfulness)
        _check_flip(place, result.get("flip"), f"{name}.flip", classes, words)
    chance = model.get("random_flips")
    if chance is not None:
        place.mapping(chance, f"{field}.random_flips")
        for position, k in enumerate(place.items(place.get(chance, "ks", f"{field}.random_flips.ks"),
                                                 f"{field}.random_flips.ks")):
            place.integer(k, f"{field}.random_flips.ks[{position}]", optional=True)
        place.integer(place.get(chance, "searched", f"{field}.random_flips.searched"), f"{field}.random_flips.searched")
    for measure, bounds in place.mapping(model.get("aopc_bounds") or {}, f"{field}.aopc_bounds").items():
        where = f"{field}.aopc_bounds.{measure}"
        place.mapping(bounds, where)
        for key in ("lower", "upper"):
            place.number(place.get(bounds, key, f"{where}.{key}"), f"{where}.{key}")
        place.boolean(place.get(bounds, "exact", f"{where}.exact"), f"{where}.exact")
        place.integer(place.get(bounds, "rows", f"{where}.rows"), f"{where}.rows")


def _check_faithfulness(place: _Place, metrics: Any, field: str, meta: dict[str, Any] | None) -> None:
    """Schema 3: named scores {value, random, by_k, random_by_k} and curves {values, random}; schema 4 adds
    each score's normalised and random_normalised (NAOPC, or null)."""
    place.mapping(metrics, field)
    ks = len(meta["ks"]) if meta else None
    for name, score in place.mapping(place.get(metrics, "scores", f"{field}.scores"), f"{field}.scores").items():
        where = f"{field}.scores.{name}"
        place.mapping(score, where)
        for key in ("value", "random"):
            place.number(place.get(score, key, f"{where}.{key}"), f"{where}.{key}")
        for key in ("normalised", "random_normalised"):
            place.number(score.get(key), f"{where}.{key}", optional=True)
        for key in ("by_k", "random_by_k"):
            place.numbers(place.get(score, key, f"{where}.{key}"), f"{where}.{key}", ks, "meta.faithfulness.ks")
    fractions = len(meta["curve_fractions"]) if meta else None
    for name, curve in place.mapping(place.get(metrics, "curves", f"{field}.curves"), f"{field}.curves").items():
        where = f"{field}.curves.{name}"
        place.mapping(curve, where)
        for key in ("values", "random"):
            place.numbers(place.get(curve, key, f"{where}.{key}"), f"{where}.{key}", fractions,
                          "meta.faithfulness.curve_fractions", low=0, high=1)
    place.number(metrics.get("probability"), f"{field}.probability", optional=True, low=0, high=1)


def _check_difference(place: _Place, difference: dict[str, Any], classes: int, tokens: int) -> None:
    place.integer(place.get(difference, "target", "difference.target"), "difference.target", classes,
                  what=f" ({classes} classes in meta.class_names)")
    for key in ("reason", "normalisation"):
        place.string(place.get(difference, key, f"difference.{key}"), f"difference.{key}")
    for method, roles in place.mapping(place.get(difference, "scores", "difference.scores"),
                                       "difference.scores").items():
        for role, scores in place.mapping(roles, f"difference.scores.{method}").items():
            place.numbers(scores, f"difference.scores.{method}.{role}", tokens, "tokens")
    for method, values in place.mapping(place.get(difference, "difference", "difference.difference"),
                                        "difference.difference").items():
        place.numbers(values, f"difference.difference.{method}", tokens, "tokens")
