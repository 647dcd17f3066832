"""Which attribution method is faithful for the demo's models, and what does each cost?

Runs every method on held-out IMDB reviews with both demo models (the seed checkpoints' architecture and
format, trained by `reportgen demo`), measures the ERASER metrics (comprehensiveness and
sufficiency, with their random references) and times the attribution and the metrics apart.
Prints a Markdown table for docs/faithfulness.md.

    python benchmarks/faithfulness.py --reviews 24        # after `reportgen demo` has cached the models
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import time
from pathlib import Path

import torch

from reportgen.attribution import AttributionSettings, MethodOptions, make_attributor
from reportgen.choices import DEFAULT_SHAPLEY_SAMPLES, DEFAULT_SURROGATE_SAMPLES
from reportgen.demo.trained import trained_demo
from reportgen.faithfulness import FaithfulnessSettings, forward_rows, measure_faithfulness, random_reference
from reportgen.faithfulness.summary import beats_random, mean_scores
from reportgen.inference import predict_logits
from reportgen.loading.inputs import encode
from reportgen.loading.models import load_model
from reportgen.methods import METHODS
from reportgen.pipeline import device_name


def surrogate_checks(result, count: int) -> list[dict]:
    """Per review, LIME's fit (adjusted weighted R²) and an additivity gap with its f(x) − f(no words), where the
    method reports them (`TokenScores.fit`, `.convergence_delta` and `.logit_change` of a word-value method)."""
    checks = [{} for _ in range(count)]
    if result.fit is not None:
        for check, fit in zip(checks, result.fit.tolist()):
            check["fit"] = fit
    if result.convergence_delta is not None and result.logit_change is not None:
        for check, gap, change in zip(checks, result.convergence_delta.tolist(), result.logit_change.tolist()):
            check.update(gap=gap, change=change)
    return checks


def check_summary(checks: list[dict]) -> str:
    """One line: the fit's median and range, the largest |gap| and its share of |f(x) − f(no words)|."""
    parts = []
    fits = sorted(c["fit"] for c in checks if "fit" in c and not math.isnan(c["fit"]))
    if any("fit" in c for c in checks) and not fits:
        parts.append("adjusted R² not measurable (fewer samples than words + 2)")
    if fits:
        parts.append(f"adjusted R² median {statistics.median(fits):.3f}, range {fits[0]:.3f}–{fits[-1]:.3f} "
                     f"({len(fits)} measurable)")
    gaps = [(abs(c["gap"]), abs(c["gap"]) / max(abs(c["change"]), 1e-12)) for c in checks if "gap" in c]
    if gaps:
        parts.append(f"largest |gap| {max(g for g, _ in gaps):.3g} logits, at most {max(r for _, r in gaps):.2%} "
                     "of |f(x) − f(no words)|")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviews", type=int, default=20, help="held-out reviews to explain")
    parser.add_argument("--offset", type=int, default=0,
                        help="skip this many held-out reviews first (to split a long run into parts)")
    parser.add_argument("--json", metavar="PATH",
                        help="also write every review's metrics here, to pool parts of a split run")
    parser.add_argument("--steps", type=int, default=50, help="integrated-gradients steps")
    parser.add_argument("--shapley-samples", type=int, default=DEFAULT_SHAPLEY_SAMPLES,
                        help="random orders of the words per review for shapley-sampling")
    parser.add_argument("--surrogate-samples", type=int, default=DEFAULT_SURROGATE_SAMPLES,
                        help="coalitions of the words per review for lime and kernel-shap")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args()
    torch.manual_seed(0)

    demo = trained_demo()
    settings = demo.settings
    chosen = demo.heldout[args.offset: args.offset + args.reviews]
    texts = demo.rows.texts(chosen)
    device = torch.device("cpu")
    models = {role: load_model(str(demo.checkpoint(role)), role=role, encoder=str(demo.assets.encoder_dir),
                               pooling="mean-all", device=device) for role in ("base", "finetuned")}
    print(f"{len(chosen)} held-out reviews (rows {chosen[0]}, {chosen[1]}, …), {settings.max_length} tokens, "
          f"{device_name(device)}, {torch.get_num_threads()} threads, batch {args.batch_size}\n")
    header = ("| method | model | comprehensiveness ↑ | random | sufficiency ↓ | random | "
              "beats random (comp / suff) | attribution s | own metric rows s |")
    print(header)
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    faith = FaithfulnessSettings(batch_size=args.batch_size)
    prepared, chance_seconds, per_review, notes = {}, {}, [], []
    for role, model in models.items():
        inputs = encode(model.tokenizer, texts, settings.max_length, model.info.pads_to_max_length)
        targets = predict_logits(model, inputs, batch_size=args.batch_size).argmax(dim=-1)
        started = time.perf_counter()
        chance = random_reference(model, inputs, targets, faith)  # shared by every method, as in a report
        chance_seconds[role] = time.perf_counter() - started
        prepared[role] = (inputs, targets, chance)
    for method in args.methods.split(","):
        for role, model in models.items():
            inputs, targets, chance = prepared[role]
            attributor = make_attributor(method, AttributionSettings(batch_size=args.batch_size),
                                         MethodOptions.from_keywords(steps=args.steps,
                                                                     shapley_samples=args.shapley_samples,
                                                                     surrogate_samples=args.surrogate_samples))
            started = time.perf_counter()
            result = attributor.attribute(model, inputs, targets)
            scores = result.scores
            attribution_seconds = time.perf_counter() - started
            started = time.perf_counter()
            metrics = measure_faithfulness(model, inputs, scores, targets, attributor.signed, faith, chance)
            metric_seconds = time.perf_counter() - started

            mean = mean_scores(metrics)
            checks = surrogate_checks(result, len(metrics))
            per_review += [{"method": method, "model": role, "heldout_row": row,
                            "beats_random": beats_random(m), **dataclasses.asdict(m), **check}
                           for row, m, check in zip(chosen, metrics, checks)]
            comp_wins = sum(beats_random(m)[0] for m in metrics)
            suff_wins = sum(beats_random(m)[1] for m in metrics)
            print(f"| {method} | {role} | {mean.comprehensiveness:.3f} | {mean.random_comprehensiveness:.3f} | "
                  f"{mean.sufficiency:.3f} | {mean.random_sufficiency:.3f} | "
                  f"{comp_wins}/{len(metrics)} / {suff_wins}/{len(metrics)} | {attribution_seconds:.1f} | "
                  f"{metric_seconds:.1f} |", flush=True)
            if any(checks):
                notes.append(f"{method} / {role}: " + check_summary(checks))
    for note in notes:
        print(note)
    if args.json:
        Path(args.json).write_text(json.dumps(per_review, indent=1, default=str))
    print("\nRandom reference (computed once per model, shared by every method): "
          + ", ".join(f"{role} {seconds:.1f} s" for role, seconds in chance_seconds.items()))
    print(f"Metrics: {forward_rows(1, faith, methods=1) - forward_rows(1, faith, methods=0)} forward rows per review, "
          f"model and method, plus {forward_rows(1, faith, methods=0)} for the shared random reference.")


if __name__ == "__main__":
    main()
