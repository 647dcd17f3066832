"""The classifier module of mean-pooled BERT state dicts: a BERT encoder, pooled over positions, then an
MLP head.

It mirrors the training code of such checkpoints exactly (attribute names `bert`, `dropout`, `classifier`),
so that their `state_dict` checkpoints load without renaming and predictions match the originals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn
from transformers import BertConfig, BertModel

from reportgen.choices import POOLINGS
from reportgen.errors import OptionError, ReportgenError

LEGACY_KEYS = ("bert.embeddings.position_ids",)
"""Buffers that older transformers versions saved in the state dict; they carry no weights."""


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None, pooling: str) -> torch.Tensor:
    """Reduce (batch, seq, hidden) to (batch, hidden) the way the classifier was trained."""
    if pooling == "mean-all":
        return hidden.mean(dim=1)
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "masked-mean":
        if attention_mask is None:
            return hidden.mean(dim=1)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    raise ReportgenError(f"unknown pooling '{pooling}'; choose one of {', '.join(POOLINGS)}")


def build_head(widths: list[int], dropout: float) -> nn.Sequential:
    """Linear-ReLU-Dropout blocks ending in a Linear: widths [768, 256, 2] is a bert-base head."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers += [nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


HEAD_KEY = re.compile(r"classifier\.(\d+)\.(weight|bias)")
"""A parameter of the head's Sequential: its Linear layers sit at classifier.0, classifier.3, …"""


def head_widths(state_dict: Mapping[str, torch.Tensor], hidden_size: int, source: str) -> list[int]:
    """The head's widths ([hidden, 256, C] for the usual head), read from the state dict, never assumed.

    Every `classifier.N.weight` and `.bias` counts (a bias gives its layer's width too), so a missing
    tensor is reported by name instead of silently describing a shallower head.
    """
    outputs: dict[int, int] = {}
    # weights come last, so a weight's width wins over its bias's; shape errors are check_state_dict's
    for key, tensor in sorted(state_dict.items(), key=lambda item: item[0].endswith(".weight")):
        match = HEAD_KEY.fullmatch(key)
        if match and tensor.dim() >= 1:
            outputs[int(match.group(1))] = tensor.shape[0]
    if not outputs:
        raise ReportgenError(
            f"{source} has no 'classifier.0.weight': expected the head "
            "Sequential(Linear, ReLU, Dropout, Linear) saved as classifier.0.* and classifier.3.*"
        )
    layout = range(0, max(outputs) + 1, 3)
    if set(outputs) - set(layout):
        found = ", ".join(f"classifier.{i}.*" for i in sorted(outputs))
        raise ReportgenError(
            f"{source}: unsupported classifier head layout ({found}); expected Linear layers at "
            "classifier.0, classifier.3, … with ReLU and Dropout between them"
        )
    missing = [f"classifier.{i}.{name}" for i in layout if i not in outputs for name in ("weight", "bias")]
    if missing:
        raise mismatch_error(source, [(key, f"key '{key}' is missing from the checkpoint") for key in missing])
    return [hidden_size] + [outputs[i] for i in layout]


class PooledBertClassifier(nn.Module):
    """`bert` → pool over positions → `dropout` → `classifier` (MLP), as the user trained it."""

    def __init__(self, config: BertConfig, widths: list[int], pooling: str = "mean-all",
                 add_pooling_layer: bool = True, dropout: float = 0.1) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ReportgenError(f"unknown pooling '{pooling}'; choose one of {', '.join(POOLINGS)}")
        self.bert = BertModel(config, add_pooling_layer=add_pooling_layer)
        self.dropout = nn.Dropout(dropout)
        self.classifier = build_head(widths, dropout)
        self.pooling = pooling

    @property
    def num_classes(self) -> int:
        return self.classifier[-1].out_features

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                           token_type_ids=token_type_ids).last_hidden_state
        return self.classifier(self.dropout(pool(hidden, attention_mask, self.pooling)))


def _shape(tensor: torch.Tensor) -> str:
    return "(" + ", ".join(str(d) for d in tensor.shape) + ")"


def mismatch_error(source: str, problems: list[tuple[str, str]]) -> ReportgenError:
    """One line for (key, problem) pairs: the first problem, how many more, and the likely fix.

    An encoder key points at the wrong --encoder; any other key at an incomplete or foreign checkpoint.
    """
    key, first = problems[0]
    more = len(problems) - 1
    extra = f" (and {more} more mismatch{'es' if more > 1 else ''})" if more else ""
    if key.startswith("bert."):
        return OptionError(f"{source} does not match its encoder: {first}{extra}; "
                           "is {encoder} the encoder this checkpoint was trained from?", "encoder")
    return ReportgenError(f"{source} does not match the classifier module (bert, dropout, classifier): "
                          f"{first}{extra}; save the complete model with torch.save(model.state_dict(), path)")


def check_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Fail with the first offending key, both shapes, and how many more there are."""
    expected = model.state_dict()
    problems: list[tuple[str, str]] = []
    for key, tensor in expected.items():
        if key not in state_dict:
            problems.append((key, f"key '{key}' is missing from the checkpoint "
                                  f"(the model expects shape {_shape(tensor)})"))
        elif tuple(state_dict[key].shape) != tuple(tensor.shape):
            problems.append((key, f"key '{key}' has shape {_shape(state_dict[key])} in the checkpoint "
                                  f"but {_shape(tensor)} in the model built from the encoder config"))
    for key in state_dict:
        if key not in expected:
            problems.append((key, f"unexpected key '{key}' with shape {_shape(state_dict[key])}"))
    if problems:
        raise mismatch_error(source, problems)


def classifier_from_state_dict(state_dict: Mapping[str, torch.Tensor], config: BertConfig,
                               pooling: str, source: str) -> PooledBertClassifier:
    """Build the module whose shapes the state dict describes, then load it strictly."""
    weights = {k: v for k, v in state_dict.items() if k not in LEGACY_KEYS}
    model = PooledBertClassifier(config, head_widths(weights, config.hidden_size, source), pooling=pooling,
                                 add_pooling_layer="bert.pooler.dense.weight" in weights)
    check_state_dict(model, weights, source)
    model.load_state_dict(weights, strict=True)
    return model
