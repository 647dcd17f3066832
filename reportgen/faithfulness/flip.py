"""The flip test: the fewest top-ranked words whose removal changes a model's verdict.

For a text x with words w_1…w_n (the report's words, `SampleResult.words`: each a span of
wordpieces; [CLS]/[SEP] and padding are never words here) and a ranking of them, let x∖top_k be x
with every wordpiece of its k highest-ranked words removed ("removed" as the ERASER metrics define
it, `reportgen.perturbation`: later tokens shift left, the row is re-padded as the model expects).
The flip count is the smallest k in 1…cap at which the model's verdict (argmax of its softmax) has
left the class it gave x — or, for the agreement test, has become a given class. cap =
min(n, FLIP_CAP); "does not flip within cap words" when no such k exists.

The search is honest, not a bisection: the probability of a class need not fall monotonically as
words go (removing a word against the class can bring it back), so every k is tried in order, a
chunk of consecutive k at a time, and the search stops at the first chunk that holds a flip, taking
its smallest k. The searches of all rankings run together, round by round; each active search tries
ceil(batch_size / active searches) consecutive k per round, so a round fills about one forward pass
of `batch_size` rows and a search that flips at k costs k rows plus less than one chunk. Cost: at
most cap forward rows per text and ranking, fewer where another measure already ran the same row
(`rows.RemovedRows`).

Rankings: by evidence for the class the model must leave (most positive word first for signed
methods, where a word's score is the sum of its wordpieces'; by magnitude for unsigned ones; ties
to the earlier word). The random rankings are permutations of the words seeded exactly as the
ERASER random orders are (`eraser.random_order`: the text's own token ids, the seed and the order's
number), so a text gets the same random orders whatever the batch, the model or the method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from reportgen.errors import ReportgenError
from reportgen.faithfulness.eraser import random_order
from reportgen.faithfulness.rows import RemovedRows
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.results import Flip, Word

FLIP_CAP = 64
"""Words tried at most per text and ranking: 64 covers every review of the demo's data where a
method's ranking flips at all (docs/faithfulness.md) and bounds the cost at 64 rows per ranking."""

ANY_OTHER = -1
"""`reach` value: any class but the one the model gave the unperturbed text."""


@dataclass
class FlipSettings:
    cap: int = FLIP_CAP
    batch_size: int = 16  # forward rows per pass: the chunk of consecutive k tried together
    precision: str = "fp32"
    on_progress: Callable[[int], None] | None = None


def removable_words(words: Sequence[Word], special_tokens_mask: torch.Tensor) -> list[int]:
    """Indices of the words that may be removed: every word none of whose tokens is special."""
    return [i for i, w in enumerate(words) if not special_tokens_mask[w.first_token:w.last_token].bool().any()]


def word_ranking(words: Sequence[Word], token_scores: Sequence[float], candidates: Sequence[int],
                 signed: bool) -> list[int]:
    """Candidate word indices, strongest evidence first: Σ of the word's wordpiece scores, by value
    for signed methods and by magnitude for unsigned ones; ties keep text order."""
    def key(i: int) -> float:
        total = sum(float(s) for s in token_scores[words[i].first_token:words[i].last_token])
        return total if signed else abs(total)

    return sorted(candidates, key=lambda i: -key(i))


def random_word_ranking(input_ids: torch.Tensor, length: int, candidates: Sequence[int], seed: int,
                        order: int) -> list[int]:
    """The `order`-th seeded random permutation of the candidate words (as `eraser.random_order`)."""
    permutation = random_order(input_ids[:length], len(candidates), seed, order)
    return [candidates[j] for j in permutation.tolist()]


def _chunk(batch_size: int, searches: int) -> int:
    """Consecutive k each active search tries in one round: enough for the round to fill a pass of
    `batch_size` rows between them, and no more, so a search that flips early wastes few rows."""
    return max(1, -(-batch_size // max(searches, 1)))


@dataclass
class _Search:
    text: int
    ranking: list[int]  # word indices, first removed first
    reach: int  # the class to reach, or ANY_OTHER
    cap: int
    next_k: int = 1
    found: int | None = None
    after: list[float] | None = None
    predicted_after: int | None = None


def flip_counts(model: LoadedModel, inputs: EncodedTexts, words: Sequence[Sequence[Word]],
                rankings: Sequence[Sequence[int]], texts: Sequence[int], reach: Sequence[int],
                settings: FlipSettings, rows: RemovedRows | None = None) -> list[Flip]:
    """One `Flip` per (text, ranking) pair: `texts[j]` is the text row of `rankings[j]`; `reach[j]`
    the class the verdict must become (ANY_OTHER: any class but the unperturbed verdict).

    words: per text row, `SampleResult.words`; rankings: word indices, most important first (only
    removable words). Probabilities are the model's softmax; every row goes through `rows` (the
    model's `RemovedRows` of these inputs, shared with the other measures; None: rows of its own).
    """
    if settings.cap < 1:
        raise ReportgenError(f"the flip test needs a cap of at least one word (got {settings.cap})")
    if not len(rankings) == len(texts) == len(reach):
        raise ReportgenError("flip test: one text and one class to reach per ranking")
    if rows is None:
        rows = RemovedRows(model, inputs, batch_size=settings.batch_size, precision=settings.precision)
    real = inputs.attention_mask.bool()
    original_logits = rows.unperturbed(on_progress=settings.on_progress)
    before = model.verdicts(original_logits)
    before_p, before_class = before.probabilities.cpu(), before.predicted.cpu()
    # token_rank[j][pos]: rank of the word holding pos in ranking j (a large number if it is not ranked)
    seq = inputs.input_ids.shape[1]
    searches, token_rank = [], torch.full((len(rankings), seq), seq + 1, dtype=torch.long)
    for j, (text, ranking, goal) in enumerate(zip(texts, rankings, reach)):
        for rank, w in enumerate(ranking):
            token_rank[j, words[text][w].first_token:words[text][w].last_token] = rank
        searches.append(_Search(text, list(ranking), goal, min(len(ranking), settings.cap)))
    active = [s for s in searches if s.cap > 0]
    while active:
        chunk = _chunk(settings.batch_size, len(active))
        rows_now = [(j, k) for j, s in enumerate(searches) if s in active
                    for k in range(s.next_k, min(s.next_k + chunk, s.cap + 1))]
        owner = torch.tensor([j for j, _ in rows_now])
        ks = torch.tensor([k for _, k in rows_now])
        text_of = torch.tensor([searches[j].text for j, _ in rows_now])
        kept = real[text_of] & ~(token_rank[owner] < ks.unsqueeze(1))
        logits = rows.logits(text_of, kept, on_progress=settings.on_progress)
        verdicts = model.verdicts(logits)
        probabilities, predicted = verdicts.probabilities.cpu(), verdicts.predicted.cpu()
        for row, (j, k) in enumerate(rows_now):
            s = searches[j]
            if s.found is not None:
                continue  # a smaller k of this chunk already flipped
            now = int(predicted[row])
            flipped = now != int(before_class[s.text]) if s.reach == ANY_OTHER else now == s.reach
            if flipped or k == s.cap:
                s.after, s.predicted_after = probabilities[row].tolist(), now
                s.found = k if flipped else None
            s.next_k = max(s.next_k, k + 1)
        active = [s for s in active if s.found is None and s.next_k <= s.cap]
    flips = []
    for s in searches:
        removed = s.ranking[: s.found if s.found is not None else s.cap]
        after = s.after if s.after is not None else before_p[s.text].tolist()
        flips.append(Flip(k=s.found, searched=s.cap, words=removed, texts=[words[s.text][w].text for w in removed],
                          probabilities_before=before_p[s.text].tolist(), probabilities_after=after,
                          predicted_after=s.predicted_after if s.predicted_after is not None
                          else int(before_class[s.text])))
    return flips
