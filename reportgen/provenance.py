"""Where a report came from, as it may be shared: model and dataset names without local paths, an encoder's hub
name, the library versions and the device. Used by reports (`pipeline`) and corpora (`commands.corpus`) alike.
"""

from __future__ import annotations

import json
import platform
from dataclasses import replace
from pathlib import Path

import torch

import reportgen
from reportgen.results import ModelInfo


def device_name(device: torch.device) -> str:
    """The device as a report names it: "cuda:0 (NVIDIA H100 …)" or "cpu (x86_64)"."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.machine()})"



def shareable_name(spec: str | None) -> str | None:
    """A path's last component (a hub id stays whole): reports must not carry local paths."""
    if spec is None:
        return None
    path = Path(spec).expanduser()
    return path.name if path.exists() or spec.startswith((".", "/", "~")) else spec


def encoder_name(spec: str | None) -> str | None:
    """A local encoder by the hub name its config.json records (`_name_or_path`), else its folder's name."""
    if spec is None:
        return None
    path = Path(spec).expanduser()
    if path.is_dir():
        try:
            recorded = json.loads((path / "config.json").read_text(encoding="utf-8")).get("_name_or_path")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if isinstance(recorded, str) and recorded and not recorded.startswith(("/", ".", "~")) \
                and not Path(recorded).is_absolute():
            return recorded
        return path.name
    return shareable_name(spec)


def shareable_info(info: ModelInfo) -> ModelInfo:
    return replace(info, source=shareable_name(info.source) or info.name, encoder=encoder_name(info.encoder))



def versions() -> dict[str, str]:
    """The versions that computed a report: reportgen, torch, transformers, python."""
    import transformers

    return {"reportgen": reportgen.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "python": platform.python_version()}
