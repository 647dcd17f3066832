"""Predict many dataset rows with both models, batch by batch, forward passes only.

Rows run in batches of similar token length. Models whose pooling averages over every position
(`mean-all`) still see every text padded to `max_length`, exactly as in training:
their predictions depend on it; similar lengths only let attention skip the padding keys that
no query may see (`predict_logits`), which is exact. Models whose pooling ignores padding
(masked-mean, cls, Hugging Face heads) get each batch padded only to its longest text, which
saves most of the work on short texts without changing their predictions.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

import reportgen
from reportgen.choices import ROLES
from reportgen.inference import predict_logits
from reportgen.loading.checks import check_labels, same_inputs
from reportgen.loading.data import Rows
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel, Verdicts
from reportgen.scan.layout import FORMAT, FORMAT_VERSION, ScanRow

WINDOW_BATCHES = 16
"""Rows are tokenized, and sorted by length, this many batches at a time: enough to group
similar lengths, few enough that the first results are written within seconds."""


def local_or_name(spec: str) -> str:
    """An absolute path for something on disk (so a rerun from elsewhere matches), else the name as given."""
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else spec


def model_settings(models: dict[str, LoadedModel], max_length: int) -> dict[str, Any]:
    """Everything about the models that changes their predictions, flat so mismatches read well."""
    settings: dict[str, Any] = {}
    for role in ROLES:
        info = models[role].info
        settings[f"{role} weights"] = f"sha256:{info.sha256}" if info.sha256 else local_or_name(info.source)
        settings[f"{role} format"] = info.format
        settings[f"{role} encoder"] = local_or_name(info.encoder) if info.encoder else None
        settings[f"{role} pooling"] = info.pooling
    settings["max_length"] = max_length
    return settings


def dataset_settings(rows: Rows) -> dict[str, Any]:
    """Which dataset, columns and classes the rows come from; a different row count means another dataset."""
    pair = {} if rows.pair_column is None else {"text_pair_column": rows.pair_column}  # older scans: single texts
    return {"dataset": local_or_name(rows.name), "split": rows.split, "text_column": rows.text_column, **pair,
            "label_column": rows.label_column, "label_names": rows.class_names, "dataset_rows": len(rows)}


def scan_meta(models: dict[str, LoadedModel], rows: Rows, *, max_length: int, precision: str,
              class_names: list[str]) -> dict[str, Any]:
    """The header of a scan file: `settings` must match for a rerun to resume onto it."""
    settings = {**model_settings(models, max_length), "precision": precision, **dataset_settings(rows)}
    return {"format": FORMAT, "version": FORMAT_VERSION, "settings": settings, "class_names": class_names,
            "models": [asdict(models[role].info) for role in ROLES], "reportgen": reportgen.__version__,
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def trim_padding(inputs: EncodedTexts) -> EncodedTexts:
    """Drop the positions that are padding in every row (right or left padding alike)."""
    keep = inputs.attention_mask.bool().any(dim=0)
    if bool(keep.all()):
        return inputs
    return replace(inputs, input_ids=inputs.input_ids[:, keep], attention_mask=inputs.attention_mask[:, keep],
                   special_tokens_mask=inputs.special_tokens_mask[:, keep],
                   token_type_ids=None if inputs.token_type_ids is None else inputs.token_type_ids[:, keep])


def length_order(encoded: dict[str, EncodedTexts]) -> list[int]:
    """Positions sorted by token length (stable), so each batch holds texts of similar length."""
    lengths = [torch.as_tensor(inputs.lengths()) for inputs in encoded.values()]
    longest = torch.stack(lengths).amax(dim=0).tolist()
    return sorted(range(len(longest)), key=lambda i: longest[i])


def _verdicts(model: LoadedModel, inputs: EncodedTexts, positions: list[int], precision: str) -> Verdicts:
    batch = inputs.select(positions)
    if not model.info.pads_to_max_length:
        batch = trim_padding(batch)
    logits = predict_logits(model, batch, batch_size=len(positions), precision=precision)
    return Verdicts(*(verdict.cpu() for verdict in model.verdicts(logits)))


def make_row(index: int, label: int | None, verdicts: dict[str, Verdicts], i: int) -> ScanRow:
    """Row `i` of both models' verdicts as a scan row."""
    base, finetuned = verdicts["base"].probabilities[i], verdicts["finetuned"].probabilities[i]
    base_pred, finetuned_pred = int(verdicts["base"].predicted[i]), int(verdicts["finetuned"].predicted[i])
    return ScanRow(index=index, label=label, base_pred=base_pred, base_prob=round(float(base[base_pred]), 6),
                   finetuned_pred=finetuned_pred, finetuned_prob=round(float(finetuned[finetuned_pred]), 6),
                   gap=round(0.5 * float((base - finetuned).abs().sum()), 6))


@dataclass
class _Window:
    """A run of consecutive rows, tokenized for each model and put in the order they will run."""

    indices: list[int]
    labels: list[int | None]
    encoded: dict[str, EncodedTexts]
    order: list[int]


def _prepare(models: dict[str, LoadedModel], rows: Rows, indices: list[int], max_length: int,
             sort_by_length: bool) -> _Window:
    texts, labels = rows.texts(indices), rows.labels(indices)
    check_labels(indices, labels, models["base"].info.num_classes)
    encoded: dict[str, EncodedTexts] = {}
    for role, model in models.items():
        twin = next((r for r in encoded if same_inputs(models[r], model)), None)
        encoded[role] = encoded[twin] if twin else encode(model.tokenizer, texts, max_length,
                                                          model.info.pads_to_max_length, indices,
                                                          pairs=rows.pairs(indices))
    order = length_order(encoded) if sort_by_length else list(range(len(indices)))
    return _Window(indices, labels, encoded, order)


def predict_rows(models: dict[str, LoadedModel], rows: Rows, indices: list[int], *, max_length: int,
                 batch_size: int, precision: str, sort_by_length: bool = True) -> Iterator[list[ScanRow]]:
    """Yield one `ScanRow` per index, a batch at a time (in length order within each window).

    sort_by_length=False keeps index order (for comparisons; the predictions are the same). The
    next window is read and tokenized on a helper thread while the models work on this one (the
    tokenizer releases the GIL), so a fast GPU does not wait for the CPU.
    """
    size = batch_size * WINDOW_BATCHES
    starts = range(0, len(indices), size)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reportgen-tokenize")

    def submit(start: int) -> Future:
        return pool.submit(_prepare, models, rows, indices[start:start + size], max_length, sort_by_length)

    try:
        upcoming = submit(starts[0]) if starts else None
        for number in range(len(starts)):
            window = upcoming.result()
            upcoming = submit(starts[number + 1]) if number + 1 < len(starts) else None
            for first in range(0, len(window.order), batch_size):
                positions = window.order[first:first + batch_size]
                verdicts = {role: _verdicts(m, window.encoded[role], positions, precision)
                            for role, m in models.items()}
                yield [make_row(window.indices[p], window.labels[p], verdicts, i)
                       for i, p in enumerate(positions)]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C need not wait for a tokenization in flight
