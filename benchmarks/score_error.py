"""How far to trust IG's estimated score error: `--steps auto`'s `score_error` against a dense trapezoid reference.

For each chosen review and demo model this runs integrated gradients with `--steps auto` (`--tolerance`, default
1 %; `--max-steps`, default 257) and prints its steps; whether it converged by today's rule (`reportgen report
--help`, --tolerance: its scores' estimated error within the tolerance, or its completeness delta within it with
that error within the guard); whether its delta alone is above the tolerance (the rule before score errors,
report schemas before 7); its estimated relative L1 error of the scores; and — unless `--no-reference` — the
true one against a uniform trapezoid of `--nodes` nodes (≥ 1,025) of the same path. The estimate may over-state
the true error; it must never under-state it by more than 2×.

Three sets, as docs/benchmarks.md uses them:

- `--reviews 8`: the first 8 held-out reviews × both demo models, each model explaining its own predicted class,
  at `--max-length 512` (`benchmarks/adaptive_steps.py`'s 8 × 2);
- `--rows 60,66,97,164`: positions in the held-out list, the base model (`--role`) explaining the label, at the
  demo's 256 tokens (`benchmarks/cancelling_paths.py`'s rows, the corpus check's setting);
- `--rows … --role both`: the same positions for both models (the corpus-ig rows checked against references).
  `--role` picks the model(s) for either set: base for `--rows` unless given, both for `--reviews`.

`--integrands DIR` keeps each text's dense integrand (the `--nodes` values per token and F, one file per model,
row and length), written as soon as it is computed, so a long run can stop and go on, and the estimator can be
studied again without a model pass: `--replay` then runs `--steps auto`'s refinement on the stored integrand
(exactly the nodes `AdaptiveTrapezoid` asks for; the few it asks for between the dense nodes are computed), and
`--watch FILE` writes, for every round of every replayed sample, its true error and the ratio to it of each
estimator `candidates` compares (today's, schemas 7–9's interval sum, and the alternatives that were weighed).

Not a test: figures go in docs/benchmarks.md.

    REPORTGEN_CACHE=… python benchmarks/score_error.py --reviews 8 --max-length 512 --no-reference
    REPORTGEN_CACHE=… python benchmarks/score_error.py --rows 60,66,97,164 --nodes 1025 --integrands /tmp/paths
    REPORTGEN_CACHE=… python benchmarks/score_error.py --rows 60,66,97,164 --integrands /tmp/paths --replay
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from benchmarks.adaptive_steps import integrand  # noqa: E402
from reportgen.attribution import AttributionSettings, MethodOptions, PathSteps, make_attributor  # noqa: E402
from reportgen.attribution.integrated_gradients import GRID  # noqa: E402
from reportgen.choices import allowed_delta, budgets  # noqa: E402
from reportgen.demo.trained import trained_demo  # noqa: E402
from reportgen.inference import predict_logits  # noqa: E402
from reportgen.loading.inputs import encode  # noqa: E402
from reportgen.loading.models import load_model  # noqa: E402


def trapezoid(values: torch.Tensor) -> torch.Tensor:
    """The uniform trapezoid rule over the first axis of (nodes, …) values, in float64."""
    nodes = values.shape[0]
    weights = torch.full((nodes,), 1.0 / (nodes - 1), dtype=torch.float64)
    weights[[0, -1]] /= 2
    return torch.einsum("k,k...->...", weights, values.double())


def dense(model, inputs, targets, i: int, nodes: int, batch_size: int, store: Path | None, name: str) -> dict:
    """Text i's integrand on `nodes` uniform nodes: {"values": (nodes, seq) float32, "logits": (nodes,) float64},
    read from `store` when it holds it, else computed (and written there)."""
    path = store / f"{name}-{nodes}.pt" if store else None
    if path is not None and path.exists():
        return torch.load(path)
    values, logits = integrand(model, inputs.select([i]), targets[i:i + 1], np.linspace(0.0, 1.0, nodes), batch_size)
    data = {"values": values[0].clone(), "logits": logits[0].double().clone()}
    if path is not None:
        partial = path.with_suffix(".part")
        torch.save(data, partial)
        partial.replace(path)
    return data


class Watched(GRID):
    """AdaptiveTrapezoid that also keeps each interval's D (the change its halving made) for `candidates`."""

    def __init__(self, seq: int, max_nodes: int, device: torch.device) -> None:
        super().__init__(seq, max_nodes, device)
        self.changes = torch.zeros(max_nodes, seq, dtype=torch.float64)

    def split(self) -> None:
        for i, m in self._halving:
            a, b, _ = self.intervals[i]
            change = (self.alphas[b] - self.alphas[a]) / 4 * (2 * self.values[m] - self.values[a] - self.values[b])
            self.changes[a] = self.changes[m] = change.double()
        super().split()


def candidates(grid: Watched) -> dict[str, float]:
    """Estimates of the L1 error of the scores from one grid state (not relative)."""
    if not all(math.isfinite(t) for _, _, t in grid.intervals):
        return {}
    starts = [a for a, _, _ in grid.intervals]
    errors = torch.tensor(grid.errors(), dtype=torch.float64)
    shares = grid.moves[starts].double()
    changes = grid.changes[starts]
    ratio = (errors / changes.sum(dim=1)).nan_to_num(nan=0.0, posinf=1.0, neginf=-1.0).clamp(-1.0, 1.0)
    calibrated = changes * ratio.view(-1, 1)
    return {"old": sum(t for _, _, t in grid.intervals),
            "new": grid.score_error(),
            "new1": float(torch.maximum(shares.sum(dim=0).abs(), shares.square().sum(dim=0).sqrt()).sum()),
            "signed": float(shares.sum(dim=0).abs().sum()),
            "rss": float(shares.square().sum(dim=0).sqrt().sum()),
            "calibrated": float(calibrated.sum(dim=0).abs().sum()),
            "calibrated_rss": float(torch.maximum(calibrated.sum(dim=0).abs(),
                                                  calibrated.square().sum(dim=0).sqrt()).sum())}


def replay(data: dict, model, inputs, targets, i: int, tolerance: float, max_steps: int,
           watch: list | None = None) -> dict:
    """`--steps auto` on one stored integrand, as IntegratedGradients._adaptive drives AdaptiveTrapezoid: the nodes
    on the dense grid are read, the others computed."""
    values, logits = data["values"], data["logits"]
    intervals = values.shape[0] - 1
    grid = (Watched if watch is not None else GRID)(values.shape[1], max_steps, torch.device("cpu"))
    reference = trapezoid(values)
    pending, computed = list(range(len(GRID.first))), 0
    while True:
        for k in pending:
            at = grid.alphas[k] * intervals
            if abs(at - round(at)) < 1e-9:
                grid.record(k, values[round(at)], float(logits[round(at)]))
            else:
                value, logit = integrand(model, inputs.select([i]), targets[i:i + 1], np.array([grid.alphas[k]]), 1)
                grid.record(k, value[0, 0], float(logit[0, 0]))
                computed += 1
        grid.split()
        current = grid.scores()
        mass = float(current.abs().sum())
        limits = budgets(grid.change(), mass, tolerance)
        if watch is not None and (found := candidates(grid)):
            true = float((current.double() - reference).abs().sum())
            watch.append({"steps": grid.size, "true": true / mass, "estimate": grid.score_error() / mass,
                          "delta_ok": abs(sum(grid.errors())) <= limits.allowed,
                          **{k: v / true for k, v in found.items()}})
        pending = grid.refine(*limits)
        if not pending:
            return {"scores": current, "steps": grid.size, "converged": grid.settled(*limits),
                    "score_error": grid.score_error() / mass, "delta": float(current.double().sum()) - grid.change(),
                    "change": grid.change(), "off_grid": computed}


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The docstring as written, and every option's default."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--reviews", type=int, default=0, help="the first N held-out reviews, both models")
    parser.add_argument("--rows", default="", help="positions in the held-out list (the label's class)")
    parser.add_argument("--role", default=None, choices=("base", "finetuned", "both"),
                        help="which demo model(s): with --rows base unless given, with --reviews both")
    parser.add_argument("--max-length", type=int, default=None,
                        help="tokens per text: 512 with --reviews, else the demo's 256")
    parser.add_argument("--nodes", type=int, default=1025, help="the dense reference's trapezoid nodes")
    parser.add_argument("--no-reference", action="store_true", help="auto steps only: steps, flags, estimates")
    parser.add_argument("--integrands", type=Path, default=None, help="a folder that keeps the dense integrands")
    parser.add_argument("--replay", action="store_true", help="run the refinement on the stored integrands")
    parser.add_argument("--watch", type=Path, default=None,
                        help="with --replay: write every round's candidate estimates ÷ true error here (JSON)")
    parser.add_argument("--tolerance", type=float, default=0.01, help="--steps auto's tolerance (a fraction)")
    parser.add_argument("--max-steps", type=int, default=257, help="--steps auto's cap on gradients per sample")
    parser.add_argument("--batch-size", type=int, default=32, help="rows per pass")
    args = parser.parse_args()
    if args.replay and (args.no_reference or args.integrands is None):
        parser.error("--replay reads the dense integrands: give --integrands, without --no-reference")
    if args.integrands:
        args.integrands.mkdir(parents=True, exist_ok=True)
    demo = trained_demo()
    if args.reviews:
        positions, target_of = list(range(args.reviews)), "predicted"
        roles = ("finetuned", "base") if args.role in (None, "both") else (args.role,)
        length = args.max_length or 512
    else:
        positions, target_of = [int(r) for r in args.rows.split(",")], "label"
        roles = ("base", "finetuned") if args.role == "both" else (args.role or "base",)
        length = args.max_length or demo.settings.max_length
    rows = [demo.heldout[p] for p in positions]
    print(f"{len(rows)} held-out reviews ({target_of} class), {length} tokens, tolerance {args.tolerance:g}, cap "
          f"{args.max_steps}, reference: {'none' if args.no_reference else f'{args.nodes}-node trapezoid'}, "
          f"{'replayed on the stored integrands' if args.replay else 'live'}, {torch.get_num_threads()} threads\n",
          flush=True)
    print("| model | row | steps | converged (main) | flagged by the delta alone | δ ÷ \\|F(x)−F(x′)\\| | "
          "estimated L1 error | true L1 error | estimate ÷ true |")
    print("| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    total, ratios, watched = 0, [], []
    for role in roles:
        model = load_model(str(demo.checkpoint(role)), role=role, encoder=str(demo.assets.encoder_dir),
                           pooling="mean-all", device=torch.device("cpu"), progress=False)
        inputs = encode(model.tokenizer, demo.rows.texts(rows), length, model.info.pads_to_max_length)
        targets = torch.tensor(demo.rows.labels(rows)) if target_of == "label" else \
            predict_logits(model, inputs, batch_size=args.batch_size).argmax(dim=-1).cpu()
        started = time.monotonic()
        if not args.replay:
            attributor = make_attributor("integrated-gradients", AttributionSettings(batch_size=args.batch_size),
                                         MethodOptions(path=PathSteps(steps="auto", tolerance=args.tolerance,
                                                                      max_steps=args.max_steps)))
            result = attributor.attribute(model, inputs, targets)
        auto_seconds, steps, converged = time.monotonic() - started, 0, 0
        for i, position in enumerate(positions):
            data = None if args.no_reference else dense(model, inputs, targets, i, args.nodes, args.batch_size,
                                                        args.integrands, f"{role}-{position}-{length}-{target_of}")
            if args.replay:
                watch = [] if args.watch else None
                run = replay(data, model, inputs, targets, i, args.tolerance, args.max_steps, watch)
                if watch is not None:
                    watched.append({"role": role, "row": position, "rounds": watch})
            else:
                run = {"scores": result.scores[i], "steps": int(result.steps[i]),
                       "converged": bool(result.converged[i]), "score_error": float(result.score_error[i]),
                       "delta": float(result.convergence_delta[i]), "change": float(result.logit_change[i])}
            delta, change, estimate = run["delta"], run["change"], run["score_error"]
            steps, converged = steps + run["steps"], converged + run["converged"]
            cells = [role, str(position), str(run["steps"]), "yes" if run["converged"] else "**no**",
                     "yes" if abs(delta) > allowed_delta(change, args.tolerance) else "no",
                     f"{abs(delta) / max(abs(change), 1e-12):.2%}", f"{estimate:.3%}"]
            if data is not None:
                reference = trapezoid(data["values"])
                true = float((run["scores"].double() - reference).abs().sum() / reference.abs().sum())
                ratio = estimate / true if true > 0 else math.inf
                ratios.append(ratio)
                cells += [f"{true:.3%}", f"{ratio:.1f}"]
            else:
                cells += ["", ""]
            print("| " + " | ".join(cells) + " |", flush=True)
        total += steps
        print(f"<!-- {role}: {steps} gradients, {converged}/{len(rows)} converged, auto {auto_seconds:.0f} s -->",
              flush=True)
    if args.watch:
        args.watch.write_text(json.dumps(watched, indent=1))
    summary = f"; estimate ÷ true {min(ratios):.1f} … {max(ratios):.1f}" if ratios else ""
    print(f"\nall: {total} gradients{summary}", flush=True)


if __name__ == "__main__":
    main()
