"""The plain data model of a report and its JSON: what the HTML, the JSON and the Markdown are made from, so
that the outputs can never disagree. Nothing here computes attributions or formats HTML.

`model.py`: the dataclasses (numbers only: no rendered text) and the schema they are written in; `report.py`:
the whole `Report` and its JSON both ways; `json_io.py`: parsing, the schema check, validation and the classes
built from the checked dicts, the precision scores are stored with; `upgrades.py`: older schemas (1 → … → 9)
in today's shape, on reading. Everything is imported from here: `from reportgen.results import Report`.
"""

from reportgen.results.json_io import SIGNIFICANT_DIGITS, parse_json, stored
from reportgen.results.model import (
    BOUNDS_STAGE,
    FAITHFULNESS_STAGE,
    FLIP_STAGE,
    PREDICTION_STAGE,
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
from reportgen.results.report import Report
from reportgen.results.upgrades import (
    READABLE_SCHEMAS,
    upgrade_v1,
    upgrade_v2,
    upgrade_v3,
    upgrade_v4,
    upgrade_v5,
    upgrade_v6,
    words_from_wordpieces,
)

__all__ = [
    "BOUNDS_STAGE", "FAITHFULNESS_STAGE", "FLIP_STAGE", "PREDICTION_STAGE", "READABLE_SCHEMAS", "SCHEMA_VERSION",
    "SIGNIFICANT_DIGITS", "AopcBounds", "Curve", "Difference", "Faithfulness", "FaithfulnessMeta", "Flip",
    "MethodResult", "ModelAttribution", "ModelInfo", "Plausibility", "RandomFlips", "Report", "ReportMeta",
    "SampleResult", "Score", "Word", "parse_json", "stored", "upgrade_v1", "upgrade_v2", "upgrade_v3", "upgrade_v4",
    "upgrade_v5", "upgrade_v6", "words_from_wordpieces",
]
