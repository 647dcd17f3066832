"""Occlusion over words (leave one word out; Zeiler & Fergus 2014, for text Li et al. 2016,
"Understanding neural networks through representation erasure", arXiv 1612.08220).

value(w) = f(x) − f(x without w), f the target class's logit and "without" the removal the
faithfulness metrics use (`reportgen.perturbation`): positive where the word supported the target.
Logits, not probabilities: a probability near 0 or 1 saturates, so removing a word that the model
relies on can change it by almost nothing; the logit keeps that change visible, and it is the
quantity every other signed method of reportgen explains. Cost: 1 + words forward rows per text,
all texts' rows sharing the passes.
"""

from __future__ import annotations

import torch

from reportgen.attribution.perturbation import Coalitions, PerturbationAttributor, WordValues


class Occlusion(PerturbationAttributor):
    name = "occlusion"

    def planned_rows(self, words: list[int]) -> int:
        return sum(1 + n for n in words)

    def word_values(self, coalitions: Coalitions) -> WordValues:
        words = coalitions.words
        widest = max(words, default=0)
        texts, present = [], []
        for text, count in enumerate(words):
            rows = torch.ones(1 + count, widest, dtype=torch.bool)  # row 0: every word; row 1 + w: all but w
            rows[1:, :count] &= ~torch.eye(count, dtype=torch.bool)
            texts += [text] * (1 + count)
            present.append(rows)
        if not texts:
            return WordValues(torch.zeros(0, widest))
        logits = coalitions.logits(torch.tensor(texts), torch.cat(present)).cpu()
        values = torch.zeros(len(words), widest)
        start = 0
        for text, count in enumerate(words):
            values[text, :count] = logits[start] - logits[start + 1: start + 1 + count]
            start += 1 + count
        return WordValues(values)
