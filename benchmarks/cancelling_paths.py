"""Why a few base-model rows of the 200-row corpus check stay above 1 %: paths along which F cancels.

For chosen held-out reviews (positions in the demo's held-out list, which are the rows of the CSV
that `scripts/heldout_csv.py` writes) and one demo model, this computes IG's integrand on a uniform
grid of `--nodes` points of the path (each model explaining the review's label, as the corpus run
does) and prints, per review:

- F(x′), F(x), and F's range along the path: the target logit can swing by logits and come back;
- Σ|ΔF| between neighbouring nodes: how much the path varies, against its net change F(x) − F(x′);
- the head units that switch: sign changes of the input of every ReLU that acts on pooled vectors
  (the state-dict format's Linear-ReLU-Linear head), between neighbouring nodes. Each switch is a
  jump in the integrand, so no rule converges faster than 1/steps near it;
- Σ|scores| of the dense grid's IG: the mass that must cancel down to F(x) − F(x′);
- the uniform trapezoid rule on nested subgrids: its delta as a share of |F(x) − F(x′)| (the corpus
  check's measure, with its floor of 0.01 logits) and of Σ|scores|, and its scores' L1 distance from
  the densest grid's as a share of their Σ|scores|.

Not a test: figures go in docs/benchmarks.md.

    REPORTGEN_CACHE=/work/cache/reportgen python benchmarks/cancelling_paths.py --rows 60,66,97,164
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from benchmarks.adaptive_steps import integrand  # noqa: E402
from reportgen.choices import DELTA_FLOOR  # noqa: E402
from reportgen.demo.trained import trained_demo  # noqa: E402
from reportgen.loading.inputs import encode  # noqa: E402
from reportgen.loading.models import load_model  # noqa: E402


def head_switches(module: torch.nn.Module) -> tuple[list[torch.Tensor], list]:
    """Record the input of every ReLU module that acts on pooled vectors (batch, units)."""
    seen: list[torch.Tensor] = []

    def record(_module, inputs, _output) -> None:
        if inputs[0].dim() == 2:
            seen.append(inputs[0].detach().float())

    hooks = [m.register_forward_hook(record) for m in module.modules() if isinstance(m, torch.nn.ReLU)]
    return seen, hooks


def trapezoid(values: torch.Tensor, stride: int) -> torch.Tensor:
    """The uniform trapezoid rule on every `stride`-th node of `values` (nodes, seq), in float64."""
    nodes = values[::stride].double()
    weights = torch.full((len(nodes),), 1.0 / (len(nodes) - 1), dtype=torch.float64)
    weights[[0, -1]] /= 2
    return weights @ nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="60,66,97,164", help="positions in the demo's held-out list")
    parser.add_argument("--role", default="base", choices=("base", "finetuned"))
    parser.add_argument("--nodes", type=int, default=2049, help="uniform grid: 2^j + 1 nodes")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    if args.nodes < 17 or (args.nodes - 1) & (args.nodes - 2):
        raise SystemExit("--nodes must be 2^j + 1, at least 17")

    demo = trained_demo()
    model = load_model(str(demo.checkpoint(args.role)), role=args.role, encoder=str(demo.assets.encoder_dir),
                       pooling="mean-all", device=torch.device("cpu"), progress=False)
    alphas = np.linspace(0.0, 1.0, args.nodes)
    print(f"{args.role} model, {demo.settings.max_length} tokens, uniform grid of {args.nodes} nodes, "
          f"{torch.get_num_threads()} threads\n")
    print("| row | F(x′) | F(x) | F along the path | Σ|ΔF| | units switching (switches) | Σ|scores| | "
          + " | ".join(f"{(args.nodes - 1) // s + 1} nodes: δ / |ΔF|, δ / Σ|scores|, L1" for s in strides(args.nodes))
          + " |")
    print("|" + " --- |" * (7 + len(strides(args.nodes))))
    for position in (int(r) for r in args.rows.split(",")):
        row = demo.heldout[position]
        inputs = encode(model.tokenizer, demo.rows.texts([row]), demo.settings.max_length,
                        model.info.pads_to_max_length)
        target = torch.tensor(demo.rows.labels([row]))
        seen, hooks = head_switches(model.module)
        values, logits = integrand(model, inputs, target, alphas, args.batch_size)
        for hook in hooks:
            hook.remove()
        values, logits = values[0], logits[0].double()
        change = float(logits[-1] - logits[0])
        switched = units = 0
        if seen:
            signs = torch.cat(seen) > 0
            flips = signs[1:] != signs[:-1]
            switched, units = int(flips.sum()), int(flips.any(dim=0).sum())
        reference = trapezoid(values, 1)
        mass = float(reference.abs().sum())
        cells = []
        for stride in strides(args.nodes):
            scores = trapezoid(values, stride)
            delta = float(scores.sum()) - change
            cells.append(f"{abs(delta) / max(abs(change), DELTA_FLOOR):.1%}, {abs(delta) / mass:.1e}, "
                         f"{float((scores - reference).abs().sum()) / mass:.1e}")
        print(f"| {position} | {float(logits[0]):+.3f} | {float(logits[-1]):+.3f} | "
              f"{float(logits.min()):+.2f} … {float(logits.max()):+.2f} | "
              f"{float((logits[1:] - logits[:-1]).abs().sum()):.2f} | {units} ({switched}) | {mass:.1f} | "
              + " | ".join(cells) + " |", flush=True)


def strides(nodes: int) -> list[int]:
    """Subgrids of 257, 513, … nodes up to the full grid (stride 1 last)."""
    out, stride = [], max((nodes - 1) // 256, 1)
    while stride >= 1:
        out.append(stride)
        stride //= 2
    return out


if __name__ == "__main__":
    main()
