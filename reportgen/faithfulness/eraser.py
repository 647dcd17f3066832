"""ERASER faithfulness (DeYoung et al., 2020, as `ferret` computes it): does deleting the tokens a
method ranks highest change the prediction, and do they alone keep it?

For text x, target class c and a ranking of its n real non-special tokens, let x∖top_m be x with
its m highest-ranked tokens deleted and x|top_m be [CLS], those m tokens in their original order,
and [SEP]. With m_k = ceil(k·n) (so at least one token once n ≥ 1) and p = p_c:

    comprehensiveness = mean_k [p(x) − p(x∖top_{m_k})]      (high: the top tokens carry the prediction)
    sufficiency       = mean_k [p(x) − p(x|top_{m_k})]      (low: the top tokens alone suffice)

averaged over k ∈ KS (AOPC). "Deleted" means removed from the sequence: later tokens shift left and the
row is re-padded with [PAD] to the input's width, with its attention mask, so a model that pools over
padding (mean-all) still sees max_length positions. [CLS]/[SEP] are never deleted and never
counted; padding is never a candidate. Signed methods rank by evidence *for* c (most positive first),
unsigned ones by magnitude; ties go to the earlier position. The same numbers for random rankings
(mean over `random_orders` seeded permutations, each seeded by the text's own token ids, so a text
gets the same orders whatever the batch, position or model) say whether the method beats chance.
The deletion curve is p(x∖top_{m_f}) for f in CURVE_FRACTIONS.

Every distinct perturbation is one forward row; coinciding ones (curve and comprehensiveness at
the same fraction, deleting everything, keeping everything) are computed once. The random orders do
not depend on the method, so their rows (3/4 of the total with the defaults) are computed once per
model and text as a `RandomReference` and shared by every method of a report; and every row goes
through the model's `RemovedRows`, which the flip test and the NAOPC bounds share.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch

from reportgen.errors import ReportgenError
from reportgen.faithfulness.rows import RemovedRows
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.results import Curve, Faithfulness, Score

KS: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20, 0.50)
CURVE_FRACTIONS: tuple[float, ...] = (0.0, 0.01, 0.05, 0.10, 0.20, 0.30, 0.50, 0.70, 1.0)
TOLERANCE = 1e-9
"""ceil(k·n) is taken of k·n − TOLERANCE, so that a product like 0.07·100 = 7.000000000000001 counts 7."""


@dataclass
class FaithfulnessSettings:
    ks: tuple[float, ...] = KS
    random_orders: int = 3
    seed: int = 0
    batch_size: int = 16  # forward rows per pass
    precision: str = "fp32"
    on_progress: Callable[[int], None] | None = None
    curve_fractions: tuple[float, ...] = CURVE_FRACTIONS


class Perturbation(NamedTuple):
    """Delete the top fraction of a ranking (keep=False) or keep only it (keep=True)."""

    keep: bool
    ranking: int  # 0: the method's; 1…: the random orders
    fraction: float


def canonical(keep: bool, ranking: int, fraction: float) -> Perturbation:
    """One name for inputs that are equal whatever the ranking: all tokens kept, or none."""
    if fraction in (0.0, 1.0):
        nothing_deleted = (fraction == 1.0) == keep
        return Perturbation(False, 0, 0.0 if nothing_deleted else 1.0)
    return Perturbation(keep, ranking, fraction)


def plan(settings: FaithfulnessSettings, orders: range | None = None) -> list[Perturbation]:
    """The distinct perturbations one text needs for these rankings (default: all), the unperturbed input first."""
    check_settings(settings)
    wanted = [canonical(False, 0, 0.0)]
    for ranking in range(1 + settings.random_orders) if orders is None else orders:
        wanted += [canonical(False, ranking, f) for f in (*settings.curve_fractions, *settings.ks)]
        wanted += [canonical(True, ranking, k) for k in settings.ks]
    return list(dict.fromkeys(wanted))


def method_plan(settings: FaithfulnessSettings) -> list[Perturbation]:
    """What a method's own ranking needs (with the unperturbed and the all-deleted input)."""
    return plan(settings, range(1))


def random_plan(settings: FaithfulnessSettings) -> list[Perturbation]:
    """What only the random orders need: computed once per model and text, shared by all methods."""
    own = set(method_plan(settings))
    return [p for p in plan(settings, range(1, 1 + settings.random_orders)) if p not in own]


def check_settings(settings: FaithfulnessSettings) -> None:
    if not settings.ks or not all(0.0 < k <= 1.0 for k in settings.ks):
        raise ReportgenError(f"faithfulness fractions k must lie in (0, 1] (got {settings.ks})")
    if not all(0.0 <= f <= 1.0 for f in settings.curve_fractions):
        raise ReportgenError(f"deletion-curve fractions must lie in [0, 1] (got {settings.curve_fractions})")
    if settings.random_orders < 1:
        raise ReportgenError(f"faithfulness needs at least one random order (got {settings.random_orders})")


def forward_rows(num_texts: int, settings: FaithfulnessSettings, *, methods: int = 1) -> int:
    """Forward rows for `num_texts` texts and `methods` methods sharing one random reference."""
    return num_texts * (methods * len(method_plan(settings)) + len(random_plan(settings)))


def random_order(token_ids: torch.Tensor, num_candidates: int, seed: int, order: int) -> torch.Tensor:
    """A permutation of range(num_candidates), most important first, seeded by the text itself."""
    digest = hashlib.blake2b(token_ids.cpu().to(torch.int64).numpy().tobytes(), digest_size=8,
                             key=f"{seed}:{order}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest, "little") >> 1)
    return torch.randperm(num_candidates, generator=generator)


def rankings(inputs: EncodedTexts, scores: torch.Tensor, signed: bool, settings: FaithfulnessSettings,
             candidates: torch.Tensor) -> torch.Tensor:
    """(texts, 1 + random_orders, seq) rank of every candidate token, 0 = most important; seq elsewhere."""
    texts, seq = candidates.shape
    key = (scores if signed else scores.abs()).float().cpu().masked_fill(~candidates, float("-inf"))
    order = key.sort(dim=1, descending=True, stable=True).indices  # candidates first, ties by position
    ranks = torch.full((texts, 1 + settings.random_orders, seq), seq, dtype=torch.long)
    ranks[:, 0].scatter_(1, order, torch.arange(seq).expand(texts, seq))
    lengths = inputs.lengths()
    for i in range(texts):
        positions = candidates[i].nonzero().flatten()
        for r in range(settings.random_orders):
            permutation = random_order(inputs.input_ids[i, : lengths[i]], len(positions), settings.seed, r)
            ranks[i, 1 + r, positions[permutation]] = torch.arange(len(positions))
    return ranks.masked_fill(~candidates.unsqueeze(1), seq)


def token_counts(fractions: list[float], n: torch.Tensor) -> torch.Tensor:
    """(texts, fractions) tokens to delete or keep: m = ceil(f · n), between 0 and n."""
    n = n.double().unsqueeze(1)
    return torch.ceil(torch.tensor(fractions, dtype=torch.float64) * n - TOLERANCE).clamp(min=0).minimum(n).long()


def kept_positions(real: torch.Tensor, candidates: torch.Tensor, ranks: torch.Tensor, counts: torch.Tensor,
                   keep: torch.Tensor) -> torch.Tensor:
    """(rows, seq) positions that stay: with keep, the specials and the top `counts` candidates; else
    every real token but the top `counts`."""
    top = ranks < counts.unsqueeze(1)
    return torch.where(keep.unsqueeze(1), (real & ~candidates) | top, real & ~top)


@dataclass
class RandomReference:
    """p_target of every random-order perturbation of each text: the chance level, method-independent."""

    targets: torch.Tensor
    probabilities: list[dict[Perturbation, float]]


def _check(inputs: EncodedTexts, scores: torch.Tensor, targets: torch.Tensor) -> None:
    if tuple(scores.shape) != tuple(inputs.input_ids.shape) or len(targets) != len(inputs):
        raise ReportgenError(f"faithfulness: scores {tuple(scores.shape)} and {len(targets)} targets do not match "
                             f"{len(inputs)} texts of {inputs.input_ids.shape[1]} positions")
    if not torch.isfinite(scores).all():
        raise ReportgenError("faithfulness: the attribution scores are not finite; nothing to rank")


def random_reference(model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor,
                     settings: FaithfulnessSettings, rows: RemovedRows | None = None) -> RandomReference:
    """The random orders' rows, once for all methods that explain these targets.

    `rows`: the model's shared rows of these `inputs` (`RemovedRows`), so that the flip test and the
    bounds reuse what is measured here; None: rows of their own."""
    no_scores = torch.zeros(inputs.input_ids.shape)
    table = _target_probabilities(model, inputs, no_scores, targets, True, settings, random_plan(settings), rows)
    return RandomReference(targets.cpu().clone(), table)


def measure_faithfulness(model: LoadedModel, inputs: EncodedTexts, scores: torch.Tensor, targets: torch.Tensor,
                         signed: bool, settings: FaithfulnessSettings,
                         reference: RandomReference | None = None,
                         rows: RemovedRows | None = None) -> list[Faithfulness]:
    """ERASER comprehensiveness, sufficiency and deletion curve of `scores` (batch, seq) for each text's target.

    Pass the `reference` from `random_reference` to share the random orders' rows between methods,
    and `rows` (`RemovedRows` of these inputs) to share every row with the other measures.
    """
    _check(inputs, scores, targets)
    if rows is None:
        rows = RemovedRows(model, inputs, batch_size=settings.batch_size, precision=settings.precision)
    if reference is None:
        reference = random_reference(model, inputs, targets, settings, rows)
    elif not torch.equal(reference.targets, targets.cpu()):
        raise ReportgenError("faithfulness: the random reference was computed for other targets")
    own = _target_probabilities(model, inputs, scores, targets, signed, settings, method_plan(settings), rows)
    return [summarise({**mine, **chance}, settings) for mine, chance in zip(own, reference.probabilities)]


def _target_probabilities(model: LoadedModel, inputs: EncodedTexts, scores: torch.Tensor, targets: torch.Tensor,
                          signed: bool, settings: FaithfulnessSettings, perturbations: list[Perturbation],
                          rows: RemovedRows | None = None) -> list[dict[Perturbation, float]]:
    """p_target of each text under each perturbation, batched over (text, perturbation) rows; each
    distinct row once (`RemovedRows`)."""
    if rows is None:
        rows = RemovedRows(model, inputs, batch_size=settings.batch_size, precision=settings.precision)
    real = inputs.attention_mask.bool()
    candidates = real & ~inputs.special_tokens_mask.bool()
    ranks = rankings(inputs, scores, signed, settings, candidates)
    counts = token_counts([p.fraction for p in perturbations], candidates.sum(dim=1))
    keep = torch.tensor([p.keep for p in perturbations])
    which = torch.tensor([p.ranking for p in perturbations])
    text = torch.arange(len(inputs)).repeat_interleave(len(perturbations))
    step = torch.arange(len(perturbations)).repeat(len(inputs))
    kept = kept_positions(real[text], candidates[text], ranks[text, which[step]], counts[text, step], keep[step])
    logits = rows.logits(text, kept, on_progress=settings.on_progress)
    chosen = targets.to(logits.device)[text.to(logits.device)].view(-1, 1)
    probabilities = model.verdicts(logits).probabilities.gather(1, chosen).squeeze(1)
    table = probabilities.view(len(inputs), len(perturbations)).cpu().double()
    return [dict(zip(perturbations, p.tolist())) for p in table]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def summarise(p: dict[Perturbation, float], settings: FaithfulnessSettings) -> Faithfulness:
    """The metrics of one text from p_target of each of its perturbations."""
    original = p[canonical(False, 0, 0.0)]
    randoms = range(1, 1 + settings.random_orders)

    def drops(keep: bool, ranking: int) -> list[float]:
        return [original - p[canonical(keep, ranking, k)] for k in settings.ks]

    def curve(ranking: int) -> list[float]:
        return [p[canonical(False, ranking, f)] for f in settings.curve_fractions]

    def over_randoms(per_ranking: Callable[[int], list[float]]) -> list[float]:
        return [_mean(list(values)) for values in zip(*(per_ranking(r) for r in randoms))]

    comprehensive, sufficient = drops(False, 0), drops(True, 0)
    random_comprehensive = over_randoms(lambda r: drops(False, r))
    random_sufficient = over_randoms(lambda r: drops(True, r))
    return Faithfulness(
        scores={"comprehensiveness": Score(_mean(comprehensive), _mean(random_comprehensive), comprehensive,
                                           random_comprehensive),
                "sufficiency": Score(_mean(sufficient), _mean(random_sufficient), sufficient, random_sufficient)},
        curves={"deletion": Curve(curve(0), over_randoms(curve))},
        probability=original,
    )
