from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.builders import make_classifier, make_encoder_dir, make_hf_dir, save_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def encoder_dir(tmp_path_factory) -> Path:
    return make_encoder_dir(tmp_path_factory.mktemp("encoder"))


@pytest.fixture(scope="session")
def checkpoints(encoder_dir, tmp_path_factory) -> dict[str, Path]:
    """Two checkpoints in the user's format: different weights, same architecture."""
    folder = tmp_path_factory.mktemp("checkpoints")
    return {
        "base": save_checkpoint(make_classifier(encoder_dir, seed=1), folder / "base.pth"),
        "finetuned": save_checkpoint(make_classifier(encoder_dir, seed=2), folder / "finetuned.pth",
                                     legacy_position_ids=True),
    }


@pytest.fixture(scope="session")
def hf_dir(encoder_dir, tmp_path_factory) -> Path:
    return make_hf_dir(encoder_dir, tmp_path_factory.mktemp("hf") / "model", seed=3)
