"""The base of attribution methods that only run the model forward on texts with words removed.

Occlusion and Shapley-value methods score the report's *words* (`reportgen.words.group_words`: the
wordpieces of a word, contractions joined) by how the target logit changes when they (and others)
are removed. `PerturbationAttributor` does the shared part: which words there are (real tokens
only, never [CLS]/[SEP] or padding), the batched forward passes through `reportgen.perturbation`
(removal exactly as the faithfulness metrics define it: tokens deleted, the row re-padded), the
target logit of each perturbed text, and how a word's value becomes token scores. A method says
how it chooses coalitions of words and turns their logits into one value per word (`word_values`);
its `reportgen.methods` record says needs="forward".

Token scores: a word's whole value sits on its first wordpiece, its other wordpieces get 0, so a
word's score (the sum of its wordpieces' scores, `reportgen.words.word_scores`) is the method's
value exactly; the method says nothing about the pieces inside a word.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch

from reportgen.attribution.base import Attributor, TokenScores, check_finite
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.perturbation import removal_logits
from reportgen.words import group_words


def word_features(inputs: EncodedTexts) -> torch.Tensor:
    """(texts, seq) long: the index (0, 1, …) of the word each position belongs to, −1 for [CLS], [SEP],
    other special tokens and padding (never removed).

    Words are the report's (`group_words` on the texts' word ids and offsets); inputs built without
    texts or word ids make every removable token a word of its own.
    """
    removable = inputs.attention_mask.bool() & ~inputs.special_tokens_mask.bool()
    features = torch.full(removable.shape, -1, dtype=torch.long)
    for text in range(len(inputs)):
        if inputs.texts and inputs.word_ids:
            spans = [(w.first_token, w.last_token)
                     for w in group_words(inputs.word_ids[text], inputs.offsets[text], inputs.texts[text],
                                          sequence_ids=inputs.sequence_ids[text] if inputs.sequence_ids else None,
                                          text_pair=inputs.pairs[text] if inputs.pairs else None)
                     if removable[text, w.first_token:w.last_token].all()]
        else:
            spans = [(p, p + 1) for p in removable[text].nonzero().flatten().tolist()]
        for word, (first, last) in enumerate(spans):
            features[text, first:last] = word
    return features


@dataclass
class WordValues:
    """One value per word of each text, and where the method has one, its additivity check."""

    values: torch.Tensor  # (texts, words) fp32; words past a text's count are 0
    gap: torch.Tensor | None = None  # (texts,) Σ values − (f(x) − f(no words))
    change: torch.Tensor | None = None  # (texts,) f(x) − f(no words), target logits
    fit: torch.Tensor | None = None  # (texts,) LIME: its surrogate's adjusted R² (choices.adjusted_fit);
    # NaN: no words, or not measurable (fewer samples than words + 2)


class Coalitions:
    """Target logits of texts with only some of their words present, in batches of `batch_size` rows."""

    def __init__(self, model: LoadedModel, inputs: EncodedTexts, features: torch.Tensor, targets: torch.Tensor,
                 attributor: Attributor) -> None:
        self.model, self.inputs, self.attributor = model, inputs, attributor
        device = model.device
        self.features = features.to(device)
        self.real = inputs.attention_mask.bool().to(device)
        self.targets = targets.to(device)
        self.words = (features.max(dim=1).values + 1).tolist()  # words per text

    def logits(self, texts: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """(rows,) fp32 target logits: row r is text `texts[r]` with only the words where `present[r]`
        (rows, words ≥ that text's count) is True; [CLS], [SEP] and other special tokens always stay."""
        device = self.model.device
        texts, present = texts.to(device), present.to(device).bool()
        if present.shape[1] == 0:  # no text has a word (empty, whitespace only): one column for the gathers below
            present = torch.zeros(len(present), 1, dtype=torch.bool, device=device)

        def kept_rows(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = self.features[texts[rows]]
            word_present = present[rows].gather(1, features.clamp(min=0))
            return texts[rows], self.real[texts[rows]] & ((features < 0) | word_present)

        sizes = self.real[texts].sum(dim=1) - ((self.features[texts] >= 0)
                                              & ~present.gather(1, self.features[texts].clamp(min=0))).sum(dim=1)
        settings = self.attributor.settings
        logits = removal_logits(self.model, self.inputs, kept_rows, sizes, batch_size=settings.batch_size,
                                precision=settings.precision, on_progress=settings.on_progress)
        return logits.gather(1, self.targets[texts].view(-1, 1)).squeeze(1)

    def ends(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(f(x), f(no words)) per text: every word present, and none."""
        count, widest = len(self.words), max(self.words, default=0)
        texts = torch.arange(count).repeat(2)
        present = torch.cat([torch.ones(count, widest, dtype=torch.bool), torch.zeros(count, widest, dtype=torch.bool)])
        logits = self.logits(texts, present)
        return logits[:count], logits[count:]


class PerturbationAttributor(Attributor):
    """Scores from forward passes on texts with words removed; no gradients.

    How many rows a text needs depends on its words: `bound_rows` counts them from the texts (`planned_rows`).
    """

    def rows(self, num_texts: int) -> int:
        return 0

    def bound_rows(self, inputs: EncodedTexts) -> int:
        return self.planned_rows((word_features(inputs).max(dim=1).values + 1).tolist())

    @abstractmethod
    def planned_rows(self, words: list[int]) -> int:
        """Forward rows for texts with these numbers of words."""

    @abstractmethod
    def word_values(self, coalitions: Coalitions) -> WordValues:
        """Each text's word values from the target logits of the coalitions of words it chooses."""

    def attribute(self, model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor) -> TokenScores:
        features = word_features(inputs)
        coalitions = Coalitions(model, inputs, features, targets, self)
        result = self.word_values(coalitions)
        scores = spread_over_tokens(result.values.float(), features.to(result.values.device))
        check_finite(scores, self.name)
        return TokenScores(scores, convergence_delta=result.gap, logit_change=result.change, fit=result.fit)


def spread_over_tokens(values: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """(texts, seq) token scores: each word's value (texts, words) on its first wordpiece, 0 elsewhere."""
    scores = torch.zeros(features.shape, dtype=values.dtype, device=values.device)
    previous = torch.cat([torch.full_like(features[:, :1], -1), features[:, :-1]], dim=1)
    first = (features >= 0) & (features != previous)
    if values.shape[1]:
        scores[first] = values.gather(1, features.clamp(min=0))[first]
    return scores
