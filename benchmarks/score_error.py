"""How far to trust IG's estimated score error: `--steps auto`'s `score_error` against a dense trapezoid reference.

For each chosen review and demo model this runs integrated gradients with `--steps auto` (tolerance 1 %, cap 257)
and prints its steps, whether it converged (the rule of main: scores' estimated relative L1 error or delta within
tolerance) and whether the delta-only rule of schema 6 would have flagged it, its estimated relative L1 error of the
scores, and — unless `--no-reference` — the true one against a uniform trapezoid of `--nodes` nodes (≥ 1,025) of
the same path: the estimate may over-state the true error, it must never under-state it by more than 2×.

Two sets, as docs/benchmarks.md uses them:

- `--reviews 8`: the first 8 held-out reviews × both demo models, each model explaining its own predicted class,
  at `--max-length 512` (`benchmarks/adaptive_steps.py`'s 8 × 2);
- `--rows 60,66,97,164`: positions in the held-out list, the base model (`--role`) explaining the label, at the
  demo's 256 tokens (`benchmarks/cancelling_paths.py`'s rows, the corpus check's setting).

Not a test: figures go in docs/benchmarks.md.

    REPORTGEN_CACHE=… python benchmarks/score_error.py --reviews 8 --max-length 512 --no-reference
    REPORTGEN_CACHE=… python benchmarks/score_error.py --rows 60,66,97,164 --nodes 1025
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from benchmarks.adaptive_steps import integrand  # noqa: E402
from reportgen.attribution import AttributionSettings, MethodOptions, PathSteps, make_attributor  # noqa: E402
from reportgen.choices import allowed_delta  # noqa: E402
from reportgen.demo.trained import trained_demo  # noqa: E402
from reportgen.inference import predict_logits  # noqa: E402
from reportgen.loading.inputs import encode  # noqa: E402
from reportgen.loading.models import load_model  # noqa: E402


def reference_scores(model, inputs, targets, nodes: int, batch_size: int) -> torch.Tensor:
    """The uniform trapezoid rule on `nodes` nodes of each text's path: (texts, seq) float64."""
    values, _ = integrand(model, inputs, targets, np.linspace(0.0, 1.0, nodes), batch_size)
    weights = torch.full((nodes,), 1.0 / (nodes - 1), dtype=torch.float64)
    weights[[0, -1]] /= 2
    return torch.einsum("k,tks->ts", weights, values.double())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviews", type=int, default=0, help="the first N held-out reviews, both models")
    parser.add_argument("--rows", default="", help="positions in the held-out list, one model (--role)")
    parser.add_argument("--role", default="base", choices=("base", "finetuned"))
    parser.add_argument("--max-length", type=int, default=None, help="default: 512 with --reviews, else the demo's")
    parser.add_argument("--nodes", type=int, default=1025)
    parser.add_argument("--no-reference", action="store_true", help="auto steps only: steps, flags, estimates")
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--max-steps", type=int, default=257)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    demo = trained_demo()
    if args.reviews:
        positions, roles, target_of = list(range(args.reviews)), ("finetuned", "base"), "predicted"
        length = args.max_length or 512
    else:
        positions, roles, target_of = [int(r) for r in args.rows.split(",")], (args.role,), "label"
        length = args.max_length or demo.settings.max_length
    rows = [demo.heldout[p] for p in positions]
    print(f"{len(rows)} held-out reviews ({target_of} class), {length} tokens, tolerance {args.tolerance:g}, cap "
          f"{args.max_steps}, reference: {'none' if args.no_reference else f'{args.nodes}-node trapezoid'}, "
          f"{torch.get_num_threads()} threads\n", flush=True)
    print("| model | row | steps | converged (main) | flagged by the delta alone | δ ÷ \\|F(x)−F(x′)\\| | "
          "estimated L1 error | true L1 error | estimate ÷ true |")
    print("| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    total = 0
    for role in roles:
        model = load_model(str(demo.checkpoint(role)), role=role, encoder=str(demo.assets.encoder_dir),
                           pooling="mean-all", device=torch.device("cpu"), progress=False)
        inputs = encode(model.tokenizer, demo.rows.texts(rows), length, model.info.pads_to_max_length)
        targets = torch.tensor(demo.rows.labels(rows)) if target_of == "label" else \
            predict_logits(model, inputs, batch_size=args.batch_size).argmax(dim=-1).cpu()
        started = time.monotonic()
        attributor = make_attributor("integrated-gradients", AttributionSettings(batch_size=args.batch_size),
                                     MethodOptions(path=PathSteps(steps="auto", tolerance=args.tolerance,
                                                                  max_steps=args.max_steps)))
        result = attributor.attribute(model, inputs, targets)
        auto_seconds = time.monotonic() - started
        reference = None if args.no_reference else reference_scores(model, inputs, targets, args.nodes,
                                                                    args.batch_size)
        for i, position in enumerate(positions):
            delta, change = float(result.convergence_delta[i]), float(result.logit_change[i])
            estimate = float(result.score_error[i])
            cells = [role, str(position), str(int(result.steps[i])), "yes" if bool(result.converged[i]) else "**no**",
                     "yes" if abs(delta) > allowed_delta(change, args.tolerance) else "no",
                     f"{abs(delta) / max(abs(change), 1e-12):.2%}", f"{estimate:.2%}"]
            if reference is not None:
                true = float((result.scores[i].double() - reference[i]).abs().sum() / reference[i].abs().sum())
                cells += [f"{true:.3%}", f"{estimate / true:.1f}" if true > 0 else "—"]
            else:
                cells += ["", ""]
            print("| " + " | ".join(cells) + " |", flush=True)
        steps = int(result.steps.sum())
        total += steps
        print(f"<!-- {role}: {steps} gradients, {int(result.converged.sum())}/{len(rows)} converged, auto "
              f"{auto_seconds:.0f} s -->", flush=True)
    print(f"\nall: {total} gradients", flush=True)


if __name__ == "__main__":
    main()
