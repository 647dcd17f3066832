"""The demo's trained models and its held-out rows, for benchmarks and sample reports.

`reportgen demo` trains and caches the two classifiers; scripts that measure or show something
on them (benchmarks/faithfulness.py, benchmarks/corpus.py) find them here, with the reviews
neither model trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reportgen.demo.assets import DemoAssets, imdb_rows, locate_assets
from reportgen.demo.cache import CheckpointCache, default_cache_dir
from reportgen.demo.training import TrainSettings, split_rows
from reportgen.errors import ReportgenError
from reportgen.loading.data import Rows


@dataclass
class TrainedDemo:
    settings: TrainSettings
    assets: DemoAssets
    cache: CheckpointCache
    rows: Rows  # the IMDB reviews
    heldout: list[int]  # rows neither model trained on

    def checkpoint(self, role: str) -> Path:
        return self.cache.path(role)


def trained_demo(settings: TrainSettings | None = None) -> TrainedDemo:
    """The cached demo models for `settings` (default: the demo's defaults); an error if not trained yet."""
    settings = settings or TrainSettings()
    assets = locate_assets()
    cache = CheckpointCache(default_cache_dir(), settings, assets.versions)
    if not cache.complete():
        raise ReportgenError(f"no trained demo models in {cache.folder}: run `reportgen demo` first (with "
                             "REPORTGEN_CACHE pointing at its cache)")
    rows = imdb_rows(assets.reviews_csv)
    _, heldout = split_rows(len(rows), settings)
    return TrainedDemo(settings, assets, cache, rows, heldout)
