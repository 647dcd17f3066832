"""PEFT adapters (LoRA and the other kinds `peft` saves) as either model: a folder with `adapter_config.json`.

"Base vs fine-tuned" is often "the model without and with its adapter". An adapter folder is loaded onto its
base model (the adapter's `base_model_name_or_path`, or a local folder given as `--adapter-base` /
`adapter_base=`, for offline use) with the `peft` library, an optional extra (`pip install
"reportgen-saliency[peft]"`). The classification head saved with the adapter (`modules_to_save`) is the head
used. The adapter runs unmerged: its scores are the adapted model's own, with no merging error. The model's
note (the report's header) says what the column is: adapter type, rank, alpha, target modules, head, base
model; its hash covers the adapter's weights and the base model's local weight files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from reportgen.choices import role_word
from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.adapter_files import ADAPTER_CONFIG, adapter_weights
from reportgen.loading.hub import first_line, looks_like_path

INSTALL = 'pip install "reportgen-saliency[peft]"'
HEAD_PREFIX = "base_model.model."
"""How PEFT names a saved module of the wrapped model in an adapter's weights (`base_model.model.score.weight`)."""


def require_peft(what: str) -> None:
    """ReportgenError in one line naming the install command when the optional `peft` library is missing."""
    try:
        import peft  # noqa: F401
    except ImportError:
        raise ReportgenError(f"{what} is a PEFT adapter, which needs the peft library: {INSTALL}") from None


def read_adapter_config(folder: Path, role: str) -> dict:
    """The adapter's `adapter_config.json` as a dict; ReportgenError for one that is not JSON."""
    try:
        config = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportgenError(f"cannot read the {role_word(role)} adapter's {folder / ADAPTER_CONFIG}: "
                             f"{first_line(exc)}") from None
    if not isinstance(config, dict):
        raise ReportgenError(f"the {role_word(role)} adapter's {folder / ADAPTER_CONFIG} is not a JSON object")
    return config


def base_of(folder: Path, config: Mapping, adapter_base: str | None, role: str) -> str:
    """Where the adapter's base model is: `adapter_base` when given, else the adapter's `base_model_name_or_path`."""
    if adapter_base:
        return adapter_base
    base = config.get("base_model_name_or_path")
    if not isinstance(base, str) or not base:
        raise OptionError(f"the {role_word(role)} adapter {folder} names no base model (base_model_name_or_path); "
                          "pass its base model's folder or hub id as {adapter_base}", "adapter_base")
    return base


def saved_head(folder: Path, config: Mapping) -> dict[str, torch.Tensor]:
    """The classification head's tensors saved with the adapter (`modules_to_save`), by their names in the model."""
    names = config.get("modules_to_save") or []
    weights = adapter_weights(folder)
    if not names or not weights:
        return {}
    if weights[0].suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(weights[0]))
    else:
        state = torch.load(weights[0], map_location="cpu", weights_only=True)
    return {key.removeprefix(HEAD_PREFIX): tensor for key, tensor in state.items()
            if any(key.startswith(f"{HEAD_PREFIX}{name}.") for name in names)}


def head_classes(head: Mapping[str, torch.Tensor]) -> int | None:
    """The classes a saved head outputs (its last linear layer's rows), or None when it cannot be told."""
    matrices = {key: tensor for key, tensor in head.items() if key.endswith("weight") and tensor.dim() == 2}
    last = [key for key in matrices if key.endswith("out_proj.weight")] or list(matrices)
    return int(matrices[last[0]].shape[0]) if len(last) == 1 else None


def describe(peft_config, base: str, head: str) -> str:
    """The header's words for an adapter: "LoRA adapter (rank 8, alpha 16, on q_proj, v_proj; head score saved
    with the adapter) on base model NAME"."""
    kind = str(getattr(peft_config, "peft_type", "PEFT")).split(".")[-1]
    kind = {"LORA": "LoRA", "IA3": "IA³", "ADALORA": "AdaLoRA"}.get(kind, kind)
    facts = []
    if getattr(peft_config, "r", None) is not None:
        facts.append(f"rank {peft_config.r}")
    if getattr(peft_config, "lora_alpha", None) is not None:
        facts.append(f"alpha {peft_config.lora_alpha:g}")
    targets = getattr(peft_config, "target_modules", None)
    if targets:
        facts.append("on " + (targets if isinstance(targets, str) else ", ".join(sorted(targets))))
    name = Path(base).name if looks_like_path(base) else base
    return f"{kind} adapter ({', '.join(facts + [head])}) on base model {name}"


def adapter_note(module: nn.Module) -> str | None:
    """The header's words for a PEFT model in memory (None for any other module)."""
    configs = getattr(module, "peft_config", None)
    if not type(module).__module__.startswith("peft") or not isinstance(configs, Mapping) or not configs:
        return None
    config = configs.get(getattr(module, "active_adapter", "default")) or next(iter(configs.values()))
    base = getattr(getattr(module, "config", None), "_name_or_path", None) or "(in memory)"
    saved = [name for name in (config.modules_to_save or []) if _wraps(module, name)]
    head = f"head {', '.join(saved)} trained with the adapter" if saved else "the base model's head"
    return describe(config, base, head)


def _wraps(module: nn.Module, name: str) -> bool:
    """Whether PEFT keeps its own copy of the module called `name` (a head in `modules_to_save`)."""
    return any(path.split(".")[-1] == name and type(sub).__name__ == "ModulesToSaveWrapper"
               for path, sub in module.named_modules())


def digest(paths: list[Path], base: str) -> str:
    """A short SHA-256 of the adapter's weights and config, the base model's local weight files (or its hub id)."""
    hashed = hashlib.sha256()
    base_dir = Path(base).expanduser()
    local = sorted(p for p in base_dir.glob("*.safetensors")) + sorted(base_dir.glob("pytorch_model*.bin")) \
        if base_dir.is_dir() else []
    for path in paths + local:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hashed.update(chunk)
    if not local:
        hashed.update(base.encode())
    return hashed.hexdigest()[:12]


def apply_adapter(base_module: nn.Module, folder: Path, base: str, role: str) -> nn.Module:
    """The base model with the adapter in `folder` applied (PEFT, inference mode, unmerged). An adapter whose
    shapes do not fit the base model (trained on another one) is a ReportgenError naming the first tensor."""
    from peft import PeftModel

    try:
        return PeftModel.from_pretrained(base_module, str(folder), is_trainable=False)
    except Exception as exc:  # peft and torch's load errors: one line
        lines = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line] or [first_line(exc)]
        raise OptionError(f"the {role_word(role)} adapter {folder} does not fit its base model {base}: "
                          f"{lines[0].rstrip('.')}; "
                          "give the base model it was trained on as {adapter_base}", "adapter_base") from None
