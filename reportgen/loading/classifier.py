"""The user's classifier module: a BERT encoder, pooled over positions, then an MLP head.

It mirrors the user's training code exactly (attribute names `bert`, `dropout`, `classifier`),
so that their `state_dict` checkpoints load without renaming and predictions match theirs.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from transformers import BertConfig, BertModel

from reportgen.errors import ReportgenError

POOLINGS = ("mean-all", "masked-mean", "cls")
"""mean-all: mean over every position, padding included (the user's model); masked-mean: mean
over real tokens only; cls: the [CLS] position's hidden state."""

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
    """Linear-ReLU-Dropout blocks ending in a Linear: widths [768, 256, 2] is the user's head."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers += [nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


def head_widths(state_dict: Mapping[str, torch.Tensor]) -> list[int]:
    """Read the head's layer widths from `classifier.{0,3,6,…}.weight`, never assume them."""
    indices = sorted(
        int(key.split(".")[1])
        for key in state_dict
        if key.startswith("classifier.") and key.endswith(".weight") and key.count(".") == 2
    )
    if not indices:
        raise ReportgenError(
            "the checkpoint has no 'classifier.0.weight': expected the head "
            "Sequential(Linear, ReLU, Dropout, Linear) saved as classifier.0.* and classifier.3.*"
        )
    if indices != list(range(0, 3 * len(indices), 3)):
        found = ", ".join(f"classifier.{i}.weight" for i in indices)
        raise ReportgenError(
            f"unsupported classifier head layout ({found}); expected Linear layers at "
            "classifier.0, classifier.3, … with ReLU and Dropout between them"
        )
    shapes = [tuple(state_dict[f"classifier.{i}.weight"].shape) for i in indices]
    widths = [shapes[0][1]] + [shape[0] for shape in shapes]
    return widths


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
                inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           inputs_embeds=inputs_embeds).last_hidden_state
        return self.classifier(self.dropout(pool(hidden, attention_mask, self.pooling)))


def _shape(tensor: torch.Tensor) -> str:
    return "(" + ", ".join(str(d) for d in tensor.shape) + ")"


def check_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Fail with the first offending key, both shapes, and how many more there are."""
    expected = model.state_dict()
    problems: list[str] = []
    for key, tensor in expected.items():
        if key not in state_dict:
            problems.append(f"key '{key}' is missing from the checkpoint (the model expects shape {_shape(tensor)})")
        elif tuple(state_dict[key].shape) != tuple(tensor.shape):
            problems.append(
                f"key '{key}' has shape {_shape(state_dict[key])} in the checkpoint "
                f"but {_shape(tensor)} in the model built from the encoder config"
            )
    for key in state_dict:
        if key not in expected:
            problems.append(f"unexpected key '{key}' with shape {_shape(state_dict[key])}")
    if problems:
        more = f" (and {len(problems) - 1} more mismatch{'es' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise ReportgenError(f"{source} does not match its encoder: {problems[0]}{more}; "
                             "is --encoder the encoder this checkpoint was trained from?")


def classifier_from_state_dict(state_dict: Mapping[str, torch.Tensor], config: BertConfig,
                               pooling: str, source: str) -> PooledBertClassifier:
    """Build the module whose shapes the state dict describes, then load it strictly."""
    weights = {k: v for k, v in state_dict.items() if k not in LEGACY_KEYS}
    model = PooledBertClassifier(config, head_widths(weights), pooling=pooling,
                                 add_pooling_layer="bert.pooler.dense.weight" in weights)
    check_state_dict(model, weights, source)
    model.load_state_dict(weights, strict=True)
    return model
