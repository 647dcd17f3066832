"""One method's scores for one model and text, against that text's human marks → `results.Plausibility`."""

from __future__ import annotations

from collections.abc import Sequence

from reportgen.plausibility.masks import Marks
from reportgen.plausibility.measures import auprc, evidence, top_k_f1
from reportgen.results import Plausibility, Word
from reportgen.words import word_scores


def plausibility(scores: Sequence[float], signed: bool, marks: Marks, words: Sequence[Word]) -> Plausibility | None:
    """ERASER's plausibility of `scores` (one per token, towards the true label; `signed`: the method's
    `MethodInfo.signed`) against `marks` (`masks.marks` of the same text): AUPRC with its random reference
    and top-k F1, on the tokens the model saw (specials left out) and on its words (a word's evidence is the
    evidence of the sum of its tokens' scores). None when no seen token is marked (an empty rationale, or
    one wholly cut off by truncation): there is nothing to find."""
    if len(scores) != len(marks.tokens) or len(words) != len(marks.words):
        raise ValueError(f"{len(scores)} scores and {len(words)} words against marks of {len(marks.tokens)} tokens "
                         f"and {len(marks.words)} words: they must align")
    seen = [i for i, marked in enumerate(marks.tokens) if marked is not None]
    token_truth = [bool(marks.tokens[i]) for i in seen]
    kept = [i for i, marked in enumerate(marks.words) if marked is not None]
    word_truth = [bool(marks.words[i]) for i in kept]
    if not any(token_truth) or not any(word_truth):
        return None
    token_evidence = evidence([scores[i] for i in seen], signed)
    summed = word_scores(words, scores)
    word_evidence = evidence([summed[i] for i in kept], signed)
    return Plausibility(
        auprc=auprc(token_evidence, token_truth), auprc_random=sum(token_truth) / len(token_truth),
        token_f1=top_k_f1(token_evidence, token_truth), tokens_marked=sum(token_truth),
        word_auprc=auprc(word_evidence, word_truth), word_auprc_random=sum(word_truth) / len(word_truth),
        word_f1=top_k_f1(word_evidence, word_truth), words_marked=sum(word_truth))
