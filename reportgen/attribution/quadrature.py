"""Where along the path from baseline to input integrated gradients samples the gradient.

IG is an integral over α ∈ [0, 1]; any quadrature rule is (nodes α_k, weights w_k) with
Σ w_k = 1. Gauss–Legendre is exact for polynomials of degree 2·steps − 1, so on a smooth
integrand (a head with tanh/GELU, as Hugging Face classifiers have) it reaches a given
convergence delta with far fewer steps than a Riemann sum. A ReLU in the head (the state-dict
format's Linear-ReLU-Linear) makes the integrand jump wherever a unit switches along the path; then every
rule's error shrinks only about like 1/steps and Gauss–Legendre has no edge (measured in
docs/benchmarks.md).

`--steps auto` uses `AdaptiveTrapezoid` instead: the composite trapezoid rule on a partition of
[0, 1] that is refined only where its error is large. F itself is known at every node (the forward
pass that gives the gradient gives the logit), so on every interval [a, b] the trapezoid's error on
the sum of the scores is known exactly: (b − a)/2 · Σ_t (f′_t(a) + f′_t(b)) − (F(b) − F(a)). With
the ReLU head those errors sit in the few intervals where units switch; halving just those costs
one gradient each, where a finer global grid costs as many gradients as it has intervals (measured
in docs/benchmarks.md, "Adaptive steps").
"""

from __future__ import annotations

import math

import numpy as np
import torch

from reportgen.attribution.path_steps import ADAPTIVE_RULE, FIRST_NODES


def nodes_and_weights(rule: str, steps: int) -> tuple[list[float], list[float]]:
    """Nodes α_k in [0, 1] and weights w_k summing to 1 for `steps` gradient evaluations. The options are
    checked by `path_steps.PathSteps.check` (the one check, which names them as the caller gave them); a
    combination it refuses is a ValueError here."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1 (got {steps})")
    if rule == "gauss-legendre":
        x, w = np.polynomial.legendre.leggauss(steps)
        return ((x + 1) / 2).tolist(), (w / 2).tolist()
    if rule == "riemann-trapezoid":
        if steps < 2:
            raise ValueError("the trapezoid rule needs steps of at least 2")
        alphas = np.linspace(0.0, 1.0, steps)
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
        return alphas.tolist(), weights.tolist()
    offsets = {"riemann-left": 0.0, "riemann-middle": 0.5, "riemann-right": 1.0}
    if rule not in offsets:
        raise ValueError(f"unknown quadrature '{rule}'")
    alphas = (np.arange(steps) + offsets[rule]) / steps
    return alphas.tolist(), [1.0 / steps] * steps


class AdaptiveTrapezoid:
    """One path's composite trapezoid rule on a partition of [0, 1] that halves only the intervals whose
    error is large; every node computed stays a node, so no gradient is thrown away.

    Nodes are kept in the order they were added (rows of `values`: the integrand per token, and
    `logits`: F there); the first are 0, ¼, ½, ¾, 1. After each round of nodes the caller asks
    `refine`, which either settles or returns the new nodes (interval midpoints) to compute.

    Per interval [a, b] it knows two errors:

    - on the sum of the scores, exactly: e = (b − a)/2 · Σ_t (f′_t(a) + f′_t(b)) − (F(b) − F(a));
      their sum over the intervals is the path's convergence delta;
    - on the scores themselves, per token, an estimate d (a vector; `moves`): when an interval is halved, the
      scores move by D = (b − a)/4 · (2 f′(m) − f′(a) − f′(b)). A jump (a head unit switching) leaves in its half
      an error between −D and D, depending on where it switches; a smooth stretch about D/3 over both halves. So
      the two halves hold D between them, shared as their exact |e| are (a half without a jump has e ≈ 0), scaled
      up where that share's L1 norm is below the half's own |e|. The first four intervals have no estimate and are
      all halved once.

    `score_error` estimates the L1 error of the scores, Σ_t |error of score_t|, from the intervals' d: per token
    the larger of |Σ_i d_i| (smooth stretches: their errors add with their signs, and cancel as the true ones do)
    and `spread` × (Σ_i d_i²)^½ (jumps: each error's sign depends on where its unit switches, so they add like
    random ones, whose sum is about 0.46 × that root-sum-square; `spread` 1.5 keeps a few jumps safe too), and
    never less than |delta|, which is exactly the error of their sum. Validated against dense grids in
    docs/benchmarks.md, "How far to trust the score error": it errs high, and by less than the sum of the
    intervals' L1 estimates (schemas 7–9's estimator, 2–14 × the true error), since that sum cannot cancel.
    Like any estimate from sampled nodes it cannot see a feature no node has touched yet, which is why a sample
    stops only once its estimate is small.

    It settles (`settled`) when the scores are accurate — `score_error` ≤ `accurate` — or when
    |Σ e| ≤ `allowed` (the tolerance) and `score_error` ≤ `token_budget` (the sum alone can land
    within tolerance by cancellation while single tokens are still off). Otherwise it halves the
    intervals of largest error until they hold half of the total (Dörfler marking), each interval's error
    measured as its share of `score_error` (`weights`), within `max_nodes` in all. Both conditions ask for a
    small `score_error`, and it is never below |Σ e|, so halving where it sits serves both; marking by
    max(|e| / allowed, ‖d‖₁ / token_budget) instead, as before, spent 926 gradients against 791 on the 16 stored
    paths of docs/benchmarks.md ("Where to halve") and 894 against 732 on its 8 × 2 at 512 tokens, and most of the
    difference on the paths whose interval errors cancel.
    """

    rule = ADAPTIVE_RULE
    first = FIRST_NODES
    share = 0.5  # Dörfler's θ: halve the intervals that hold this share of the error
    floor = 0.05  # each half gets at least this share of its parent's token estimate
    spread = 1.5  # the root-sum-square of the intervals' shares, times this: where jumps' errors add at random

    def __init__(self, seq: int, max_nodes: int, device: torch.device) -> None:
        """`max_nodes` ≥ 9, the first refinement (path_steps.check_steps says so to the user first)."""
        self.max_nodes = max_nodes
        self.alphas = list(self.first)
        self.values = torch.zeros(max_nodes, seq, device=device)
        self.logits = torch.zeros(max_nodes, dtype=torch.float64)
        self.sums = torch.zeros(max_nodes, dtype=torch.float64)  # Σ_t f′_t at each node, in float64
        self.moves = torch.zeros(max_nodes, seq, device=device)  # per interval (row: its left node): its error share
        self.intervals = [(k, k + 1, math.inf) for k in range(len(self.first) - 1)]  # (a, b, token estimate)
        self.missing = len(self.first)  # nodes of this round not computed yet
        self._halving: list[tuple[int, int]] = []  # (interval, its midpoint's node) of this round

    @property
    def size(self) -> int:
        """Nodes so far: the gradient evaluations."""
        return len(self.alphas)

    def record(self, node: int, values: torch.Tensor, logit: float) -> None:
        self.values[node] = values
        self.sums[node] = values.double().sum()
        self.logits[node] = logit
        self.missing -= 1

    def change(self) -> float:
        """F(x) − F(x′): the logits at α = 1 and α = 0."""
        return float(self.logits[self.alphas.index(1.0)] - self.logits[self.alphas.index(0.0)])

    def scores(self) -> torch.Tensor:
        """Σ over intervals of (b − a)/2 · (f′(a) + f′(b)): shape (seq,)."""
        weights = torch.zeros(self.size, dtype=torch.float64)
        for a, b, _ in self.intervals:
            width = self.alphas[b] - self.alphas[a]
            weights[a] += width / 2
            weights[b] += width / 2
        return weights.to(self.values.dtype).to(self.values.device) @ self.values[:self.size]

    def errors(self) -> list[float]:
        """The exact error of each interval's trapezoid on the sum of the scores (see the class)."""
        return [(self.alphas[b] - self.alphas[a]) / 2 * float(self.sums[a] + self.sums[b])
                - float(self.logits[b] - self.logits[a]) for a, b, _ in self.intervals]

    def score_error(self) -> float:
        """The estimated L1 error of the scores, Σ_t |error of score_t| (inf until every first interval is halved).

        Per token, the larger of |Σ_i d_i| and `spread` × (Σ_i d_i²)^½ over the intervals' error shares d_i (see
        the class), summed over tokens; never less than |delta|, the exact error of their sum."""
        found = self._shares()
        if found is None:
            return math.inf
        _, signed, rss = found
        per_token = torch.maximum(signed.abs(), self.spread * rss)
        return max(float(per_token.sum()), abs(sum(self.errors())))

    def _shares(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """The intervals' error shares d (intervals, seq) in float64, with their per-token Σ d and (Σ d²)^½; None
        until every first interval is halved (they have no estimate yet)."""
        if not all(math.isfinite(estimate) for _, _, estimate in self.intervals):
            return None
        shares = self.moves[[a for a, _, _ in self.intervals]].double()
        return shares, shares.sum(dim=0), shares.square().sum(dim=0).sqrt()

    def weights(self) -> list[float]:
        """Each interval's share of `score_error` (inf until every first interval is halved): per token, its part of
        the larger term — d_i · sign(Σ d) where the signed sum wins (an interval whose error cancels the others' has
        none), `spread` × d_i² / (Σ d²)^½ where the root-sum-square wins — summed over tokens; never less than its
        exact |e|, a floor on its L1 error. The shares add up to `score_error` before that floor."""
        errors = self.errors()
        found = self._shares()
        if found is None:
            return [math.inf] * len(errors)
        shares, signed, rss = found
        part = torch.where(signed.abs() >= self.spread * rss, shares * torch.sign(signed),
                           self.spread * shares.square() / rss.clamp_min(1e-300))
        return [max(float(p), abs(e)) for p, e in zip(part.sum(dim=1).clamp_min(0.0), errors)]

    def settled(self, allowed: float, token_budget: float, accurate: float) -> bool:
        """Scores accurate (`score_error` ≤ `accurate`), or the delta within `allowed` with `score_error` ≤
        `token_budget`."""
        error = self.score_error()
        return error <= accurate or (abs(sum(self.errors())) <= allowed and error <= token_budget)

    def refine(self, allowed: float, token_budget: float, accurate: float = 0.0) -> list[int]:
        """The new nodes to compute (their indices; `alphas[k]` is where), or [] when `settled` or full."""
        if self.settled(allowed, token_budget, accurate):
            return []
        weight = self.weights()
        room = self.max_nodes - self.size
        order = sorted(range(len(weight)), key=lambda i: -weight[i])
        total, marked, held = sum(w for w in weight if math.isfinite(w)), [], 0.0
        for i in order[:room]:
            if marked and math.isfinite(weight[i]) and held >= self.share * total:
                break
            marked.append(i)
            held += weight[i] if math.isfinite(weight[i]) else 0.0
        new = []
        for i in sorted(marked):
            a, b, _ = self.intervals[i]
            self.alphas.append((self.alphas[a] + self.alphas[b]) / 2)
            new.append(self.size - 1)
        self._halving = [(i, node) for i, node in zip(sorted(marked), new)]
        self.missing = len(new)
        return new

    def split(self) -> None:
        """Once the new nodes are computed: halve the marked intervals and give the halves their estimates."""
        halves = {}
        for i, m in self._halving:
            a, b, _ = self.intervals[i]
            width = self.alphas[b] - self.alphas[a]
            change = width / 4 * (2 * self.values[m] - self.values[a] - self.values[b])
            moved = float(change.abs().sum())
            left = (self.alphas[m] - self.alphas[a]) / 2 * float(self.sums[a] + self.sums[m]) \
                - float(self.logits[m] - self.logits[a])
            right = (self.alphas[b] - self.alphas[m]) / 2 * float(self.sums[m] + self.sums[b]) \
                - float(self.logits[b] - self.logits[m])
            floor = self.floor * (abs(left) + abs(right)) + 1e-30
            shares = [(abs(e) + floor) / (abs(left) + abs(right) + 2 * floor) for e in (left, right)]
            halves[i] = []
            for start, stop, share, exact in ((a, m, shares[0], left), (m, b, shares[1], right)):
                estimate = max(share * moved, abs(exact))
                self.moves[start] = change * (estimate / moved) if moved > 0 else 0.0
                halves[i].append((start, stop, estimate))
        self.intervals = [half for i, interval in enumerate(self.intervals) for half in halves.get(i, [interval])]
        self._halving = []
