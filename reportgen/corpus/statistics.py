"""A corpus's statistics as data (`Aggregates`): each word's estimates with their bootstrap intervals, per
outcome group, the examples shown for it, and the options they were computed with; to and from the corpus
JSON's body. Computed in `aggregate.py`; read, torch-free, by the corpus document and the corpus page.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from reportgen.errors import ReportgenError
from reportgen.scan.selection import Outcomes

GROUPS: dict[str, str] = {
    "all": "every row",
    "base-wrong": "base wrong, fine-tuned right",
    "finetuned-wrong": "base right, fine-tuned wrong",
    "both-right": "both right",
    "both-wrong": "both wrong",
}
CONFIDENCE = 0.95


@dataclass
class AggregateOptions:
    min_count: int = 20  # rows a word must occur in (within a group) to get statistics
    bootstrap: int = 1000  # replicates
    seed: int = 0
    top_words: int = 15  # words listed per direction
    examples: int = 3  # example rows per listed word
    keep_punctuation: bool = False  # words without a letter or digit ("," "." "<") count too

    def check(self) -> None:
        for name, least in (("min_count", 1), ("bootstrap", 10), ("top_words", 1), ("examples", 0)):
            if getattr(self, name) < least:
                option = "--" + name.replace("_", "-")
                raise ReportgenError(f"{option} must be at least {least} (got {getattr(self, name)})")


@dataclass
class Estimate:
    """A mean share (of a model's Σ|score|) and its 95 % bootstrap interval."""

    mean: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass
class WordStats:
    word: str  # lower-cased
    rows: int  # rows that contain the word
    occurrences: int
    base: Estimate
    finetuned: Estimate
    difference: Estimate  # fine-tuned − base


@dataclass
class SnippetWord:
    text: str
    lead: str  # " " before the word, or "" where it touches the word before ("don" + "'" + "t")
    base: float  # the word's share of each model's influence on the row
    finetuned: float
    focus: bool  # the word the example is about


@dataclass
class Example:
    """A row where the word's change is most visible, with the words around its occurrence."""

    word: str
    index: int
    label: int | None
    target: int
    base_pred: int
    base_prob: float
    finetuned_pred: int
    finetuned_prob: float
    base_share: float  # the shown occurrence's shares
    finetuned_share: float
    snippet: list[SnippetWord]
    cut_before: bool
    cut_after: bool


@dataclass
class GroupStats:
    name: str
    title: str
    rows: int
    words: list[WordStats]  # every word with at least min_count rows, most gained first
    more: list[WordStats]  # the words fine-tuning gave most more of the say, surest first
    less: list[WordStats]


@dataclass
class Aggregates:
    rows: int
    outcomes: Outcomes | None  # None when the rows have no labels
    groups: dict[str, GroupStats]
    examples: dict[str, list[Example]]  # by word, for the "all" group's listed words
    options: AggregateOptions = field(default_factory=AggregateOptions)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "outcomes": self.outcomes.to_dict() if self.outcomes else None,
                "options": asdict(self.options), "confidence": CONFIDENCE,
                "groups": {name: {"title": g.title, "rows": g.rows, "words": [asdict(w) for w in g.words],
                                  "more": [w.word for w in g.more], "less": [w.word for w in g.less]}
                           for name, g in self.groups.items()},
                "examples": {word: [asdict(e) for e in items] for word, items in self.examples.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Aggregates:
        """The inverse of `to_dict` (the corpus JSON's body): KeyError or TypeError when a field is missing."""
        groups = {}
        for name, group in data["groups"].items():
            words = [WordStats(word=w["word"], rows=w["rows"], occurrences=w["occurrences"],
                               **{part: _estimate(w[part]) for part in ("base", "finetuned", "difference")})
                     for w in group["words"]]
            by_word = {w.word: w for w in words}
            groups[name] = GroupStats(name=name, title=group["title"], rows=group["rows"], words=words,
                                      more=[by_word[w] for w in group["more"]],
                                      less=[by_word[w] for w in group["less"]])
        examples = {word: [Example(**{**e, "snippet": [SnippetWord(**w) for w in e["snippet"]]}) for e in items]
                    for word, items in data["examples"].items()}
        outcomes = data["outcomes"]
        return cls(rows=data["rows"], groups=groups, examples=examples, options=AggregateOptions(**data["options"]),
                   outcomes=None if outcomes is None else Outcomes(**{k: v for k, v in outcomes.items()
                                                                      if k != "accuracy"}))

    def word_table(self) -> list[dict[str, Any]]:
        """One flat record per (group, word), for the aggregates' Parquet file."""
        return [{"group": name, "word": w.word, "rows": w.rows, "occurrences": w.occurrences,
                 **{f"{part}_{key}": getattr(getattr(w, part), key)
                    for part in ("base", "finetuned", "difference") for key in ("mean", "low", "high")}}
                for name, g in self.groups.items() for w in g.words]


def _estimate(data: dict[str, float | None]) -> Estimate:
    """An Estimate from JSON, where an interval no replicate could estimate (NaN) was written as null."""
    return Estimate(**{key: math.nan if value is None else value for key, value in data.items()})

