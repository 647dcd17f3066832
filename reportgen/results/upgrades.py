"""Older report schemas in today's shape, upgraded on reading (`upgraded`), one step per schema.

Schema 2 holds several methods per model, faithfulness metrics, words and the difference between the models;
schema 3 holds the faithfulness metrics as a mapping of named measures; schema 4 adds the flip test (`Flip`) and
the normalised AOPC (`Score.normalised`, `AopcBounds`); schema 5 the seconds each stage took
(`ReportMeta.seconds`); schema 6 no longer stores each sample's rendered sentence (the renderings make it from
the numbers: `ExplainedReport.sentences`); schema 7 gives each integrated-gradients result `converged` and
`score_error`, and LIME's `surrogate_fit`; schema 8 plausibility against human rationales
(`MethodResult.plausibility`, `SampleResult.rationale`); schema 9 holds LIME's `surrogate_fit` adjusted for the
words it fits (`choices.adjusted_fit`); schema 10 (`model.SCHEMA_VERSION`) names the estimator of IG's score errors
(`ReportMeta.score_error_estimator`). `upgrade_v1`: one method, wordpieces only;
`upgrade_v2`: flat faithfulness fields; `upgrade_v3`: no flip data and no normalised values, which the report
then leaves out; `upgrade_v4`: no times; `upgrade_v5`: the stored sentence dropped; `upgrade_v6`: `converged`
by the rule of its day (the delta alone), no score error; `upgrade_v7`: no rationales (no plausibility);
`upgrade_v8`: LIME's in-sample R² adjusted; `upgrade_v9`: the score errors' estimator of its day ("interval-sum").
Each works on the parsed JSON (dicts), before anything is checked or built from it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from reportgen.choices import AUTO_STEPS, FIXED_STEPS_DELTA, UNNAMED, adjusted_fit, allowed_delta
from reportgen.errors import ReportgenError
from reportgen.results.model import SCHEMA_VERSION, Word

READABLE_SCHEMAS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
INTEGRATED_GRADIENTS = "integrated-gradients"
LIME = "lime"


def upgraded(data: dict[str, Any], version: int) -> dict[str, Any]:
    """An older schema's report in today's shape; ReportgenError where it lacks what its schema had."""
    try:
        if version == 1:
            data = upgrade_v1(data)
        if version in (1, 2):
            data = upgrade_v2(data)
        if version in (1, 2, 3):
            data = upgrade_v3(data)
        if version in (1, 2, 3, 4):
            data = upgrade_v4(data)
        if version in (1, 2, 3, 4, 5):
            data = upgrade_v5(data)
        if version in (1, 2, 3, 4, 5, 6):
            data = upgrade_v6(data)
        if version in (1, 2, 3, 4, 5, 6, 7):
            data = upgrade_v7(data)
        if version in (1, 2, 3, 4, 5, 6, 7, 8):
            data = upgrade_v8(data)
        return upgrade_v9(data)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ReportgenError(f"not a reportgen report of schema {version} (missing or unexpected field {exc})"
                             ) from None


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 report (one method; scores directly on each model) in schema-2 shape.

    Words cannot be recovered exactly without the tokenizer, so they are guessed from "##"
    continuations and marked `words_exact: false`; there is no difference view or faithfulness.
    """
    meta = {k: v for k, v in data["meta"].items() if k != "method"}
    method = data["meta"]["method"]
    meta.update(methods=[method], schema_version=2, faithfulness=None)
    samples = []
    for sample in data["samples"]:
        models = {}
        for role, m in sample["models"].items():
            result = {k: m[k] for k in ("scores", "pad_share", "convergence_delta", "target_logit_change")}
            models[role] = {"probabilities": m["probabilities"], "predicted": m["predicted"], "target": m["target"],
                            "methods": {method: result}}
        words = [asdict(w) for w in words_from_wordpieces(sample["tokens"])]
        samples.append({**sample, "models": models, "words": words,
                        "words_exact": False, "difference": None})
    return {"meta": meta, "samples": samples}


def upgrade_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-2 report (eleven flat faithfulness fields per method) in schema-3 shape (named measures)."""
    samples = []
    for sample in data["samples"]:
        models = {}
        for role, model in sample["models"].items():
            methods = {name: {**result, "faithfulness": _named_measures(result.get("faithfulness"))}
                       for name, result in model["methods"].items()}
            models[role] = {**model, "methods": methods}
        samples.append({**sample, "models": models})
    return {"meta": {**data["meta"], "schema_version": 3}, "samples": samples}


def upgrade_v3(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-3 report in schema-4 shape: no flip test and no normalised AOPC were computed, so
    those fields stay empty (the report says so rather than guessing them)."""
    samples = []
    for sample in data["samples"]:
        models = {role: {**model, "random_flips": None, "aopc_bounds": {},
                         "methods": {name: {**result, "flip": None} for name, result in model["methods"].items()}}
                  for role, model in sample["models"].items()}
        samples.append({**sample, "models": models, "agreement_flips": {}})
    return {"meta": {**data["meta"], "schema_version": 4}, "samples": samples}


def upgrade_v4(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-4 report in schema-5 shape: the time per stage was not recorded (`seconds` None)."""
    return {"meta": {**data["meta"], "seconds": None, "schema_version": 5}, "samples": data["samples"]}


def upgrade_v5(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-5 report in schema-6 shape: each sample's stored `sentence` (the Markdown verdict, made again
    from the numbers by every rendering) is dropped."""
    samples = [{key: value for key, value in sample.items() if key != "sentence"} for sample in data["samples"]]
    return {"meta": {**data["meta"], "schema_version": 6}, "samples": samples}


def upgrade_v6(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-6 report in schema-7 shape: each integrated-gradients result with a delta gets `converged` by the
    rule of its day (auto steps: |delta| within `allowed_delta` of the stored tolerance; fixed steps: within
    FIXED_STEPS_DELTA of |F(x) − F(x′)|); no score error was estimated then (`score_error` None)."""
    tolerance = data["meta"].get("tolerance")
    samples = []
    for sample in data["samples"]:
        models = {}
        for role, model in sample["models"].items():
            methods = dict(model["methods"])
            result = methods.get(INTEGRATED_GRADIENTS)
            if isinstance(result, dict) and result.get("convergence_delta") is not None \
                    and result.get("target_logit_change") is not None:
                delta, change = abs(result["convergence_delta"]), result["target_logit_change"]
                converged = delta <= allowed_delta(change, tolerance) if tolerance is not None else \
                    delta <= FIXED_STEPS_DELTA * max(abs(change), 1e-12)
                methods[INTEGRATED_GRADIENTS] = {**result, "converged": converged, "score_error": None}
            models[role] = {**model, "methods": methods}
        samples.append({**sample, "models": models})
    return {"meta": {**data["meta"], "schema_version": 7}, "samples": samples}


def upgrade_v7(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-7 report in schema-8 shape: no human rationales were given, so every sample's `rationale` and
    every method's `plausibility` are null (the report shows no plausibility)."""
    samples = []
    for sample in data["samples"]:
        models = {role: {**model, "methods": {name: {**result, "plausibility": None}
                                              for name, result in model["methods"].items()}}
                  for role, model in sample["models"].items()}
        samples.append({**sample, "models": models, "rationale": None, "rationale_cut": None})
    return {"meta": {**data["meta"], "schema_version": 8}, "samples": samples}


def upgrade_v8(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-8 report in schema-9 shape: LIME's `surrogate_fit` held its surrogate's weighted R² on its own
    samples, which rewards too few samples (with about as many samples as words it is ~1 whatever the model does);
    schema 9 holds that R² adjusted for the words fitted (`choices.adjusted_fit`), a function of the R², the
    coalitions drawn (`meta.surrogate_samples`) and the sample's words (those with a place in the text: [CLS],
    [SEP] and the like are never removed), so the stored R² becomes the number this reportgen writes, or null
    ("not measurable") where the samples were fewer than the words + 2. Other methods' results are unchanged."""
    drawn = data["meta"].get("surrogate_samples")
    samples = []
    for sample in data["samples"]:
        words = sum(1 for word in sample["words"] if word["start"] is not None)
        models = {}
        for role, model in sample["models"].items():
            methods = dict(model["methods"])
            result = methods.get(LIME)
            if isinstance(result, dict) and result.get("surrogate_fit") is not None:
                methods[LIME] = {**result, "surrogate_fit": adjusted_fit(result["surrogate_fit"], drawn, words)}
            models[role] = {**model, "methods": methods}
        samples.append({**sample, "models": models})
    return {"meta": {**data["meta"], "schema_version": 9}, "samples": samples}


def upgrade_v9(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-9 report in schema-10 shape: schema 10 names the estimator of IG's score errors
    (`ReportMeta.score_error_estimator`, `choices.ESTIMATORS`), whose guard the rule applied and whose measured
    over-statement the notes quote. Schemas 7–9 estimated every score error by the sum of the intervals' estimates,
    "interval-sum" (`choices.UNNAMED`), so a file with auto steps and score errors names it (its notes keep its
    guard and words); one without (fixed steps, or a file from before the score error) names none."""
    estimated = any(isinstance(result, dict) and result.get("score_error") is not None
                    for sample in data["samples"] for model in sample["models"].values()
                    for result in model["methods"].values())
    auto = data["meta"].get("steps") == AUTO_STEPS
    return {"meta": {**data["meta"], "score_error_estimator": UNNAMED.name if auto and estimated else None,
                     "schema_version": SCHEMA_VERSION}, "samples": data["samples"]}


def _named_measures(flat: dict[str, Any] | None) -> dict[str, Any] | None:
    if not flat:
        return None
    scores = {name: {"value": flat[name], "random": flat[f"random_{name}"], "by_k": flat[f"{name}_by_k"],
                     "random_by_k": flat[f"random_{name}_by_k"]} for name in ("comprehensiveness", "sufficiency")}
    return {"scores": scores, "curves": {"deletion": {"values": flat["curve"], "random": flat["random_curve"]}},
            "probability": flat.get("probability")}


def words_from_wordpieces(tokens: list[str]) -> list[Word]:
    """Fallback grouping for files without offsets: a "##" piece continues the word before it."""
    words: list[Word] = []
    for position, token in enumerate(tokens):
        if words and token.startswith("##") and len(token) > 2 and not tokens[position - 1].startswith("["):
            last = words[-1]
            words[-1] = Word(last.text + token[2:], None, None, last.first_token, position + 1)
        else:
            words.append(Word(token, None, None, position, position + 1))
    return words
