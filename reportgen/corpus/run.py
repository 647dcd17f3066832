"""Attribute many rows with both models toward one common class, a batch of rows at a time.

Both models explain the same class for a row (its true label, or the class the user names), so
their scores answer the same question and can be compared; wordpieces are merged into the
text's words with the fast tokenizer's word ids (`reportgen.words`). Nothing is kept between
batches: each batch's rows go to the caller (the store) as soon as they are computed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from reportgen.attribution import TokenScores
from reportgen.batching import default_batch_size
from reportgen.choices import ROLES
from reportgen.corpus.options import CorpusOptions
from reportgen.corpus.rationales import empty_columns, plausibility_columns
from reportgen.errors import ReportgenError
from reportgen.inference import predict_logits
from reportgen.loading.checks import check_labels, same_inputs
from reportgen.loading.data import Rows
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel
from reportgen.words import group_words, word_scores


@dataclass
class CorpusRow:
    """One dataset row through both models: verdicts, and each model's score per word of the text.

    Scores are the raw sums of each word's wordpiece scores toward `target`; `*_total` is the
    model's Σ|score| over all the text's tokens ([CLS] and [SEP] included, padding not), so
    `score / total` is the word's share of that model's influence (`reportgen.comparison.normalise`).
    """

    index: int
    label: int | None
    target: int
    base_pred: int
    base_prob: float  # probability of the model's own prediction
    base_target_prob: float  # probability of the target class
    finetuned_pred: int
    finetuned_prob: float
    finetuned_target_prob: float
    truncated: bool
    words: list[str]
    starts: list[int]  # character offsets of each word in the row's text
    ends: list[int]
    base_scores: list[float]
    finetuned_scores: list[float]
    base_total: float
    finetuned_total: float
    # Integrated gradients: gradient evaluations of the row (they differ with --steps auto), and the
    # completeness check Σ scores − (F(x) − F(x′)) with F(x) − F(x′); Shapley value sampling: the
    # additivity gap and f(x) − f(no words), without steps. None for other methods.
    base_steps: int | None = None
    finetuned_steps: int | None = None
    base_delta: float | None = None
    finetuned_delta: float | None = None
    base_logit_change: float | None = None
    finetuned_logit_change: float | None = None
    # Integrated gradients with --steps auto: whether the row converged (its scores' estimated error or its delta
    # within the tolerance) and the scores' estimated relative L1 error; None with fixed steps.
    base_converged: bool | None = None
    finetuned_converged: bool | None = None
    base_score_error: float | None = None
    finetuned_score_error: float | None = None
    # LIME: its surrogate's weighted R² adjusted for the words it fits (`choices.adjusted_fit`); None where it is
    # not measurable (fewer samples than words + 2), and for other methods.
    base_fit: float | None = None
    finetuned_fit: float | None = None
    # --rationale-column: the share of the rationale past what the models saw, and each model's plausibility
    # (`corpus.rationales.MEASURES`); None without a rationale, or where the row is explained toward another class.
    rationale_cut: float | None = None
    base_auprc: float | None = None
    base_auprc_random: float | None = None
    base_token_f1: float | None = None
    base_word_auprc: float | None = None
    base_word_f1: float | None = None
    finetuned_auprc: float | None = None
    finetuned_auprc_random: float | None = None
    finetuned_token_f1: float | None = None
    finetuned_word_auprc: float | None = None
    finetuned_word_f1: float | None = None


def targets_for(indices: list[int], labels: list[int | None], target_class: int | None) -> list[int]:
    """The common class of each row: the given class, else the true label (a row without one is an error)."""
    if target_class is not None:
        return [target_class] * len(indices)
    for index, label in zip(indices, labels):
        if label is None:
            raise ReportgenError(f"row {index} has no label, so there is no true class to explain; give the class "
                                 "to explain every row toward with --target-class")
    return [int(label) for label in labels]


class RowAttributor:
    """Both models' predictions and word scores for batches of rows, on the models' device."""

    def __init__(self, models: dict[str, LoadedModel], options: CorpusOptions) -> None:
        self.models = models
        self.options = options
        device = models["base"].device
        self.batch_size = options.batch_size or default_batch_size(device)
        # One attributor per model: a batch size that had to shrink on out-of-memory stays shrunk.
        self.attributors = {role: options.attributor(self.batch_size) for role in ROLES}

    def batches(self, rows: Rows, indices: list[int]) -> Iterator[list[CorpusRow]]:
        """`batch_size` rows at a time, in the order given."""
        for start in range(0, len(indices), self.batch_size):
            yield self.attribute(rows, indices[start:start + self.batch_size])

    def _encode(self, texts: list[str], indices: list[int]) -> dict[str, EncodedTexts]:
        encoded: dict[str, EncodedTexts] = {}
        for role, model in self.models.items():
            twin = next((r for r in encoded if same_inputs(self.models[r], model)), None)
            encoded[role] = encoded[twin] if twin else encode(model.tokenizer, texts, self.options.max_length,
                                                              model.info.pads_to_max_length, indices)
        first, second = (encoded[role] for role in ROLES)
        if first is not second and first.tokens(self.models["base"].tokenizer) != \
                second.tokens(self.models["finetuned"].tokenizer):
            raise ReportgenError("the base and fine-tuned models split the texts into different wordpieces; a corpus "
                                 "compares word scores, so the models need the same tokenizer (--encoder)")
        if not first.words_exact:
            raise ReportgenError("the models' tokenizer is a slow (Python) one, which gives no word boundaries; "
                                 "a corpus needs a fast tokenizer (tokenizer.json beside the model or encoder)")
        return encoded

    def attribute(self, rows: Rows, indices: list[int]) -> list[CorpusRow]:
        texts, labels = rows.texts(indices), rows.labels(indices)
        check_labels(indices, labels, self.models["base"].info.num_classes)
        targets = targets_for(indices, labels, self.options.target_class)
        target_tensor = torch.tensor(targets, dtype=torch.long)
        encoded = self._encode(texts, indices)
        verdicts, scores, paths = {}, {}, {}
        for role, model in self.models.items():
            logits = predict_logits(model, encoded[role], batch_size=self.batch_size, precision=self.options.precision)
            verdicts[role] = [verdict.cpu() for verdict in model.verdicts(logits)]
            result = self.attributors[role].attribute(model, encoded[role], target_tensor)
            scores[role] = result.scores.cpu()
            paths[role] = _path_columns(role, result)
        inputs = encoded["base"]
        rationales = rows.rationales(indices)
        out = []
        for i, (index, text) in enumerate(zip(indices, texts)):
            length = int(inputs.attention_mask[i].sum())
            words = [w for w in group_words(inputs.word_ids[i], inputs.offsets[i], text) if w.start is not None]
            per_model: dict[str, Any] = empty_columns()
            if rationales is not None:
                per_model |= plausibility_columns(rationales[i], text, index, labels[i], targets[i],
                                                  self.options.method, inputs, i,
                                                  {role: scores[role][i, :length].tolist() for role in ROLES})
            for role in ROLES:
                probabilities, predicted = verdicts[role][0][i], int(verdicts[role][1][i])
                token_scores = scores[role][i, :length].tolist()
                per_model |= {f"{role}_pred": predicted, f"{role}_prob": float(probabilities[predicted]),
                              f"{role}_target_prob": float(probabilities[targets[i]]),
                              f"{role}_scores": word_scores(words, token_scores),
                              f"{role}_total": math.fsum(abs(s) for s in token_scores),
                              **{name: values[i] for name, values in paths[role].items()}}
            out.append(CorpusRow(index=index, label=labels[i], target=targets[i], truncated=inputs.truncated[i],
                                 words=[w.text for w in words], starts=[w.start for w in words],
                                 ends=[w.end for w in words], **per_model))
        return out


def _path_columns(role: str, result: TokenScores) -> dict[str, list]:
    """A model's additivity columns per row of the batch (none for methods whose scores need not add up), and
    LIME's fit (NaN, not measurable, stored as null)."""
    fit = {} if result.fit is None else {f"{role}_fit": [v if math.isfinite(v) else None for v in result.fit.tolist()]}
    if result.convergence_delta is None:
        return fit
    steps = {} if result.steps is None else {f"{role}_steps": [int(n) for n in result.steps.tolist()]}
    if result.score_error is not None:  # auto steps; fixed steps are judged by the delta against --tolerance
        steps[f"{role}_converged"] = [bool(c) for c in result.converged.tolist()]
        steps[f"{role}_score_error"] = [e if math.isfinite(e) else None for e in result.score_error.tolist()]
    return {**fit, **steps, f"{role}_delta": result.convergence_delta.cpu().tolist(),
            f"{role}_logit_change": result.logit_change.cpu().tolist()}
