"""What marks a `reportgen corpus` JSON (the aggregates behind a corpus page) apart from a report's data:
its "format" field. Torch-free and importing nothing, so `reportgen render` can tell the two apart before
it reads either (`document.py` writes and reads the rest)."""

from __future__ import annotations

CORPUS_AGGREGATES_FORMAT = "reportgen-corpus-aggregates"
"""The "format" of a `reportgen corpus` NAME.json (and the key of its Parquet scores' metadata): not a report's
data, so `reportgen render` names it."""


def is_corpus_document(data: object) -> bool:
    """Whether parsed JSON is a `reportgen corpus` file (the aggregates behind a corpus page)."""
    return isinstance(data, dict) and data.get("format") == CORPUS_AGGREGATES_FORMAT
