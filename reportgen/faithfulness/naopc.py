"""Normalised AOPC (Edin et al. 2024, "Normalized AOPC: Fixing Misleading Faithfulness Metrics for
Feature Attribution Explainability", arXiv 2408.08137): raw comprehensiveness and sufficiency do not
compare across models, because how far a model's probability *can* move depends on the model.

    NAOPC = (AOPC − lower) / (upper − lower)

where lower and upper are the smallest and largest AOPC that any ordering of the text's tokens
reaches for that model, target and measure. 0 is the worst ordering, 1 the best for
comprehensiveness; for sufficiency (lower is better) the direction is kept: 0 is the most
sufficient ordering, 1 the least.

AOPC here is exactly `eraser`'s: the mean over k ∈ KS of p(x) − p(x∖top_{m_k}) (comprehensiveness)
or p(x) − p(x|top_{m_k}) (sufficiency), m_k = ceil(k·n). It depends on an ordering only through the
nested sets S_1 ⊂ S_2 ⊂ … of the distinct sizes m_k, so:

* exact (n ≤ EXACT_TOKENS real non-special tokens): every subset of every needed size is one
  forward row (deleted, and kept), and a dynamic programme over the nested chains gives the true
  extremes — the same as enumerating all n! orderings. Cost 2·Σ_m C(n, m) rows (212 at n = 8).
* beam (longer texts; the paper's NAOPC_beam, adapted to the sizes that count): first every token
  deleted alone and kept alone (2n rows) gives a priority order (`probes=DELETED_PROBES`: single
  deletions for both measures, n rows, sufficiency's order their reverse); then, size by size, each
  of the BEAM_WIDTH best partial chains is extended to the next size in BRANCHES ways (the b-th
  remaining token by priority, then the next ones by priority to fill up), one row each, and the
  BEAM_WIDTH best chains by accumulated AOPC go on. Four searches (upper and lower of both measures),
  so 2n + 4·BRANCHES·(1 + BEAM_WIDTH·(sizes − 1)) rows at most per text and model: with the five
  default fractions and n ≥ 100 (five distinct sizes), 2n + 208; fewer where chains meet (each
  distinct row runs once), or where the report's other measures already ran a row
  (`rows.RemovedRows`).

A beam's chains are real orderings, so its bounds lie *inside* the true ones (its upper ≤ the true
upper). `widen` then stretches them to every ordering the report has already measured (each method's
and the random orders' AOPC, themselves achievable or means of achievable values), so every
method's NAOPC lies in [0, 1] without clamping; an NAOPC of 1 means "as good as the best ordering
found", not "provably optimal".

Where every ordering scores alike the NAOPC is undefined (None), and must be so for every model
whatever the float noise: a text whose every needed size is 0 or all n of its candidate tokens (a
one-word text) has a single ordering, so its bounds are exact and coincide by construction; and
bounds closer than `ALIKE` (fp32 rounding of probabilities of order 1, computed in other batches than
the methods' AOPC) are taken to coincide rather than divided by.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from reportgen.faithfulness.eraser import token_counts
from reportgen.faithfulness.rows import RemovedRows
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.results import AopcBounds, Faithfulness

EXACT_TOKENS = 8
DELETED_PROBES = "deleted"
BOTH_PROBES = "deleted-and-kept"
"""The beam's priority order: each token deleted alone for comprehensiveness' order and kept alone for
sufficiency's (2n rows, the default); or DELETED_PROBES, single deletions for both (n rows: half the cost,
the same comprehensiveness bounds, narrower sufficiency bounds on the demo's reviews; docs/faithfulness.md)."""
BEAM_WIDTH = 3
BRANCHES = 4
MEASURES = {"comprehensiveness": False, "sufficiency": True}  # name → keep only the set (else delete it)
ALIKE = 64 * torch.finfo(torch.float32).eps
"""Probability units (7.6e-6): AOPC values closer than this are one value. An AOPC is a mean of differences of
fp32 probabilities of order 1, and the bounds come from other batches than the methods' AOPC: the same deletion
of a one-word text gave 0.0019266009 in one and 0.0019266605 in the other. Rounding of a few units of fp32
precision at 1.0 per term, 64 units for the sums over several sizes; a real range of orderings is far wider."""


@dataclass
class BoundSettings:
    ks: tuple[float, ...]
    batch_size: int = 16
    precision: str = "fp32"
    exact_tokens: int = EXACT_TOKENS  # at most this many real non-special tokens: exact; else beam
    beam_width: int = BEAM_WIDTH
    branches: int = BRANCHES
    probes: str = BOTH_PROBES  # the beam's priority: each token deleted and kept alone (2n rows), or DELETED_PROBES (n)
    on_progress: Callable[[int], None] | None = None


def coincide(lower: float, upper: float) -> bool:
    """Whether two AOPC bounds (probability units) are one value up to fp32 rounding (`ALIKE`, scaled to
    the probabilities of order 1 they come from): every ordering scores alike."""
    return upper - lower <= ALIKE * max(1.0, abs(upper), abs(lower))


def naopc(value: float, lower: float, upper: float) -> float | None:
    """(value − lower) / (upper − lower); None when the bounds `coincide` (every ordering scores alike, e.g.
    a saturated model), where dividing would turn rounding into 0 or 1."""
    if coincide(lower, upper):
        return None
    return (value - lower) / (upper - lower)


def widen(bounds: AopcBounds, values: Sequence[float]) -> AopcBounds:
    """Bounds stretched to AOPC values other orderings reached (a method's, the random orders')."""
    return AopcBounds(min(bounds.lower, *values), max(bounds.upper, *values), bounds.exact, bounds.rows)


def normalise_scores(bounds: dict[str, AopcBounds], measures: Sequence[Faithfulness | None]) -> dict[str, AopcBounds]:
    """Set `normalised` and `random_normalised` of every measure's scores (one `Faithfulness` per
    method of one text and model) from the text's `bounds`, widened by those scores; the widened bounds.

    Exact bounds that `coincide` say every ordering scores alike (a one-word text: one ordering), so
    every value is None there, however far the scores, measured in other batches, lie from them."""
    present = [f for f in measures if f is not None]
    widened = {}
    for name, found in bounds.items():
        scores = [f.scores[name] for f in present]
        wide = widen(found, [v for s in scores for v in (s.value, s.random)]) if scores else found
        alike = found.exact and coincide(found.lower, found.upper)
        for score in scores:
            score.normalised = None if alike else naopc(score.value, wide.lower, wide.upper)
            score.random_normalised = None if alike else naopc(score.random, wide.lower, wide.upper)
        widened[name] = wide
    return widened


def sizes(n: int, ks: Sequence[float]) -> list[tuple[int, float]]:
    """The distinct set sizes m_k = ceil(k·n) with their weight in the AOPC mean (count / len(ks))."""
    counts = token_counts(list(ks), torch.tensor([n]))[0].tolist()
    return [(m, counts.count(m) / len(ks)) for m in sorted(set(counts))]


def single_ordering(n: int, ks: Sequence[float]) -> bool:
    """Whether every ordering of n candidate tokens removes the same sets: each size is 0 or all n (a
    one-word text), so every ordering has one AOPC and any search of it is exact."""
    return all(m in (0, n) for m, _ in sizes(n, ks))


Chain = tuple[frozenset[int], float]  # the largest set so far and the accumulated AOPC


class _Text:
    """p_target of one text under any set of its candidate tokens deleted or kept alone, through the
    model's shared rows; `rows` counts the distinct rows this text's search used."""

    def __init__(self, rows: RemovedRows, index: int, target: int, settings: BoundSettings) -> None:
        self.shared, self.index, self.target, self.settings = rows, index, target, settings
        self.real = rows.inputs.attention_mask[index].bool()
        self.candidates = (self.real & ~rows.inputs.special_tokens_mask[index].bool()).nonzero().flatten().tolist()
        self.cache: dict[tuple[frozenset[int], bool], float] = {}
        self.rows = 0
        self.original = self.p([(frozenset(), False)])[0]

    def p(self, wanted: list[tuple[frozenset[int], bool]]) -> list[float]:
        missing = list(dict.fromkeys(w for w in wanted if w not in self.cache))
        if missing:
            others = self.real & ~self._candidate_mask()
            kept = torch.zeros(len(missing), len(self.real), dtype=torch.bool)
            for row, (tokens, keep) in enumerate(missing):
                chosen = torch.zeros(len(self.real), dtype=torch.bool)
                chosen[list(tokens)] = True
                kept[row] = (self.real & (chosen | others)) if keep else (self.real & ~chosen)
            text = torch.full((len(missing),), self.index, dtype=torch.long)
            logits = self.shared.logits(text, kept, on_progress=self.settings.on_progress)
            probabilities = self.shared.model.verdicts(logits).probabilities[:, self.target].cpu().double().tolist()
            self.cache.update(zip(missing, probabilities))
            self.rows += len(missing)
        return [self.cache[w] for w in wanted]

    def _candidate_mask(self) -> torch.Tensor:
        mask = torch.zeros(len(self.real), dtype=torch.bool)
        mask[self.candidates] = True
        return mask


def exact_bounds(text: _Text, levels: list[tuple[int, float]]) -> dict[str, tuple[float, float]]:
    """(lower, upper) per measure by dynamic programming over every nested chain of the sizes."""
    subsets = {m: [frozenset(c) for c in itertools.combinations(text.candidates, m)] for m, _ in levels}
    text.p([(s, keep) for keep in MEASURES.values() for m, _ in levels for s in subsets[m]])
    result = {}
    for name, keep in MEASURES.items():
        extremes = []
        for pick in (min, max):
            best: dict[frozenset[int], float] = {frozenset(): 0.0}
            previous = 0
            for m, weight in levels:
                best = {s: weight * (text.original - text.cache[(s, keep)])
                        + pick(best[frozenset(t)] for t in itertools.combinations(sorted(s), previous))
                        for s in subsets[m]}
                previous = m
            extremes.append(pick(best.values()))
        result[name] = (extremes[0], extremes[1])
    return result


def beam_bounds(text: _Text, levels: list[tuple[int, float]],
                settings: BoundSettings) -> dict[str, tuple[float, float]]:
    """(lower, upper) per measure: the best and worst chains a beam search finds (see the module)."""
    searches = {(name, sign): [(frozenset(), 0.0)] for name in MEASURES for sign in (-1, 1)}
    priority = {}
    deleted = text.p([(frozenset([t]), False) for t in text.candidates])
    kept_alone = text.p([(frozenset([t]), True) for t in text.candidates]) if settings.probes == BOTH_PROBES \
        else None
    for name, sign in searches:
        if MEASURES[name] and kept_alone is not None:
            drop = {t: text.original - p for t, p in zip(text.candidates, kept_alone)}
        else:  # a token whose deletion lowers p is one whose presence alone keeps it: the sufficient end
            drop = {t: (p - text.original if MEASURES[name] else text.original - p)
                    for t, p in zip(text.candidates, deleted)}
        priority[(name, sign)] = sorted(text.candidates, key=lambda t: -sign * drop[t])  # ties: text order
    previous = 0
    for m, weight in levels:
        grown: dict[tuple[str, int], list[frozenset[int]]] = {}
        for key, chains in searches.items():
            options = []
            for chosen, _ in chains:
                remaining = [t for t in priority[key] if t not in chosen]
                for b in range(min(settings.branches, len(remaining))):
                    rest = [t for t in remaining if t != remaining[b]][: m - previous - 1]
                    options.append((chosen, chosen | {remaining[b], *rest}))
            grown[key] = options
        text.p([(new, MEASURES[name]) for (name, _), options in grown.items() for _, new in options])
        for (name, sign), options in grown.items():
            score = dict(searches[(name, sign)])
            extended = {new: score[old] + weight * (text.original - text.cache[(new, MEASURES[name])])
                        for old, new in options}
            ranked = sorted(extended.items(), key=lambda item: -sign * item[1])
            searches[(name, sign)] = ranked[: settings.beam_width]
        previous = m
    return {name: (searches[(name, -1)][0][1], searches[(name, 1)][0][1]) for name in MEASURES}


def aopc_bounds(model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor, settings: BoundSettings,
                method: str = "auto", rows: RemovedRows | None = None) -> list[dict[str, AopcBounds]]:
    """Per text, the lowest and highest AOPC of comprehensiveness and sufficiency for its target.

    method: "exact" (every nested chain; cost grows like C(n, n/2)), "beam", or "auto" (exact up to
    `settings.exact_tokens` candidate tokens). Every row goes through `rows`, the model's
    `RemovedRows` of these inputs shared with the other measures (None: rows of its own).
    """
    if rows is None:
        rows = RemovedRows(model, inputs, batch_size=settings.batch_size, precision=settings.precision)
    results = []
    for i in range(len(inputs)):
        text = _Text(rows, i, int(targets[i]), settings)
        levels = [(m, w) for m, w in sizes(len(text.candidates), settings.ks) if m > 0]
        exact = method == "exact" or (method == "auto" and len(text.candidates) <= settings.exact_tokens) \
            or single_ordering(len(text.candidates), settings.ks)
        if not levels:
            found = {name: (0.0, 0.0) for name in MEASURES}
        else:
            found = exact_bounds(text, levels) if exact else beam_bounds(text, levels, settings)
        results.append({name: AopcBounds(lower, upper, exact, text.rows) for name, (lower, upper) in found.items()})
    return results


def bound_rows(inputs: EncodedTexts, settings: BoundSettings, method: str = "auto") -> int:
    """The most forward rows `aopc_bounds` runs on these texts (the cache only removes rows), known before it
    starts: per text, its unperturbed row, then exact: 2·Σ_m C(n, m) over the sizes; beam: 2n for the single
    tokens and, per size, every chain of the four searches extended in at most BRANCHES ways."""
    total = 0
    candidates = (inputs.attention_mask.bool() & ~inputs.special_tokens_mask.bool()).sum(dim=1).tolist()
    for n in candidates:
        levels = [m for m, _ in sizes(n, settings.ks) if m > 0]
        total += 1
        if not levels:
            continue
        exact = method == "exact" or (method == "auto" and n <= settings.exact_tokens) \
            or single_ordering(n, settings.ks)
        if exact:
            total += 2 * sum(math.comb(n, m) for m in levels)
        else:
            chains = 1
            total += 2 * n
            for _ in levels:
                total += len(MEASURES) * 2 * chains * settings.branches
                chains = settings.beam_width
    return total
