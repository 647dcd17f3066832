"""Trained demo checkpoints, cached by everything that changes their weights."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch

from reportgen.demo.training import TrainSettings

CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """`$REPORTGEN_CACHE`, else `$XDG_CACHE_HOME/reportgen`, else `~/.cache/reportgen`."""
    if os.environ.get("REPORTGEN_CACHE"):
        return Path(os.environ["REPORTGEN_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "reportgen"


def cache_key(settings: TrainSettings, versions: dict[str, str]) -> str:
    payload = json.dumps({"v": CACHE_VERSION, "settings": settings.to_dict(), "assets": versions}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


class CheckpointCache:
    """A folder per training setting: base.pth, finetuned.pth and what training measured."""

    def __init__(self, root: Path, settings: TrainSettings, versions: dict[str, str]) -> None:
        self.folder = root / f"demo-{cache_key(settings, versions)}"

    def path(self, role: str) -> Path:
        return self.folder / f"{role}.pth"

    @property
    def info_path(self) -> Path:
        return self.folder / "training.json"

    def complete(self) -> bool:
        return all(p.is_file() for p in (self.path("base"), self.path("finetuned"), self.info_path))

    def save(self, state_dicts: dict[str, dict[str, torch.Tensor]], info: dict[str, object]) -> None:
        """Write each file to a temporary sibling and rename: an interrupted run leaves no half checkpoint."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for role, state in state_dicts.items():
            _atomic(self.path(role), lambda handle, s=state: torch.save(s, handle))
        _atomic(self.info_path, lambda handle: handle.write(json.dumps(info, indent=1).encode()))

    def info(self) -> dict[str, object]:
        return json.loads(self.info_path.read_text())


def _atomic(path: Path, write) -> None:
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            write(handle)
        os.replace(handle.name, path)
    finally:
        Path(handle.name).unlink(missing_ok=True)
