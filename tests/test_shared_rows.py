"""The evidence's rows, shared (issue 32): every row with tokens removed runs once per model, and the
ERASER metrics, flip counts and NAOPC bounds computed on shared rows are those of separate computation,
each row run alone as before (a per-row reference here, not the code under test)."""

from __future__ import annotations

import pytest
import torch

from reportgen import perturbation
from reportgen.faithfulness.eraser import (
    KS,
    FaithfulnessSettings,
    kept_positions,
    measure_faithfulness,
    plan,
    random_reference,
    rankings,
    summarise,
    token_counts,
)
from reportgen.faithfulness.flip import (
    ANY_OTHER,
    FlipSettings,
    flip_counts,
    random_word_ranking,
    removable_words,
    word_ranking,
)
from reportgen.faithfulness.naopc import BoundSettings, aopc_bounds
from reportgen.faithfulness.rows import RemovedRows
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel, load_model
from reportgen.pipeline import ExplainOptions, Texts, explain
from reportgen.results import Word
from tests.test_attribution import MAX_LENGTH, TARGETS, TEXTS
from tests.tolerances import assert_close_fp32


@pytest.fixture(scope="module")
def models(checkpoints, encoder_dir) -> dict[str, LoadedModel]:
    return {role: load_model(str(checkpoints[role]), role=role, encoder=str(encoder_dir), pooling="mean-all",
                             device=torch.device("cpu")) for role in ("base", "finetuned")}


@pytest.fixture(scope="module")
def inputs(models) -> EncodedTexts:
    return encode(models["base"].tokenizer, TEXTS, MAX_LENGTH, pad_to_max_length=True)


def alone(model: LoadedModel, inputs: EncodedTexts, text: int, kept: torch.Tensor) -> torch.Tensor:
    """Probabilities (classes,) of one row run by itself, as the code before shared rows ran rows."""
    logits = perturbation.removal_logits(model, inputs, lambda r: (torch.tensor([text]), kept.view(1, -1)),
                                         kept.sum().view(1), batch_size=1)
    return model.verdicts(logits).probabilities[0].double()


def token_words(inputs: EncodedTexts, i: int) -> list[Word]:
    return [Word(f"t{t}", None, None, t, t + 1) for t in range(int(inputs.attention_mask[i].sum()))]


def reference_eraser(model, inputs, scores, signed, settings) -> list:
    real = inputs.attention_mask.bool()
    candidates = real & ~inputs.special_tokens_mask.bool()
    ranks = rankings(inputs, scores, signed, settings, candidates)
    wanted = plan(settings)
    counts = token_counts([p.fraction for p in wanted], candidates.sum(dim=1))
    results = []
    for i in range(len(inputs)):
        table = {}
        for j, p in enumerate(wanted):
            kept = kept_positions(real[i:i + 1], candidates[i:i + 1], ranks[i:i + 1, p.ranking],
                                  counts[i:i + 1, j], torch.tensor([p.keep]))[0]
            table[p] = float(alone(model, inputs, i, kept)[int(TARGETS[i])])
        results.append(summarise(table, settings))
    return results


def reference_flip(model, inputs, words, ranking, text, cap) -> tuple[int | None, int, list[float]]:
    """Every k in order, one row each: (k or None, the verdict after, its probabilities)."""
    real = inputs.attention_mask[text].bool()
    before = int(alone(model, inputs, text, real).argmax())
    cap = min(len(ranking), cap)
    for k in range(1, cap + 1):
        kept = real.clone()
        for w in ranking[:k]:
            kept[words[w].first_token:words[w].last_token] = False
        after = alone(model, inputs, text, kept)
        if int(after.argmax()) != before or k == cap:
            return (k if int(after.argmax()) != before else None), int(after.argmax()), after.tolist()
    return None, before, []


@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_shared_rows_give_what_each_row_alone_gives(models, inputs, batch_size):
    """Bounds first, then flips, then the metrics, all through one `RemovedRows`: the later measures take
    rows the earlier ones ran in other batches. Flip counts, words and verdicts equal the per-row
    reference exactly; probabilities, the metrics and the exact bounds to fp32 rounding of order 1."""
    model = models["finetuned"]
    generator = torch.Generator().manual_seed(3)
    methods = [(torch.randn(inputs.input_ids.shape, generator=generator), True),
               (torch.randn(inputs.input_ids.shape, generator=generator), False)]
    shared = RemovedRows(model, inputs, batch_size=batch_size)
    bounds = aopc_bounds(model, inputs, TARGETS, BoundSettings(ks=KS, batch_size=batch_size), rows=shared)
    separate = aopc_bounds(model, inputs, TARGETS, BoundSettings(ks=KS, batch_size=1))
    for mine, theirs in zip(bounds, separate):  # a beam may take another chain at a near-tie: an estimate
        for name in (name for name in mine if mine[name].exact):
            assert mine[name].exact == theirs[name].exact and mine[name].rows == theirs[name].rows
            assert_close_fp32([mine[name].lower, mine[name].upper], [theirs[name].lower, theirs[name].upper], 1.0)

    texts = range(len(inputs))
    words = [token_words(inputs, i) for i in texts]
    candidates = [removable_words(words[i], inputs.special_tokens_mask[i]) for i in texts]
    ranked = [word_ranking(words[i], scores[i].tolist(), candidates[i], signed) for scores, signed in methods
              for i in texts]
    ranked += [random_word_ranking(inputs.input_ids[i], int(inputs.attention_mask[i].sum()), candidates[i], 0, r)
               for r in range(3) for i in texts]
    owners = [i for _ in range(len(methods) + 3) for i in texts]
    settings = FlipSettings(batch_size=batch_size, cap=6)
    flips = flip_counts(model, inputs, words, ranked, owners, [ANY_OTHER] * len(owners), settings, shared)
    for found, ranking, text in zip(flips, ranked, owners):
        k, verdict, after = reference_flip(model, inputs, words[text], ranking, text, settings.cap)
        assert found.k == k and found.predicted_after == verdict
        assert found.words == ranking[: k if k is not None else min(len(ranking), settings.cap)]
        if after:
            assert_close_fp32(found.probabilities_after, after, 1.0)

    eraser = FaithfulnessSettings(batch_size=batch_size)
    chance = random_reference(model, inputs, TARGETS, eraser, shared)
    for scores, signed in methods:
        mine = measure_faithfulness(model, inputs, scores, TARGETS, signed, eraser, chance, shared)
        for got, want in zip(mine, reference_eraser(model, inputs, scores, signed, eraser)):
            for name, score in got.scores.items():
                expected = want.scores[name]
                assert_close_fp32([score.value, score.random, *score.by_k, *score.random_by_k],
                                  [expected.value, expected.random, *expected.by_k, *expected.random_by_k], 1.0)
            assert_close_fp32(got.curves["deletion"].values + got.curves["deletion"].random,
                              want.curves["deletion"].values + want.curves["deletion"].random, 1.0)
    assert shared.rows < shared.asked  # the measures did share rows


def test_a_report_runs_each_row_with_tokens_removed_once_per_model(models, monkeypatch):
    """Through the whole pipeline (metrics of two methods, flip tests, agreement flips, bounds), no
    model sees the same perturbed row twice: the rows `perturbation.remove_tokens` builds, per model."""
    built: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    original = perturbation.remove_tokens

    def recording(input_ids, kept, pad_token_id, token_type_ids=None):
        ids, mask, types = original(input_ids, kept, pad_token_id, token_type_ids)
        built.extend(zip(map(tuple, ids.tolist()), map(tuple, mask.tolist())))
        return ids, mask, types

    monkeypatch.setattr(perturbation, "remove_tokens", recording)
    seen: dict[str, list] = {}
    handles = []
    for role, model in models.items():
        def hook(module, args, kwargs, role=role):
            ids = kwargs.get("input_ids", args[0] if args else None)
            if ids is not None:
                seen.setdefault(role, []).extend(zip(map(tuple, ids.tolist()),
                                                     map(tuple, kwargs["attention_mask"].tolist())))
        handles.append(model.module.bert.register_forward_pre_hook(hook, with_kwargs=True))
    try:
        explain(models, Texts(TEXTS, [None] * len(TEXTS), [None] * len(TEXTS)),
                ExplainOptions(methods=("gradient-x-input", "attention-rollout"), max_length=MAX_LENGTH,
                               progress=False, batch_size=4))
    finally:
        for handle in handles:
            handle.remove()
    perturbed = set(built)
    unperturbed = set(zip(*_unperturbed(models["base"])))  # also run by the predictions and attributions
    for role, rows in seen.items():
        removed = [row for row in rows if row in perturbed and row not in unperturbed]
        assert removed, "the test needs perturbed rows"
        assert len(removed) == len(set(removed)), f"the {role} model ran a perturbed row twice"


def _unperturbed(model: LoadedModel) -> tuple[list, list]:
    encoded = encode(model.tokenizer, TEXTS, MAX_LENGTH, pad_to_max_length=True)
    return list(map(tuple, encoded.input_ids.tolist())), list(map(tuple, encoded.attention_mask.tolist()))
