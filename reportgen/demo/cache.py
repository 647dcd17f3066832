"""Trained demo checkpoints, cached by everything that changes their weights, and their held-out verdicts.

Scoring the held-out reviews takes most of a cached run's time and gives the same verdicts as long as
the checkpoints and settings are the same, so those verdicts are cached beside the checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import torch

from reportgen.demo.training import TrainSettings
from reportgen.output import atomic_file
from reportgen.scan.layout import ScanRow

CACHE_VERSION = 1
PREDICTIONS_VERSION = 1
"""Bump when the held-out verdicts would come out differently for the same checkpoints and settings."""


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
        self.settings = settings
        self.versions = versions

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
        self.predictions_path.unlink(missing_ok=True)  # verdicts of the checkpoints being replaced
        for role, state in state_dicts.items():
            with atomic_file(self.path(role)) as handle:
                torch.save(state, handle)
        with atomic_file(self.info_path) as handle:
            handle.write(json.dumps(info, indent=1).encode())

    def info(self) -> dict[str, object]:
        return json.loads(self.info_path.read_text())

    @property
    def predictions_path(self) -> Path:
        return self.folder / "heldout-predictions.json"

    def predictions_key(self, checkpoints: dict[str, str], heldout: list[int], device: str) -> dict[str, object]:
        """Everything the held-out verdicts depend on: the checkpoints' SHA-256 (by role), the rows, the
        settings, the assets, and the device type (a GPU's arithmetic can flip a near tie)."""
        return {"v": PREDICTIONS_VERSION, "checkpoints": dict(sorted(checkpoints.items())),
                "max_length": self.settings.max_length,
                "heldout_rows": hashlib.sha256(json.dumps(heldout).encode()).hexdigest(),
                "assets": self.versions, "device": device}

    def predictions(self, key: dict[str, object]) -> list[ScanRow] | None:
        """The verdicts saved for exactly `key`; None when there are none, they are for another key, or unreadable."""
        try:
            saved = json.loads(self.predictions_path.read_text())
            if saved["key"] != json.loads(json.dumps(key)):  # compared as JSON: tuples and lists alike
                return None
            return [ScanRow(**row) for row in saved["rows"]]
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save_predictions(self, key: dict[str, object], rows: list[ScanRow]) -> None:
        payload = json.dumps({"key": key, "rows": [asdict(row) for row in rows]})
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.predictions_path) as handle:
            handle.write(payload.encode())

