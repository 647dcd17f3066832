"""Which class each text's attribution explains: --target as common, predicted, label or a class.

`choose_targets` picks one class per text (single-label models), `explained_labels` the labels each text is
explained for (multi-label models); `class_index` reads a class given by name or index (also the corpus's
--target-class).
"""

from __future__ import annotations

import torch

from reportgen.choices import class_position
from reportgen.errors import OptionError


def class_index(spec: str, class_names: list[str], option: str, advice: str = "give") -> int:
    """A class given by name (case aside where that is unique: `choices.class_position`) or index, as its index;
    OptionError naming `option` (its keyword, e.g. "target_class") otherwise."""
    if (position := class_position(spec, class_names)) is not None:
        return position
    raise OptionError(f"{{{option}}} '{spec}': {advice} a class name ({', '.join(class_names)}) or an index "
                      f"below {len(class_names)}", option)


def target_class(target: str, class_names: list[str]) -> int | None:
    """A fixed --target as a class index (an index or a class name); None for common, predicted and label."""
    if target in ("common", "predicted", "label"):
        return None
    return class_index(target, class_names, "target", "use common, predicted, label, or")


def choose_targets(target: str, predicted: torch.Tensor, labels: list[int | None], class_names: list[str],
                   common: torch.Tensor | None = None) -> torch.Tensor:
    """The class whose logit each text's attribution explains; `common` is each text's common class
    (`comparison.common_class`), needed for target "common"."""
    if target == "common":
        if common is None:
            raise ValueError("target common needs each text's common class")
        return common.clone()
    if target == "label":
        missing = [i for i, label in enumerate(labels) if label is None]
        if missing:
            raise OptionError("{target} label: some texts have no label; use {target} predicted", "target")
        return torch.tensor(labels, dtype=torch.long)
    fixed = target_class(target, class_names)
    return predicted if fixed is None else torch.full_like(predicted, fixed)


def explained_labels(target: str, chosen: dict[str, torch.Tensor], probabilities: dict[str, torch.Tensor],
                     labels: list[int | list[int] | None], class_names: list[str],
                     indices: list[int | None] | None = None) -> list[list[int]]:
    """Multi-label models: the labels each text is explained for, in label order.

    `predicted` and `common`: every label either model predicts (probability above 0.5), or a model's most probable
    label where it predicts none; `label`: the row's label, or each of its true labels where it has a list of them
    (a row whose list is empty has none to explain: an error naming it, from `indices`); a class: that label.
    chosen, probabilities: per role, (texts, labels) from `LoadedModel.verdicts`.
    """
    if target == "label":  # a text without a label is refused by choose_targets
        singles = choose_targets(target, torch.zeros(len(labels), dtype=torch.long),
                                 [0 if isinstance(label, list) else label for label in labels], class_names)
        explained = []
        for i, (label, single) in enumerate(zip(labels, singles)):
            if label == []:
                row = f"row {indices[i]}" if indices and indices[i] is not None else f"text {i + 1}"
                raise OptionError(f"{{target}} label: {row} has no true label (an empty list), so nothing to "
                                  "explain; use {target} predicted, which explains each predicted label", "target")
            explained.append(list(label) if isinstance(label, list) else [int(single)])
        return explained
    if target not in ("common", "predicted"):  # common: both models explain each chosen label anyway
        return [[int(t)] for t in choose_targets(target, torch.zeros(len(labels), dtype=torch.long), labels,
                                                 class_names)]
    picked = torch.zeros_like(next(iter(chosen.values())))
    for role, flags in chosen.items():
        top = torch.nn.functional.one_hot(probabilities[role].argmax(dim=-1), flags.shape[1]).bool()
        picked |= torch.where(flags.any(dim=1, keepdim=True), flags, top)
    return [row.nonzero().flatten().tolist() for row in picked]

