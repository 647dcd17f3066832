"""A report's JSON, read and written: parsing (a UTF-8 byte order mark allowed), the schema check and upgrade,
validation, and the dataclasses built from the checked dicts; the precision scores are stored with.

`Report.from_dict` and `Report.to_json` (report.py) call these; nothing here knows the `Report` class itself,
which is passed in where validation needs its field types.
"""

from __future__ import annotations

import json
from typing import Any

from reportgen.errors import ReportgenError
from reportgen.results.model import (
    SCHEMA_VERSION,
    AopcBounds,
    Curve,
    Difference,
    Faithfulness,
    FaithfulnessMeta,
    Flip,
    MethodResult,
    ModelAttribution,
    ModelInfo,
    Plausibility,
    RandomFlips,
    ReportMeta,
    SampleResult,
    Score,
    Word,
)
from reportgen.results.upgrades import READABLE_SCHEMAS, upgraded
from reportgen.validation import check_report_data, shown

SIGNIFICANT_DIGITS = 8


def stored(values: list[float]) -> list[float]:
    """Scores as stored: 8 significant digits, all that fp32 arithmetic can vouch for (smaller files)."""
    return [float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in values]


def to_json(data: dict[str, Any]) -> str:
    """A report's dict as its JSON text: one space of indent, any Unicode as written, no NaN (ValueError)."""
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)


def parse_json(text: str) -> Any:
    """json.loads (after a UTF-8 byte order mark, if any), with ReportgenError saying where the text stops being
    JSON."""
    try:
        return json.loads(text.removeprefix("\ufeff"))  # a byte order mark, as some editors save UTF-8
    except json.JSONDecodeError as exc:
        raise ReportgenError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None


def report_parts(data: Any, report: type) -> tuple[ReportMeta, list[SampleResult]]:
    """The meta and samples of a report's parsed JSON, of any readable schema (upgraded first), checked against
    `report` (the `Report` dataclass: its field types); ReportgenError, in words, for anything that is not a
    report's data."""
    meta = data.get("meta") if isinstance(data, dict) else None
    version = meta.get("schema_version") if isinstance(meta, dict) else None
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ReportgenError(f"meta.schema_version is {shown(version)}, not a whole number; this reportgen reads "
                             f"versions {', '.join(map(str, READABLE_SCHEMAS))}, written as a number (e.g. "
                             f"\"schema_version\": {SCHEMA_VERSION})")
    if version not in READABLE_SCHEMAS:
        raise ReportgenError(
            f"this report data has schema version {version!r}; this reportgen reads versions "
            f"{', '.join(map(str, READABLE_SCHEMAS))}: re-render it with the reportgen that wrote it, "
            "or upgrade reportgen")
    if version != SCHEMA_VERSION:
        data = upgraded(data, version)
    check_report_data(data, report)
    meta = dict(data["meta"])
    meta["models"] = [ModelInfo(**m) for m in meta["models"]]
    if meta.get("faithfulness") is not None:
        meta["faithfulness"] = FaithfulnessMeta(**meta["faithfulness"])
    return ReportMeta(**meta), [sample_from_dict(s) for s in data["samples"]]


def _faithfulness_from_dict(data: dict[str, Any]) -> Faithfulness:
    return Faithfulness(scores={name: Score(**score) for name, score in data["scores"].items()},
                        curves={name: Curve(**curve) for name, curve in data["curves"].items()},
                        probability=data.get("probability"))


def _method_from_dict(data: dict[str, Any]) -> MethodResult:
    faithfulness, flip, plausible = data.get("faithfulness"), data.get("flip"), data.get("plausibility")
    return MethodResult(**{**data, "faithfulness": _faithfulness_from_dict(faithfulness) if faithfulness else None,
                           "flip": Flip(**flip) if flip else None,
                           "plausibility": Plausibility(**plausible) if plausible else None})


def _model_from_dict(data: dict[str, Any]) -> ModelAttribution:
    random_flips = data.get("random_flips")
    return ModelAttribution(**{**data, "methods": {name: _method_from_dict(r) for name, r in data["methods"].items()},
                               "random_flips": RandomFlips(**random_flips) if random_flips else None,
                               "aopc_bounds": {name: AopcBounds(**b)
                                               for name, b in (data.get("aopc_bounds") or {}).items()}})


def sample_from_dict(data: dict[str, Any]) -> SampleResult:
    models = {role: _model_from_dict(m) for role, m in data["models"].items()}
    difference = Difference(**data["difference"]) if data.get("difference") else None
    words = [Word(**w) for w in data.get("words", [])]
    flips = {role: Flip(**f) for role, f in (data.get("agreement_flips") or {}).items()}
    return SampleResult(**{**data, "models": models, "words": words, "difference": difference,
                           "agreement_flips": flips})
