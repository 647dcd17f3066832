"""ERASER faithfulness: numbers computed by hand on a model whose probability is a known function of the
ids, and a per-text loop reference on the real tiny BERT that builds every perturbed text by hand."""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from reportgen.attribution import AttributionSettings, make_attributor
from reportgen.errors import ReportgenError
from reportgen.faithfulness import (
    CURVE_FRACTIONS,
    KS,
    Faithfulness,
    FaithfulnessSettings,
    forward_rows,
    measure_faithfulness,
)
from reportgen.faithfulness.eraser import random_order, token_counts
from reportgen.inference import predict_logits
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel, load_model
from tests.builders import load_user_module
from tests.test_attribution import MAX_LENGTH, TARGETS, TEXTS
from tests.tolerances import assert_same_numbers

CLS, SEP, PAD, A, B, C, D = range(1, 8)
VALUES = [0.0, 0.25, -0.25, 100.0, 2.0, -1.0, 0.5, 1.0]  # per id; [PAD] counts only if the mask fails


def approx(expected):
    """The stub computes in fp32."""
    return pytest.approx(expected, abs=1e-6)


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


class Additive(nn.Module):
    """logits (0, Σ VALUES[id] over attended positions), so p_1 = sigmoid(Σ); records every row it sees."""

    def __init__(self, values: list[float] = VALUES) -> None:
        super().__init__()
        self.values = nn.Parameter(torch.tensor(values), requires_grad=False)
        self.seen: list[tuple[list[int], list[int]]] = []

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None) -> torch.Tensor:
        self.seen += list(zip(input_ids.tolist(), attention_mask.tolist()))
        total = (self.values[input_ids] * attention_mask).sum(dim=1)
        return torch.stack([torch.zeros_like(total), total], dim=1)


def additive_model(values: list[float] = VALUES, pad_token_id: int = PAD) -> LoadedModel:
    """A two-class model with p_1 = sigmoid(Σ values[id]) over the attended positions."""
    info = SimpleNamespace(role="base", format="checkpoint", pooling="mean-all", num_classes=2, pads_to_max_length=True)
    return LoadedModel(Additive(values), SimpleNamespace(pad_token_id=pad_token_id), info)


@pytest.fixture()
def stub() -> LoadedModel:
    return additive_model()


# [CLS] a b c d [SEP] [PAD] [PAD] (target 1) and [CLS] c [SEP] [PAD]… (target 0); special tokens and
# padding get the largest scores, so any ranking that considered them would show.
STUB_INPUTS = EncodedTexts(
    input_ids=torch.tensor([[CLS, A, B, C, D, SEP, PAD, PAD], [CLS, C, SEP, PAD, PAD, PAD, PAD, PAD]]),
    attention_mask=torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0, 0]]),
    special_tokens_mask=torch.tensor([[1, 0, 0, 0, 0, 1, 1, 1], [1, 0, 1, 1, 1, 1, 1, 1]]),
    truncated=[False, False])
STUB_SCORES = torch.tensor([[9.0, 0.3, -0.9, 0.1, 0.2, 9.0, 5.0, 5.0], [9.0, -0.4, 9.0, 5, 5, 5, 5, 5]])
STUB_TARGETS = torch.tensor([1, 0])


def test_hand_computed_signed_ranking(stub):
    """Signed: a (.3), d (.2), c (.1), b (−.9). n = 4, so k = 1…20 % delete one token, 50 % two."""
    result = measure_faithfulness(stub, STUB_INPUTS, STUB_SCORES, STUB_TARGETS, True, FaithfulnessSettings())[0]
    p = sigmoid(2.5)  # [CLS] + a + b + c + d + [SEP] = 0.25 + 2 − 1 + 0.5 + 1 − 0.25
    assert result.probability == approx(p)
    assert result.scores["comprehensiveness"].by_k == approx([p - sigmoid(0.5)] * 4 + [p - sigmoid(-0.5)])  # −a; −a −d
    assert result.scores["sufficiency"].by_k == approx([p - sigmoid(2.0)] * 4 + [p - sigmoid(3.0)])  # a alone; a and d
    assert result.scores["comprehensiveness"].value == approx(p - (4 * sigmoid(0.5) + sigmoid(-0.5)) / 5)
    assert result.scores["sufficiency"].value == approx(p - (4 * sigmoid(2.0) + sigmoid(3.0)) / 5)
    # f = 0, .01, .05, .1, .2 | .3 and .5 (ceil 1.2, 2) | .7 (ceil 2.8) | 1
    assert result.curves["deletion"].values == approx(
        [p] + [sigmoid(0.5)] * 4 + [sigmoid(-0.5)] * 2 + [sigmoid(-1.0)] + [0.5])


def test_hand_computed_unsigned_ranking(stub):
    """Unsigned: by magnitude, b (.9) first, then a (.3)."""
    result = measure_faithfulness(stub, STUB_INPUTS, STUB_SCORES, STUB_TARGETS, False, FaithfulnessSettings())[0]
    p = sigmoid(2.5)
    assert result.scores["comprehensiveness"].by_k == approx([p - sigmoid(3.5)] * 4 + [p - sigmoid(1.5)])  # −b; −b −a
    assert result.scores["sufficiency"].by_k == approx([p - sigmoid(-1.0)] * 4 + [p - sigmoid(1.0)])  # b alone; b and a


def test_ties_go_to_the_earlier_position(stub):
    tied = torch.tensor([[0.0, 0.5, -0.5, 0.5, 0.5, 0, 0, 0], [0.0] * 8])
    signed, unsigned = (measure_faithfulness(stub, STUB_INPUTS, tied, STUB_TARGETS, flag, FaithfulnessSettings())[0]
                        for flag in (True, False))
    p = sigmoid(2.5)
    # a (pos 1) and c (pos 3): b is against
    assert signed.scores["comprehensiveness"].by_k[-1] == approx(p - sigmoid(0.0))
    assert unsigned.scores["comprehensiveness"].by_k[-1] == approx(p - sigmoid(1.5))  # |±.5| all tie: a and b


def test_token_counts_round_up():
    fractions = [0.0, 0.01, 0.07, 0.1, 0.5, 1.0]
    assert token_counts(fractions, torch.tensor([100, 30, 3, 1, 0])).tolist() == [
        [0, 1, 7, 10, 50, 100], [0, 1, 3, 3, 15, 30], [0, 1, 1, 1, 2, 3], [0, 1, 1, 1, 1, 1], [0] * 6]


def test_one_token_text_and_the_target_class(stub):
    """n = 1: every k deletes c, and every random order is the method's; the target here is class 0."""
    result = measure_faithfulness(stub, STUB_INPUTS, STUB_SCORES, STUB_TARGETS, True, FaithfulnessSettings())[1]
    p = 1 - sigmoid(0.5)  # p_0 of [CLS] c [SEP]
    assert result.scores["comprehensiveness"].value == approx(p - 0.5)
    assert result.scores["sufficiency"].value == approx(0.0)
    assert result.scores["comprehensiveness"].random == approx(result.scores["comprehensiveness"].value)
    assert result.curves["deletion"].random == approx(result.curves["deletion"].values)


def test_deleted_tokens_shift_left_and_rows_keep_their_width(stub):
    measure_faithfulness(stub, STUB_INPUTS, STUB_SCORES, STUB_TARGETS, True, FaithfulnessSettings())
    seen = stub.module.seen
    assert ([CLS, B, C, D, SEP, PAD, PAD, PAD], [1, 1, 1, 1, 1, 0, 0, 0]) in seen  # a deleted
    assert ([CLS, A, D, SEP, PAD, PAD, PAD, PAD], [1, 1, 1, 1, 0, 0, 0, 0]) in seen  # a and d kept, in order
    assert ([CLS, SEP, PAD, PAD, PAD, PAD, PAD, PAD], [1, 1, 0, 0, 0, 0, 0, 0]) in seen  # everything deleted
    for ids, mask in seen:
        length = sum(mask)
        assert len(ids) == 8 and mask == [1] * length + [0] * (8 - length)
        assert ids[0] == CLS and ids[length - 1] == SEP and ids[length:] == [PAD] * (8 - length)
    # each distinct row runs once: on these 3- and 1-token texts many fractions keep the same tokens
    assert len(seen) == len({(tuple(ids), tuple(mask)) for ids, mask in seen}) < forward_rows(2, FaithfulnessSettings())
    assert forward_rows(2, FaithfulnessSettings()) == 2 * 50


def test_progress_counts_forward_rows(stub):
    ticks: list[int] = []
    settings = FaithfulnessSettings(batch_size=7, on_progress=ticks.append, random_orders=2)
    measure_faithfulness(stub, STUB_INPUTS, STUB_SCORES, STUB_TARGETS, True, settings)
    # the bar counts every planned row; a row that another perturbation already ran counts at once
    assert sum(ticks) == forward_rows(2, settings) and len(stub.module.seen) < forward_rows(2, settings)


def test_bad_arguments_are_errors(stub):
    with pytest.raises(ReportgenError, match="do not match"):
        measure_faithfulness(stub, STUB_INPUTS, STUB_SCORES[:, :5], STUB_TARGETS, True, FaithfulnessSettings())
    with pytest.raises(ReportgenError, match="not finite"):
        measure_faithfulness(stub, STUB_INPUTS, STUB_SCORES * float("nan"), STUB_TARGETS, True,
                             FaithfulnessSettings())
    with pytest.raises(ReportgenError, match=r"\(0, 1\]"):
        forward_rows(1, FaithfulnessSettings(ks=(0.0, 0.5)))


# ---- the real tiny BERT, against a per-text loop that builds each perturbed text by hand ----



@pytest.fixture(scope="module")
def bert(checkpoints, encoder_dir) -> LoadedModel:
    return load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling="mean-all",
                      device=torch.device("cpu"))


@pytest.fixture(scope="module")
def inputs(bert) -> EncodedTexts:
    return encode(bert.tokenizer, TEXTS, MAX_LENGTH, pad_to_max_length=True)


@pytest.fixture(scope="module")
def scores(bert, inputs) -> torch.Tensor:
    attributor = make_attributor("gradient-x-input", AttributionSettings(batch_size=8))
    return attributor.attribute(bert, inputs, TARGETS).scores


def hand_reference(module, tokenizer, inputs: EncodedTexts, scores: torch.Tensor, signed: bool,
                   settings: FaithfulnessSettings) -> list[dict[str, list[float]]]:
    """Per text: rank, build each perturbed id list, pad it to MAX_LENGTH, run the user's module."""
    out = []
    for i in range(len(inputs)):
        length = int(inputs.attention_mask[i].sum())
        ids = inputs.input_ids[i, :length].tolist()
        candidates = [t for t in range(length) if ids[t] not in (tokenizer.cls_token_id, tokenizer.sep_token_id)]
        key = [float(s) if signed else abs(float(s)) for s in scores[i]]
        n = len(candidates)

        @functools.cache
        @torch.no_grad()
        def forward(row: tuple[int, ...]) -> float:
            padded = torch.tensor([[*row] + [tokenizer.pad_token_id] * (MAX_LENGTH - len(row))])
            mask = torch.tensor([[1] * len(row) + [0] * (MAX_LENGTH - len(row))])
            return float(module(input_ids=padded, attention_mask=mask).softmax(-1)[0, int(TARGETS[i])])

        def p(kept: list[int]) -> float:
            return forward(tuple(ids[t] for t in sorted(kept)))

        def metrics(ranking: list[int]) -> dict[str, list[float]]:
            def top(f: float) -> set[int]:
                return set(ranking[: math.ceil(Fraction(str(f)) * n)])  # exact decimal k · n

            special = [t for t in range(length) if t not in candidates]
            original = p(list(range(length)))
            return {
                "comprehensiveness_by_k": [original - p([t for t in range(length) if t not in top(k)])
                                           for k in settings.ks],
                "sufficiency_by_k": [original - p(special + sorted(top(k))) for k in settings.ks],
                "curve": [p([t for t in range(length) if t not in top(f)]) for f in settings.curve_fractions],
            }

        method = metrics(sorted(candidates, key=lambda t: (-key[t], t)))
        randoms = [metrics([candidates[j] for j in random_order(inputs.input_ids[i, :length], n, settings.seed, r)])
                   for r in range(settings.random_orders)]
        for name in list(method):
            method["random_" + name] = [sum(v) / len(v) for v in zip(*(r[name] for r in randoms))]
        out.append(method)
    return out


def by_reference_names(result) -> dict[str, list[float]]:
    """The stored measures under the names `hand_reference` gives them."""
    named = {"curve": result.curves["deletion"].values, "random_curve": result.curves["deletion"].random}
    for name, score in result.scores.items():
        named |= {f"{name}_by_k": score.by_k, f"random_{name}_by_k": score.random_by_k}
    return named


@pytest.mark.parametrize("signed", [True, False])
def test_real_bert_equals_a_per_text_loop(signed, bert, inputs, scores, checkpoints, encoder_dir):
    settings = FaithfulnessSettings(batch_size=13, random_orders=2)
    results = measure_faithfulness(bert, inputs, scores, TARGETS, signed, settings)
    user_module = load_user_module(encoder_dir, checkpoints["base"])
    expected = hand_reference(user_module, bert.tokenizer, inputs, scores, signed, settings)
    for result, reference in zip(results, expected):
        for name, values in reference.items():
            assert by_reference_names(result)[name] == pytest.approx(values, abs=2e-5), name
        assert result.scores["comprehensiveness"].value == pytest.approx(
            sum(reference["comprehensiveness_by_k"]) / len(KS), abs=2e-5)
        assert result.scores["sufficiency"].random == pytest.approx(
            sum(reference["random_sufficiency_by_k"]) / len(KS), abs=2e-5)


def test_curve_endpoints(bert, inputs, scores):
    results = measure_faithfulness(bert, inputs, scores, TARGETS, True, FaithfulnessSettings())
    probabilities = predict_logits(bert, inputs, batch_size=8).softmax(-1)
    assert CURVE_FRACTIONS[0] == 0.0 and CURVE_FRACTIONS[-1] == 1.0 and set(KS) <= set(CURVE_FRACTIONS)
    for result, p, target, n in zip(results, probabilities, TARGETS, inputs.lengths()):
        assert result.curves["deletion"].values[0] == pytest.approx(float(p[target]), abs=1e-6) == result.probability
        deletion = result.curves["deletion"]
        assert deletion.random[0] == deletion.values[0] and deletion.random[-1] == deletion.values[-1]
        if n > 3:  # more than one real token: some random order differs from the method's
            assert result.curves["deletion"].values != approx(result.curves["deletion"].random)
        assert [result.curves["deletion"].values[CURVE_FRACTIONS.index(k)] for k in KS] == pytest.approx(
            [result.probability - c for c in result.scores["comprehensiveness"].by_k])


@pytest.mark.parametrize("kind", ["mean-all", "huggingface"])
def test_special_tokens_stay_and_rows_keep_the_input_width(kind, bert, hf_dir, encoder_dir):
    """mean-all sees max_length positions in every row; a Hugging Face model its input's width."""
    model = bert if kind == "mean-all" else load_model(str(hf_dir), role="finetuned", encoder=str(encoder_dir),
                                                       pooling="mean-all", device=torch.device("cpu"))
    encoded = encode(model.tokenizer, TEXTS[:3], MAX_LENGTH, model.info.pads_to_max_length)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    encoder = model.module.bert
    handle = encoder.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append((kwargs.get("input_ids", args[0] if args else None),
                                                 kwargs["attention_mask"])), with_kwargs=True)
    try:
        measure_faithfulness(model, encoded, torch.randn(encoded.input_ids.shape), TARGETS[:3], False,
                             FaithfulnessSettings(batch_size=16))
    finally:
        handle.remove()
    width = MAX_LENGTH if kind == "mean-all" else max(encoded.lengths())
    tokenizer = model.tokenizer
    assert sum(len(ids) for ids, _ in seen) <= forward_rows(3, FaithfulnessSettings())
    for ids, mask in seen:
        assert ids.shape[1] == encoded.input_ids.shape[1] == width
        lengths = mask.sum(dim=1)
        assert torch.equal(mask, (torch.arange(width) < lengths.unsqueeze(1)).long())
        assert (ids[:, 0] == tokenizer.cls_token_id).all()
        assert (ids.gather(1, (lengths - 1).unsqueeze(1)) == tokenizer.sep_token_id).all()
        assert ((ids == tokenizer.sep_token_id).sum(dim=1) == 1).all()
        assert (ids[mask == 0] == tokenizer.pad_token_id).all()


def random_fields(result: Faithfulness) -> list[float]:
    return [*result.scores["comprehensiveness"].random_by_k, *result.scores["sufficiency"].random_by_k,
            *result.curves["deletion"].random]


def long_stub_texts(lengths: list[int], width: int = 40) -> EncodedTexts:
    """[CLS] a…d at random [SEP] [PAD]…: enough tokens for random orders to differ."""
    generator = torch.Generator().manual_seed(0)
    rows, masks = [], []
    for n in lengths:
        words = torch.randint(A, D + 1, (n,), generator=generator).tolist()
        rows.append([CLS, *words, SEP] + [PAD] * (width - n - 2))
        masks.append([1] * (n + 2) + [0] * (width - n - 2))
    ids, mask = torch.tensor(rows), torch.tensor(masks)
    special = ((ids == CLS) | (ids == SEP) | (mask == 0)).long()
    return EncodedTexts(ids, mask, special, [False] * len(lengths))


def test_random_reference_is_seeded_and_independent_of_batching(stub):
    inputs, targets = long_stub_texts([30, 12, 25]), torch.tensor([1, 0, 1])
    scores = torch.randn(inputs.input_ids.shape, generator=torch.Generator().manual_seed(1))

    def run(inputs=inputs, scores=scores, targets=targets, **settings) -> list[list[float]]:
        results = measure_faithfulness(stub, inputs, scores, targets, True, FaithfulnessSettings(**settings))
        return [random_fields(result) for result in results]

    first = run()
    for size in (1, 7, 1000):
        assert run(batch_size=size) == [approx(fields) for fields in first]
    assert run() == first  # reproducible
    # the same texts at other batch positions get the same random orders
    assert run(inputs.select([2, 0, 1]), scores[[2, 0, 1]], targets[[2, 0, 1]]) == [approx(first[i]) for i in (2, 0, 1)]
    # the random reference does not look at the scores, and the seed matters
    assert run(scores=torch.randn(scores.shape)) == [approx(fields) for fields in first]
    assert all(fields != approx(reference) for fields, reference in zip(run(seed=1), first))
    assert all(fields != approx(reference) for fields, reference in zip(run(random_orders=4), first))


def test_a_shared_random_reference_gives_the_same_numbers_with_fewer_rows(bert, inputs):
    """The random orders do not depend on the method: computed once, they serve every method. The same rows
    then run in other batches (the shared reference's rows apart from the method's), so a probability may move
    in its last bits (1.8e-7 on an AMD EPYC): every count, word and order exactly, every number within fp32
    rounding of 1 (probabilities and their differences); another random order moves them by ~1e-2."""
    from reportgen.faithfulness import random_reference

    model = bert
    targets = TARGETS.clone()
    ticks: list[int] = []
    settings = FaithfulnessSettings(batch_size=5, on_progress=ticks.append)
    shared = random_reference(model, inputs, targets, settings)
    for method in ("gradient-x-input", "attention-rollout"):
        attributor = make_attributor(method, AttributionSettings(batch_size=4))
        scores = attributor.attribute(model, inputs, targets).scores
        alone = measure_faithfulness(model, inputs, scores, targets, attributor.signed,
                                     FaithfulnessSettings(batch_size=5))
        assert_same_numbers(measure_faithfulness(model, inputs, scores, targets, attributor.signed, settings, shared),
                            alone)
    assert sum(ticks) == forward_rows(len(TEXTS), settings, methods=2) < 2 * forward_rows(len(TEXTS), settings)
    with pytest.raises(ReportgenError, match="other targets"):
        measure_faithfulness(model, inputs, scores, 1 - targets, False, settings, shared)
