"""The corpus JSON: what a corpus page is made from, written beside its HTML and read back by
`reportgen render` to draw the page again (new wording or styles, a newer reportgen) without the
models or the scores folder."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from reportgen.corpus.document_checks import ADVICE, check_corpus_document
from reportgen.corpus.facts import CorpusFacts
from reportgen.corpus.format import CORPUS_AGGREGATES_FORMAT
from reportgen.corpus.statistics import Aggregates
from reportgen.errors import ReportgenError
from reportgen.validation import shown

CORPUS_VERSION = 1
READABLE_VERSIONS = (1,)


def json_ready(value: Any) -> Any:
    """NaN (an interval no replicate could estimate) becomes null: JSON has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def corpus_document(result: Aggregates, facts: CorpusFacts) -> dict[str, Any]:
    """The JSON document of a corpus run: its format and version, the facts (`meta`) and the aggregates."""
    return {"format": CORPUS_AGGREGATES_FORMAT, "version": CORPUS_VERSION, "meta": json_ready(asdict(facts)),
            **json_ready(result.to_dict())}


def read_corpus_document(data: dict[str, Any]) -> tuple[Aggregates, CorpusFacts]:
    """The aggregates and facts of a `corpus_document`. ReportgenError, in one line naming the field, for
    another version or a damaged file (`document_checks.check_corpus_document`)."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ReportgenError(f"this corpus file is damaged: its version is {shown(version)}, not a whole number; "
                             f"{ADVICE}")
    if version not in READABLE_VERSIONS:
        raise ReportgenError(f"this corpus file has version {version!r}; this reportgen reads version "
                             f"{', '.join(map(str, READABLE_VERSIONS))}: render it with the reportgen that wrote it")
    check_corpus_document(data)
    return Aggregates.from_dict(data), CorpusFacts.from_dict(data["meta"])
