"""A whole report (`Report`: its meta and samples) and its JSON, both ways."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from reportgen.results.json_io import parse_json, report_parts, to_json
from reportgen.results.model import ReportMeta, SampleResult


@dataclass
class Report:
    meta: ReportMeta
    samples: list[SampleResult]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return to_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """A report from its JSON's dict, of any readable schema (upgraded, then checked: `json_io.report_parts`).

        A `reportgen corpus` file is no report's data and is refused like any other (its meta has no
        `schema_version`); the callers that may be handed one name it first (`ExplainedReport.from_parsed`,
        `reportgen render`: `corpus.format.is_corpus_document`)."""
        meta, samples = report_parts(data, cls)
        return cls(meta=meta, samples=samples)

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_parsed(parse_json(text))

    @classmethod
    def from_parsed(cls, data: Any) -> Report:
        """A report from parsed JSON; ReportgenError, in words, for anything that is not a report's data."""
        return cls.from_dict(data)
