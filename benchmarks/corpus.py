"""`reportgen corpus` throughput for 1 and N processes, and its memory against the number of rows.

Two parts, each running the real command in fresh processes (as a user would), so start-up,
model loading, the merge and the statistics are all in the wall time:

* throughput: the demo's two classifiers (the user's architecture, MiniLM encoder, 256 tokens,
  trained by `reportgen demo`) on its held-out IMDB reviews, once per process count
  (`python -m reportgen corpus` for 1, `torchrun --nproc-per-node N` otherwise); rows/s counts
  rows done by both models, from the first batch until every rank had finished;
* memory: tiny random models (tests/builders.py) on 500 … 8,000 generated rows, so that only the
  number of rows changes: the peak resident memory of the largest process (os.wait4).

Prints Markdown tables for docs/corpus.md.

    python benchmarks/corpus.py                                   # after `reportgen demo`
    python benchmarks/corpus.py --processes 1 2 4 --throughput-rows 256 --device cuda   # a GPU box
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from reportgen.choices import CORPUS_METHOD  # noqa: E402
from reportgen.methods import METHODS  # noqa: E402

ENV = os.environ | {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(args: list[str], processes: int, cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB, largest process) of `reportgen …` on `processes` processes."""
    if processes == 1:
        command = [sys.executable, "-m", "reportgen", *args]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
                   "--master-addr", "127.0.0.1", "--master-port", str(free_port()), "-m", "reportgen", *args]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage: its workers included, no earlier run
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"failed ({child.returncode}): {' '.join(command)}\n{errors.read()[-3000:]}")
    return seconds, usage.ru_maxrss // 1024


def demo_inputs(rows: int, folder: Path) -> list[str]:
    """The demo's models and `rows` held-out reviews as a CSV: the corpus arguments for them."""
    from reportgen.demo.trained import trained_demo

    demo = trained_demo()
    chosen = demo.heldout[:rows]
    write_rows(folder / "reviews.csv", demo.rows.texts(chosen), demo.rows.labels(chosen))
    return ["--base", str(demo.checkpoint("base")), "--finetuned", str(demo.checkpoint("finetuned")),
            "--encoder", str(demo.assets.encoder_dir), "--max-length", str(demo.settings.max_length),
            "--dataset", str(folder / "reviews.csv"), "--label-names", "negative,positive"]


def write_rows(path: Path, texts: list[str], labels: list[int]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))


def tiny_inputs(rows: int, folder: Path) -> list[str]:
    from tests.builders import make_classifier, make_encoder_dir, random_texts, save_checkpoint

    encoder = folder / "encoder"
    if not encoder.is_dir():
        make_encoder_dir(encoder)
        for role, seed in (("base", 1), ("finetuned", 2)):
            save_checkpoint(make_classifier(encoder, seed=seed), folder / f"{role}.pth")
    write_rows(folder / f"rows-{rows}.csv", random_texts(rows), [i % 2 for i in range(rows)])
    return ["--base", str(folder / "base.pth"), "--finetuned", str(folder / "finetuned.pth"), "--encoder",
            str(encoder), "--max-length", "64", "--dataset", str(folder / f"rows-{rows}.csv")]


def corpus(inputs: list[str], output: Path, args: argparse.Namespace) -> list[str]:
    return ["corpus", *inputs, "--device", args.device, "--batch-size", args.batch_size, "--method", args.method,
            "-q", "--overwrite", "-o", str(output)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--throughput-rows", type=int, default=64, help="held-out reviews per throughput run")
    parser.add_argument("--memory-rows", type=int, nargs="*", default=[500, 2000, 8000],
                        help="rows per memory run (none: skip the memory part)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--method", default=CORPUS_METHOD, choices=METHODS)
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    import torch

    print(f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, device {args.device}, "
          f"batch {args.batch_size}\n")
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as temporary:
        folder = Path(temporary)
        if not args.skip_throughput:
            inputs = demo_inputs(args.throughput_rows, folder)
            print(f"Throughput: demo models, {args.throughput_rows} held-out reviews, 256 tokens, {args.method}\n")
            print("| processes | wall s (whole command) | attribution s | rows/s (attribution) | peak RSS MiB |")
            print("| ---: | ---: | ---: | ---: | ---: |")
            for processes in args.processes:
                output = folder / f"p{processes}.html"
                seconds, rss = run(corpus(inputs, output, args), processes, folder)
                meta = json.loads(output.with_suffix(".json").read_text())["meta"]
                rate = meta["computed"] / meta["attribution_seconds"]
                print(f"| {processes} | {seconds:.1f} | {meta['attribution_seconds']:.1f} | {rate:.2f} | {rss} |",
                      flush=True)
        if not args.memory_rows:
            return
        print(f"\nMemory against rows: tiny random models (hidden 32, 2 layers), 64 tokens, {args.method}, "
              "one process\n")
        print("| rows | wall s | rows/s (attribution) | peak RSS MiB | rows.parquet KiB |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for rows in args.memory_rows:
            output = folder / f"m{rows}.html"
            seconds, rss = run(corpus(tiny_inputs(rows, folder), output, args), 1, folder)
            meta = json.loads(output.with_suffix(".json").read_text())["meta"]
            size = (folder / f"m{rows}-scores" / "rows.parquet").stat().st_size // 1024
            print(f"| {rows:,} | {seconds:.1f} | {meta['computed'] / meta['attribution_seconds']:.0f} | {rss} | "
                  f"{size:,} |", flush=True)


if __name__ == "__main__":
    main()
