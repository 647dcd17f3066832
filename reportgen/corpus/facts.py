"""What a corpus run did, as its JSON's "meta" keeps it and the corpus page's header says it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportgen.choices import UNNAMED, ScoreErrorEstimator, estimator_named
from reportgen.corpus.convergence import PathSummary
from reportgen.corpus.fit import FitSummary
from reportgen.results import ModelInfo


@dataclass
class CorpusFacts:
    """What was run, as the header says it: names and hashes only, never local paths (unless asked)."""

    models: list[ModelInfo]
    class_names: list[str]
    dataset: str | None
    split: str | None
    selection: str  # "the first 2,000 rows", …
    method: str
    # integrated gradients' steps, quadrature (and tolerance, max_steps, score_error_estimator with auto); else empty
    path: dict[str, Any]
    convergence: dict[str, PathSummary] | None  # per model, integrated gradients only
    target_class: int | None  # None: each row's true label
    max_length: int
    precision: str
    devices: str
    world_size: int
    seconds: float  # the whole command on rank 0: loading, attribution, merge, statistics
    attribution_seconds: float  # from the first batch until every rank had finished
    computed: int  # rows attributed by this run
    reused: int  # rows found in the store from earlier runs
    created: str
    versions: dict[str, str]
    command_prefix: str  # `reportgen report …` without --indices and -o, for the example rows
    outputs: list[str] = field(default_factory=list)  # file names of the aggregates beside the HTML
    fit: dict[str, FitSummary] | None = None  # per model, LIME only (corpus files before it: None)

    @property
    def estimator(self) -> ScoreErrorEstimator:
        """The estimator of the rows' score errors (auto steps): the one `path` names; in a corpus file from before it
        was named, the one of its day (`choices.UNNAMED`)."""
        return estimator_named(self.path.get("score_error_estimator", UNNAMED.name))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorpusFacts:
        """The corpus JSON's "meta" back (TypeError or KeyError when a field is missing or unknown)."""
        convergence, fit = data.get("convergence"), data.get("fit")
        return cls(**{**data, "models": [ModelInfo(**m) for m in data["models"]],
                      "convergence": None if convergence is None else {role: PathSummary(**summary)
                                                                       for role, summary in convergence.items()},
                      "fit": None if fit is None else {role: FitSummary(**summary) for role, summary in fit.items()}})
