"""The pipeline's new parts: the common class of the difference view, words, shared faithfulness rows."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from reportgen.attribution import AttributionSettings, MethodOptions, PathSteps, make_attributor
from reportgen.comparison import difference
from reportgen.loading.inputs import encode
from reportgen.loading.models import load_model
from reportgen.pipeline import ExplainOptions, Texts, explain
from reportgen.results import stored
from tests.tolerances import assert_close_fp32, assert_same_numbers, row_magnitude

MAX_LENGTH = 48
TEXTS = ["the acting was wonderful but the plot was boring", "awful, dull movie", "not good. not good at all",
         "i loved it! the best film", "great music, terrible script", "it was fun"]


@pytest.fixture(scope="module")
def models(checkpoints, encoder_dir):
    return {role: load_model(str(checkpoints[role]), role=role, encoder=str(encoder_dir), pooling="mean-all",
                             device=torch.device("cpu")) for role in ("base", "finetuned")}


@pytest.fixture(scope="module")
def labelled(models):
    """Labels chosen so that some texts have a model whose own prediction is not the label."""
    probe = explain(models, Texts(TEXTS, [None] * 6, [None] * 6),
                    ExplainOptions(methods=("gradient",), max_length=MAX_LENGTH, faithfulness=False, progress=False))
    base_predictions = [s.models["base"].predicted for s in probe.samples]
    labels = [1 - p if i % 2 == 0 else p for i, p in enumerate(base_predictions)]
    report = explain(models, Texts(TEXTS, list(range(6)), labels, ["negative", "positive"]),
                     ExplainOptions(methods=("gradient-x-input", "attention-rollout"), max_length=MAX_LENGTH,
                                    progress=False, batch_size=4, target="predicted"))
    return report, labels


def direct(model, texts: list[str], targets: list[int], method: str) -> list[list[float]]:
    inputs = encode(model.tokenizer, texts, MAX_LENGTH, True)
    scores = make_attributor(method, AttributionSettings(batch_size=32)).attribute(
        model, inputs, torch.tensor(targets)).scores
    return [stored(row[:n].tolist()) for row, n in zip(scores, inputs.lengths())]


def test_difference_explains_the_columns_class_else_the_true_label_for_both_models(labelled, models):
    """--target predicted: where both models predict one class the columns and the difference explain it;
    where they predict different classes the difference explains the true label for both."""
    report, labels = labelled
    targets = [{m.target for m in s.models.values()} for s in report.samples]
    expected = [next(iter(t)) if len(t) == 1 else labels[i] for i, t in enumerate(targets)]
    assert any(len(t) == 2 for t in targets), "the test needs a sample where the models predict different classes"
    assert any(len(t) == 1 and labels[i] not in t for i, t in enumerate(targets)), \
        "the test needs a sample where both models predict the class that is not the label"
    for role, model in models.items():
        want = direct(model, TEXTS, expected, "gradient-x-input")
        for i, sample in enumerate(report.samples):
            assert sample.difference.target == expected[i]
            assert sample.difference.reason == ("the true label" if len(targets[i]) == 2 else
                                                "the class both models predict")
            got = sample.difference.scores["gradient-x-input"][role]
            assert_close_fp32(torch.tensor(got), torch.tensor(want[i]), row_magnitude(torch.tensor(want[i])))
            if sample.models[role].target == expected[i]:  # no extra attribution: the main scores serve
                assert got == sample.models[role].methods["gradient-x-input"].scores
    for sample in report.samples:
        raw = sample.difference.scores["gradient-x-input"]
        assert sample.difference.difference["gradient-x-input"] == stored(difference(raw["base"], raw["finetuned"]))
        # rollout ignores the target: its own scores serve the common class unchanged
        for role in models:
            assert sample.difference.scores["attention-rollout"][role] == \
                sample.models[role].methods["attention-rollout"].scores


def test_every_method_is_measured_and_words_cover_the_tokens(labelled):
    report, _ = labelled
    assert report.meta.faithfulness is not None and report.meta.faithfulness.ks == [0.01, 0.05, 0.1, 0.2, 0.5]
    for sample in report.samples:
        assert sample.words[0].text == "[CLS]" and sample.words[-1].text == "[SEP]"
        assert [w.first_token for w in sample.words[1:]] == [w.last_token for w in sample.words[:-1]]
        assert sample.words[-1].last_token == len(sample.tokens)
        assert all(sample.text[w.start:w.end] == w.text for w in sample.words if w.start is not None)
        for model in sample.models.values():
            for result in model.methods.values():
                f = result.faithfulness
                assert f is not None
                assert f.curves["deletion"].values[0] == pytest.approx(model.probabilities[model.target], abs=1e-5)


def test_unlabelled_texts_use_the_finetuned_prediction(models):
    report = explain(models, Texts(TEXTS[:2], [None, None], [None, None]),
                     ExplainOptions(methods=("gradient",), max_length=MAX_LENGTH, faithfulness=False, progress=False))
    for sample in report.samples:
        assert sample.difference.target == sample.models["finetuned"].predicted
        assert "fine-tuned model's prediction" in sample.difference.reason
    assert report.meta.faithfulness is None
    assert all(m.faithfulness is None for s in report.samples for r in s.models.values() for m in r.methods.values())


def remove_words(model, text: str, words, chosen: list[int]) -> int:
    """The model's class for `text` with the chosen words' tokens removed, built by hand, one text at a time."""
    inputs = encode(model.tokenizer, [text], MAX_LENGTH, True)
    gone = {t for w in chosen for t in range(words[w].first_token, words[w].last_token)}
    ids = [t for p, t in enumerate(inputs.input_ids[0, : inputs.lengths()[0]].tolist()) if p not in gone]
    padded = ids + [model.tokenizer.pad_token_id] * (MAX_LENGTH - len(ids))
    mask = [1] * len(ids) + [0] * (MAX_LENGTH - len(ids))
    with torch.no_grad():
        logits = model.logits(torch.tensor([mask]), input_ids=torch.tensor([padded]))
    return int(logits.argmax(dim=-1))


def test_flip_counts_bounds_and_agreement_in_a_full_run(labelled, models):
    report, _ = labelled
    for sample in report.samples:
        for role, model in sample.models.items():
            for result in model.methods.values():
                flip = result.flip
                assert flip is not None and flip.searched == min(len([w for w in sample.words if w.start is not None]),
                                                                 64)
                if flip.k is not None:
                    assert len(flip.words) == flip.k and flip.predicted_after != model.predicted
                    assert remove_words(models[role], sample.text, sample.words, flip.words) == flip.predicted_after
                    if flip.k > 1:  # one word fewer does not flip
                        assert remove_words(models[role], sample.text, sample.words, flip.words[:-1]) == model.predicted
                for name, score in result.faithfulness.scores.items():
                    bounds = model.aopc_bounds[name]
                    assert bounds.lower <= score.value <= bounds.upper and bounds.lower <= score.random <= bounds.upper
                    assert score.normalised is None or 0.0 <= score.normalised <= 1.0
            assert len(model.random_flips.ks) == 3
        disagree = sample.models["base"].predicted != sample.models["finetuned"].predicted
        assert bool(sample.agreement_flips) == disagree
        for role, flip in sample.agreement_flips.items():
            other = "finetuned" if role == "base" else "base"
            if flip.k is not None:
                assert flip.predicted_after == sample.models[other].predicted
                assert remove_words(models[role], sample.text, sample.words, flip.words) == flip.predicted_after


def test_no_flip_test_keeps_every_other_number_and_runs_no_flip(labelled, models):
    """--no-flip-test (`flip_test=False`): no flip, random flips, agreement flips or flip-test stage, and every
    ERASER value, random reference and AOPC bound the same as the full run's (the same rows, batch for batch)."""
    full, labels = labelled
    quick = explain(models, Texts(TEXTS, list(range(6)), labels, ["negative", "positive"]),
                    ExplainOptions(methods=("gradient-x-input", "attention-rollout"), max_length=MAX_LENGTH,
                                   progress=False, batch_size=4, target="predicted", flip_test=False))
    assert "flip-test" not in quick.meta.seconds and "aopc-bounds" in quick.meta.seconds
    for fast, slow in zip(quick.samples, full.samples):
        assert fast.agreement_flips == {} and any(slow.agreement_flips for slow in full.samples)
        for role, model in fast.models.items():
            assert model.random_flips is None and slow.models[role].random_flips is not None
            assert_same_numbers(asdict(model)["aopc_bounds"], asdict(slow.models[role])["aopc_bounds"])
            for method, result in model.methods.items():
                assert result.flip is None and slow.models[role].methods[method].flip is not None
                assert_same_numbers(asdict(result)["faithfulness"], asdict(slow.models[role].methods[method])[
                    "faithfulness"])


def test_the_report_records_the_seconds_of_each_stage(labelled, models):
    """meta.seconds: every stage that ran, each second counted once; a run without the metrics has none of theirs."""
    report, _ = labelled
    assert list(report.meta.seconds) == ["prediction", "gradient-x-input", "faithfulness-metrics",
                                         "attention-rollout", "flip-test", "aopc-bounds"]
    assert all(spent >= 0 for spent in report.meta.seconds.values()) and report.meta.seconds["aopc-bounds"] > 0
    quick = explain(models, Texts(TEXTS[:2], [None] * 2, [None] * 2),
                    ExplainOptions(methods=("gradient",), max_length=MAX_LENGTH, faithfulness=False, progress=False))
    assert list(quick.meta.seconds) == ["prediction", "gradient"]


class RecordingBar:
    """Stands in for tqdm: every update of every bar, with the total the bar had then."""

    closed: list[RecordingBar] = []

    def __init__(self, total: int = 0, desc: str = "", **_: object) -> None:
        self.desc, self.first_total, self.total, self.n = desc, total, total, 0
        self.seen: list[tuple[int, int]] = []  # (n, total) after each update
        self.shown: int | None = None  # the count last drawn: tqdm draws an update only every so often

    def update(self, count: int = 1) -> None:
        self.n += count
        self.seen.append((self.n, self.total))

    def refresh(self) -> None:
        self.shown = self.n

    def close(self) -> None:
        RecordingBar.closed.append(self)


@pytest.mark.parametrize("methods", [("gradient-x-input", "attention-rollout"), ("integrated-gradients",),
                                     ("integrated-gradients", "attention-gradient")])
def test_no_bar_ever_goes_back(models, monkeypatch, methods):
    """A default report (auto IG steps, faithfulness, flip test, NAOPC, agreement flips), and a model that predicts
    neither the target nor the common class (the flip test attributes its predicted class too, a stage "…, another
    class" of its own): every stage's bar keeps the total it started with, never counts past it, and ends full and
    drawn full, so no percentage goes back and none closes short."""
    monkeypatch.setattr("reportgen.progress.tqdm", RecordingBar)
    RecordingBar.closed.clear()
    report = explain(models, Texts(TEXTS[:4], list(range(4)), [0] * 4),
                     ExplainOptions(methods=methods, target="0", max_length=MAX_LENGTH,
                                    method_options=MethodOptions(path=PathSteps(steps="auto", max_steps=9))
                                    if "integrated-gradients" in methods else MethodOptions()))
    assert any(s.models[role].predicted != 0 for s in report.samples for role in models)  # the case at stake
    bars = RecordingBar.closed
    labels = {bar.desc for bar in bars}
    assert {"base, flip test", "fine-tuned, normalised AOPC", f"base, {methods[0]}"} <= labels
    assert any(label.endswith(f"{methods[0]}, another class") for label in labels), labels
    for bar in bars:
        assert all(total == bar.first_total for _, total in bar.seen), bar.desc  # the total never changes
        counts = [n for n, _ in bar.seen]
        assert counts == sorted(counts) and all(n <= bar.first_total for n in counts), bar.desc
        assert bar.n == bar.first_total, bar.desc  # ends full
        assert bar.shown == bar.first_total, bar.desc  # and is drawn full before it closes


def test_flip_ranks_by_evidence_for_the_predicted_class_when_the_target_differs(models):
    """--target 0: the flip ranking comes from attributions towards each model's predicted class."""
    texts = TEXTS[:3]
    report = explain(models, Texts(texts, [None] * 3, [None] * 3),
                     ExplainOptions(methods=("gradient-x-input",), target="0", max_length=MAX_LENGTH, progress=False,
                                    naopc=False))
    assert any(s.models[r].predicted != 0 for s in report.samples for r in s.models)
    for role, model in models.items():
        predicted = [s.models[role].predicted for s in report.samples]
        towards = direct(model, texts, predicted, "gradient-x-input")
        for sample, scores in zip(report.samples, towards):
            flip = sample.models[role].methods["gradient-x-input"].flip
            candidates = [i for i, w in enumerate(sample.words) if w.start is not None]
            by_word = {i: sum(scores[sample.words[i].first_token:sample.words[i].last_token]) for i in candidates}
            # the removed words are the strongest for the predicted class (up to fp32 near-ties between batches)
            chosen, rest = [by_word[i] for i in flip.words], [by_word[i] for i in candidates if i not in flip.words]
            tolerance = 1e-5 * max(abs(v) for v in by_word.values())
            assert chosen == sorted(chosen, reverse=True) or max(abs(a - b) for a, b in zip(chosen, sorted(
                chosen, reverse=True))) <= tolerance
            assert not rest or min(chosen) >= max(rest) - tolerance
        assert all(s.models[role].aopc_bounds == {} for s in report.samples)
def test_by_default_both_models_explain_the_common_class(labelled, models):
    """--target common (the default): each model's scores, faithfulness and difference explain one class,
    the true label, also where a model predicted the other; no second attribution is needed."""
    _, labels = labelled
    assert ExplainOptions().target == "common"
    report = explain(models, Texts(TEXTS, list(range(6)), labels, ["negative", "positive"]),
                     ExplainOptions(methods=("gradient-x-input",), max_length=MAX_LENGTH, progress=False))
    assert report.meta.target == "common"
    assert any(s.models["base"].predicted != labels[i] for i, s in enumerate(report.samples))
    want = direct(models["base"], TEXTS, labels, "gradient-x-input")
    for i, sample in enumerate(report.samples):
        for role, model in sample.models.items():
            assert model.target == labels[i] == sample.difference.target
            assert sample.difference.scores["gradient-x-input"][role] == model.methods["gradient-x-input"].scores
            curve = model.methods["gradient-x-input"].faithfulness.curves["deletion"]
            assert curve.values[0] == pytest.approx(model.probabilities[labels[i]], abs=1e-5)
        got = torch.tensor(sample.models["base"].methods["gradient-x-input"].scores)
        assert_close_fp32(got, torch.tensor(want[i]), row_magnitude(torch.tensor(want[i])))
