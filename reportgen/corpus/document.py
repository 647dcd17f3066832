"""The corpus JSON: what a corpus page is made from, written beside its HTML and read back by
`reportgen render` to draw the page again (new wording or styles, a newer reportgen) without the
models or the scores folder."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from reportgen.corpus.aggregate import Aggregates
from reportgen.corpus.view import CorpusFacts
from reportgen.errors import ReportgenError
from reportgen.results import CORPUS_AGGREGATES_FORMAT

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
    """The aggregates and facts of a `corpus_document`. ReportgenError for another version or a damaged file."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ReportgenError(f"this corpus file is damaged: its version is {version!r}, not a number; run "
                             "`reportgen corpus` again to write it (it resumes from --scores)")
    if version not in READABLE_VERSIONS:
        raise ReportgenError(f"this corpus file has version {version!r}; this reportgen reads version "
                             f"{', '.join(map(str, READABLE_VERSIONS))}: render it with the reportgen that wrote it")
    try:
        aggregates, facts = Aggregates.from_dict(data), CorpusFacts.from_dict(data["meta"])
    except KeyError as exc:
        raise ReportgenError(f"this corpus file is incomplete: it has no {exc} field; run `reportgen corpus` again "
                             "to write it (it resumes from --scores)") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ReportgenError(f"this corpus file is damaged ({exc}); run `reportgen corpus` again to write it (it "
                             "resumes from --scores)") from None
    if not isinstance(aggregates.rows, int) or aggregates.rows < 0:
        raise ReportgenError(f"this corpus file is damaged: its row count is {aggregates.rows!r}; run "
                             "`reportgen corpus` again to write it (it resumes from --scores)")
    return aggregates, facts
