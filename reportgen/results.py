"""The plain data model of a report: dataclasses that the HTML and the JSON are both made from.

Nothing here computes attributions or formats HTML; it only holds numbers and says how they
turn into JSON and back, so that the two outputs can never disagree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class ModelInfo:
    """Where a model came from, so a report can be traced back to exact weights."""

    role: str  # "base" or "finetuned"
    name: str  # file or directory name, or hub id
    source: str  # the path or hub id as given
    format: str  # "checkpoint" (the user's state dict) or "huggingface"
    sha256: str | None  # first 12 hex digits of the weights' SHA-256, when they are local files
    encoder: str | None  # config/tokenizer source for checkpoints
    pooling: str | None  # mean-all, masked-mean, cls; None for Hugging Face heads
    num_classes: int
    pads_to_max_length: bool


@dataclass
class ModelAttribution:
    """One model's verdict on one sample and the per-token scores that explain it."""

    probabilities: list[float]
    predicted: int
    target: int
    scores: list[float]  # one per non-padding token, aligned with SampleResult.tokens
    pad_share: float  # share of total |attribution| that fell on [PAD] positions
    convergence_delta: float | None  # integrated gradients only: sum(scores) - (F(x) - F(x'))
    target_logit_change: float | None  # F(x) - F(x'), the amount IG must explain

    @property
    def relative_delta(self) -> float | None:
        if self.convergence_delta is None or self.target_logit_change is None:
            return None
        return abs(self.convergence_delta) / max(abs(self.target_logit_change), 1e-12)


@dataclass
class SampleResult:
    """One explained text: its tokens and, per model role, the attribution."""

    index: int | None  # row in the dataset; None for free text
    label: int | None
    text: str
    tokens: list[str]  # without padding; [CLS] and [SEP] included
    truncated: bool
    models: dict[str, ModelAttribution] = field(default_factory=dict)


@dataclass
class ReportMeta:
    method: str
    steps: int | None
    quadrature: str | None
    target: str
    device: str
    max_length: int
    class_names: list[str]
    dataset: str | None
    split: str | None
    created: str
    versions: dict[str, str]
    models: list[ModelInfo]
    precision: str = "fp32"
    schema_version: int = SCHEMA_VERSION


@dataclass
class Report:
    meta: ReportMeta
    samples: list[SampleResult]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        meta = dict(data["meta"])
        meta["models"] = [ModelInfo(**m) for m in meta["models"]]
        samples = []
        for s in data["samples"]:
            models = {role: ModelAttribution(**m) for role, m in s["models"].items()}
            samples.append(SampleResult(**{**s, "models": models}))
        return cls(meta=ReportMeta(**meta), samples=samples)

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))
