"""`reportgen demo`: a base and a fine-tuned classifier trained for real, on local assets — then the report.

Trains a base (frozen encoder) and a fine-tuned classifier in the mean-pooled BERT state-dict format
(docs/models.md) on real IMDB reviews, caches them, measures both on held-out reviews, picks the
cases that show the point of the tool, and explains them through the same code path as
`reportgen report` (the checkpoints are loaded back from disk like any others).
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import replace
from pathlib import Path

import click
import torch

from reportgen.api import ExplainedReport
from reportgen.demo.assets import CLASS_NAMES, SEED_DATASET, DemoAssets, imdb_rows, locate_assets, seed_reviews
from reportgen.demo.cache import CheckpointCache
from reportgen.demo.training import TrainSettings, pretrained_classifier, split_rows, train_base, train_finetuned
from reportgen.errors import ReportgenError
from reportgen.loading.data import Rows
from reportgen.loading.device import resolve_device
from reportgen.loading.inputs import encode
from reportgen.loading.models import LoadedModel, load_model
from reportgen.output import check_writable
from reportgen.pipeline import ExplainOptions, Texts, explain
from reportgen.scan.layout import ScanRow
from reportgen.scan.predict import predict_rows
from reportgen.scan.selection import count_outcomes, format_outcomes, select_rows


def train_both(assets: DemoAssets, rows: Rows, train: list[int], settings: TrainSettings,
               device: torch.device, progress: bool) -> dict[str, dict[str, torch.Tensor]]:
    """Both regimes from the same pretrained encoder and the same seeded head."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(assets.encoder_dir)
    inputs = encode(tokenizer, rows.texts(train), settings.max_length, pad_to_max_length=True)
    labels = [int(label) for label in rows.labels(train)]
    states = {}
    base = pretrained_classifier(assets.encoder_dir, settings).to(device)
    train_base(base, inputs, labels, settings, progress)
    states["base"] = {k: v.cpu() for k, v in base.state_dict().items()}
    del base
    finetuned = pretrained_classifier(assets.encoder_dir, settings).to(device)
    train_finetuned(finetuned, inputs, labels, settings, progress)
    states["finetuned"] = {k: v.cpu() for k, v in finetuned.state_dict().items()}
    return states


def evaluate(models: dict[str, LoadedModel], rows: Rows, heldout: list[int], max_length: int,
             progress: bool) -> list[ScanRow]:
    """Both models on the held-out reviews, through the same batched path as `reportgen scan`."""
    from tqdm.auto import tqdm

    out: list[ScanRow] = []
    with tqdm(total=len(heldout), desc="held-out reviews", unit="review", disable=not progress) as bar:
        for batch in predict_rows(models, rows, heldout, max_length=max_length, batch_size=16, precision="fp32"):
            out.extend(batch)
            bar.update(len(batch))
    return out


def heldout_predictions(cache: CheckpointCache, models: dict[str, LoadedModel], rows: Rows, heldout: list[int],
                        device: torch.device, progress: bool) -> list[ScanRow]:
    """`evaluate`, once per pair of checkpoints: the verdicts are cached beside them, keyed by their SHA-256
    and the settings, so a cached demo only computes the attributions it draws."""
    key = cache.predictions_key({role: str(model.info.sha256) for role, model in models.items()}, heldout,
                                device.type)
    scanned = cache.predictions(key)
    if scanned is not None:
        click.echo(f"Using cached predictions for the {len(scanned)} held-out reviews", err=True)
        return scanned
    scanned = evaluate(models, rows, heldout, cache.settings.max_length, progress)
    cache.save_predictions(key, scanned)
    return scanned


def pick_cases(scanned: list[ScanRow], rows: Rows, max_length: int, tokenizer) -> list[ScanRow]:
    """Base wrong & fine-tuned right (two), the reverse (one, if any), both right (one).

    Among untruncated reviews only, so the whole review is on the page; within each kind, the
    largest probability gap between the models comes first.
    """
    lengths = [len(ids) for ids in tokenizer(rows.texts([r.index for r in scanned]), verbose=False)["input_ids"]]
    fits = [r for r, n in zip(scanned, lengths) if n <= max_length]
    both_right = [r for r in fits if r.wrong("base") is False and r.wrong("finetuned") is False]
    picked = select_rows(fits, "base-wrong", 2, "gap") if any(r.wrong("base") and not r.wrong("finetuned")
                                                              for r in fits) else []
    if any(r.wrong("finetuned") and not r.wrong("base") for r in fits):
        picked += select_rows(fits, "finetuned-wrong", 1, "gap")
    picked += sorted(both_right, key=lambda r: (-min(r.base_prob, r.finetuned_prob), r.index))[:1]
    if not picked:
        raise ReportgenError("no held-out review fits --max-length; raise --max-length")
    return picked


def run_demo(settings: TrainSettings, options: ExplainOptions, *, device: str, cache_dir: Path, retrain: bool,
             seed_reviews_only: bool, output: Path, json_path: Path | None = None,
             markdown_path: Path | None = None) -> None:
    """Train (or reuse) the demo's two classifiers with `settings` and write a report of chosen held-out
    reviews (or the four seed reviews) with `options`, which explain them at the length the models were
    trained at: `options.max_length` is `settings.max_length`."""
    started = time.monotonic()
    settings.check()
    options = replace(options, max_length=settings.max_length)
    options.check()  # before minutes of training, not after
    max_length, progress = settings.max_length, options.progress
    check_writable([output, json_path, markdown_path])  # before minutes of training, not after
    where = resolve_device(device)
    assets = locate_assets()
    cache = CheckpointCache(cache_dir, settings, assets.versions)
    training = retrain or not cache.complete()
    if training:  # said before anything slow, reading the reviews included
        click.echo(f"Training two classifiers on {settings.train_size} IMDB reviews ({max_length} tokens, "
                   f"{settings.epochs} epoch(s) of fine-tuning) on {where}. {TRAINING_TIME} This machine has "
                   f"{os.cpu_count()} CPU cores.", err=True)
    rows = imdb_rows(assets.reviews_csv, progress)
    train, heldout = split_rows(len(rows), settings)
    if training:
        states = train_both(assets, rows, train, settings, where, progress)
        cache.save(states, {"settings": settings.to_dict(), "train_rows": len(train), "heldout_rows": len(heldout),
                            "train_seconds": round(time.monotonic() - started, 1)})
    else:
        click.echo(f"Using cached checkpoints in {cache.folder}: no training. {CACHED_TIME}", err=True)
    models = {role: load_model(str(cache.path(role)), role=role, encoder=str(assets.encoder_dir),
                               pooling="mean-all", device=where) for role in ("base", "finetuned")}
    scanned = heldout_predictions(cache, models, rows, heldout, where, progress)
    outcomes = count_outcomes(scanned)
    click.echo(format_outcomes(outcomes), err=True)
    if seed_reviews_only:
        seeds = seed_reviews()
        texts = Texts(texts=[s.text for s in seeds], indices=[s.index for s in seeds], labels=[s.label for s in seeds],
                      class_names=CLASS_NAMES, dataset=SEED_DATASET, split="test")
    else:
        cases = pick_cases(scanned, rows, max_length, models["base"].tokenizer)
        chosen = [r.index for r in cases]
        texts = Texts(texts=rows.texts(chosen), indices=chosen, labels=rows.labels(chosen), class_names=CLASS_NAMES,
                      dataset=f"{rows.name}, held-out rows", split=rows.split)
    report = explain(models, texts, options)
    ExplainedReport(report).save(output, json=json_path, markdown=markdown_path)
    accuracy = {role: outcomes.accuracy(role) for role in ("base", "finetuned")}
    click.echo(f"Held-out accuracy on {len(heldout)} reviews: base {accuracy['base']:.1%}, "
               f"fine-tuned {accuracy['finetuned']:.1%}.", err=True)
    click.echo(f"Wrote {output}" + "".join(f", {p}" for p in (json_path, markdown_path) if p)
               + f" in {time.monotonic() - started:.0f} s. Open it in a browser: {output.resolve().as_uri()}", err=True)
    click.echo(reuse_hint(cache, assets.encoder_dir, max_length), err=True)


TRAINING_TIME = ("With the default sizes this takes about 6 minutes on 2 idle CPU cores, up to half an hour when "
                 "other jobs share them (more reviews, tokens or epochs take longer; not measured on a GPU). "
                 "Progress bars show the rest; later runs reuse the cached checkpoints.")
CACHED_TIME = ("The report takes several minutes on a CPU (most of it the flip test and the normalised-AOPC "
               "bounds); its header says where the time went.")
"""Measured with `reportgen demo` on a 2-core x86_64 CPU (docs/demo.md): 5 min 43 s cold on a mostly idle
machine, 26 min on one that other jobs kept busy; with cached checkpoints 9 min 8 s on one core beside
other jobs (49 s before the flip test and NAOPC)."""


def reuse_hint(cache: CheckpointCache, encoder_dir: Path, max_length: int) -> str:
    """Where the demo's models are and a `reportgen report` command, ready to run, that explains a text with them."""
    command = ["reportgen", "report", "--base", str(cache.path("base")), "--finetuned", str(cache.path("finetuned")),
               "--encoder", str(encoder_dir), "--max-length", str(max_length), "--label-names",
               ",".join(CLASS_NAMES), "--text", "A slow start, then a wonderful film.", "-o", "my-report.html"]
    return (f"The demo's models are cached in {cache.folder} (base.pth, finetuned.pth); their encoder is "
            f"{encoder_dir}. Explain your own text with them:\n  {shlex.join(command)}")
