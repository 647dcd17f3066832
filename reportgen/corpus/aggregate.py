"""Per-word statistics over a corpus: what each model relies on, and what fine-tuning changed.

Every score is first made a share of its model's influence on that row (score / Σ|score| over
the row's tokens, `reportgen.comparison.normalise`), so a fine-tuned model with larger logits
cannot dominate and rows of any length count alike. For each word type (lower-cased) this gives
each model's mean share per occurrence toward the row's common class, and the difference
fine-tuned − base, over the rows that contain the word.

Intervals come from a Poisson bootstrap over rows (Hanley & MacGibbon 2006; Chamandy et al. 2012):
replicate b gives row r the weight w_rb ~ Poisson(1), drawn from a generator seeded by (seed, row
index). That is the streaming form of resampling rows with replacement: memory holds one number
per word and replicate, never the rows, and a row's weights do not depend on which rank computed
it or in which order rows arrive, so a sharded run gives exactly a single process's intervals.
Rows, not occurrences, are resampled, since the occurrences within one review are not independent.

The rows are read three times from the store (counts and means, the bootstrap, the examples);
the bootstrap takes more passes when its accumulators would not fit in MEMORY_BUDGET.
"""

from __future__ import annotations

import heapq
import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from reportgen.corpus.statistics import (
    CONFIDENCE,
    GROUPS,
    AggregateOptions,
    Aggregates,
    Estimate,
    Example,
    GroupStats,
    SnippetWord,
    WordStats,
)
from reportgen.errors import ReportgenError
from reportgen.scan.selection import Outcomes
from reportgen.words import is_word

MEMORY_BUDGET = 512 * 2 ** 20  # bytes of bootstrap accumulators per pass over the rows
SNIPPET_WORDS = 8  # words shown on each side of an example's word

StoredRows = Callable[[list[str] | None], Iterator[list[dict[str, Any]]]]
"""A fresh pass over the stored rows, a batch at a time, with the given columns (None: all); the
aggregation reads them several times (`CorpusStore.read`)."""
SCORE_COLUMNS = ["index", "label", "base_pred", "finetuned_pred", "words", "base_scores", "finetuned_scores",
                 "base_total", "finetuned_total"]
"""What the counts and the bootstrap read; the examples read every column."""



def outcome_group(row: dict[str, Any]) -> str | None:
    """Which cell of the 2×2 table a row falls in; None without a label."""
    label = row["label"]
    if label is None:
        return None
    right = (row["base_pred"] == label, row["finetuned_pred"] == label)
    return {(False, True): "base-wrong", (True, False): "finetuned-wrong", (True, True): "both-right",
            (False, False): "both-wrong"}[right]


def shares(scores: list[float], total: float) -> np.ndarray:
    """Word scores as shares of the model's Σ|score| over the row's tokens (zeros stay zeros)."""
    values = np.asarray(scores, dtype=np.float64)
    return values / total if total > 0 and math.isfinite(total) else np.zeros_like(values)


class Vocabulary:
    """Word types ↔ integer ids, so per-word sums live in arrays."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.words: list[str] = []

    def id(self, word: str, grow: bool) -> int:
        found = self.ids.get(word)
        if found is None and grow:
            found = self.ids[word] = len(self.words)
            self.words.append(word)
        return -1 if found is None else found

    def __len__(self) -> int:
        return len(self.words)


@dataclass
class RowWords:
    """One row's word types with their summed shares and occurrences, and where each type occurs."""

    ids: np.ndarray
    base: np.ndarray
    finetuned: np.ndarray
    count: np.ndarray
    positions: dict[int, list[int]]
    base_shares: np.ndarray  # per word of the row
    finetuned_shares: np.ndarray


def row_words(row: dict[str, Any], vocabulary: Vocabulary, keep_punctuation: bool, grow: bool) -> RowWords:
    base, finetuned = shares(row["base_scores"], row["base_total"]), shares(row["finetuned_scores"],
                                                                          row["finetuned_total"])
    positions: dict[int, list[int]] = {}
    for position, word in enumerate(row["words"]):
        if keep_punctuation or is_word(word):
            type_id = vocabulary.id(word.lower(), grow)
            if type_id >= 0:
                positions.setdefault(type_id, []).append(position)
    ids = np.fromiter(positions, dtype=np.int64, count=len(positions))
    where = list(positions.values())
    return RowWords(ids, np.array([base[p].sum() for p in where]), np.array([finetuned[p].sum() for p in where]),
                    np.array([len(p) for p in where], dtype=np.float64), positions, base, finetuned)


class _Sums:
    """Per word type: rows, occurrences and summed shares, in arrays that grow with the vocabulary."""

    def __init__(self) -> None:
        self.rows = np.zeros(1024, dtype=np.int64)
        self.count = np.zeros(1024)
        self.base = np.zeros(1024)
        self.finetuned = np.zeros(1024)

    def add(self, words: RowWords, size: int) -> None:
        if size > len(self.rows):
            grown = max(size, 2 * len(self.rows))
            for name in ("rows", "count", "base", "finetuned"):
                old = getattr(self, name)
                setattr(self, name, np.concatenate([old, np.zeros(grown - len(old), dtype=old.dtype)]))
        self.rows[words.ids] += 1
        self.count[words.ids] += words.count
        self.base[words.ids] += words.base
        self.finetuned[words.ids] += words.finetuned


def _selected(rows: StoredRows, selected: np.ndarray, columns: list[str] | None = SCORE_COLUMNS
              ) -> Iterator[dict[str, Any]]:
    for batch in rows(columns):
        for row in batch:
            if row["index"] < len(selected) and selected[row["index"]]:
                yield row


def _groups_of(row: dict[str, Any]) -> tuple[str, ...]:
    group = outcome_group(row)
    return ("all",) if group is None else ("all", group)


def _count(rows: StoredRows, selected: np.ndarray, options: AggregateOptions
           ) -> tuple[Vocabulary, dict[str, _Sums], dict[str, int], Outcomes | None]:
    """First pass: per group, rows, occurrences and summed shares of every word type; the 2×2 table."""
    vocabulary = Vocabulary()
    sums = {name: _Sums() for name in GROUPS}
    group_rows = dict.fromkeys(GROUPS, 0)
    disagree = labelled = 0
    for row in _selected(rows, selected):
        words = row_words(row, vocabulary, options.keep_punctuation, grow=True)
        for name in _groups_of(row):
            sums[name].add(words, len(vocabulary))
            group_rows[name] += 1
        labelled += row["label"] is not None
        disagree += row["base_pred"] != row["finetuned_pred"]
    outcomes = None
    if labelled:
        outcomes = Outcomes(rows=group_rows["all"], labelled=labelled, both_right=group_rows["both-right"],
                            both_wrong=group_rows["both-wrong"], base_wrong_finetuned_right=group_rows["base-wrong"],
                            base_right_finetuned_wrong=group_rows["finetuned-wrong"], disagree=disagree)
    return vocabulary, sums, group_rows, outcomes


def replicate_weights(seed: int, index: int, replicates: int) -> np.ndarray:
    """Row `index`'s Poisson(1) weight in every bootstrap replicate: the same wherever the row was computed."""
    return np.random.default_rng([seed, index]).poisson(1.0, replicates).astype(np.float64)


def _passes(columns: dict[str, np.ndarray], replicates: int) -> list[dict[str, np.ndarray]]:
    """Split the (group, word) columns into passes whose accumulators (3 × replicates floats each) fit the budget."""
    per_pass = max(1, MEMORY_BUDGET // (3 * 8 * replicates))
    passes: list[dict[str, np.ndarray]] = [{}]
    room = per_pass
    for name, ids in columns.items():
        start = 0
        while start < len(ids):
            if room == 0:
                passes.append({})
                room = per_pass
            take = ids[start:start + room]
            passes[-1][name] = np.concatenate([passes[-1].get(name, np.empty(0, np.int64)), take])
            start += len(take)
            room -= len(take)
    return passes


def _bootstrap(rows: StoredRows, selected: np.ndarray, vocabulary: Vocabulary, columns: dict[str, np.ndarray],
               options: AggregateOptions) -> dict[str, dict[int, tuple[Estimate, Estimate, Estimate]]]:
    """Second pass (or more): weighted sums per replicate, then percentile intervals per word."""
    out: dict[str, dict[int, tuple[Estimate, Estimate, Estimate]]] = {name: {} for name in columns}
    replicates = options.bootstrap
    for chunk in _passes(columns, replicates):
        where = {}
        for name, ids in chunk.items():
            lookup = np.full(len(vocabulary), -1, dtype=np.int64)
            lookup[ids] = np.arange(len(ids))
            where[name] = (lookup, *(np.zeros((len(ids), replicates)) for _ in range(3)))
        for row in _selected(rows, selected):
            groups = [name for name in _groups_of(row) if name in where]
            if not groups:
                continue
            words = row_words(row, vocabulary, options.keep_punctuation, grow=False)
            weights = replicate_weights(options.seed, row["index"], replicates)
            for name in groups:
                lookup, base, finetuned, count = where[name]
                cols = lookup[words.ids]
                keep = cols >= 0
                cols = cols[keep]
                base[cols] += np.outer(words.base[keep], weights)
                finetuned[cols] += np.outer(words.finetuned[keep], weights)
                count[cols] += np.outer(words.count[keep], weights)
        for name, (_lookup, base, finetuned, count) in where.items():
            intervals = [_percentiles(part, count) for part in (base, finetuned, finetuned - base)]
            for column, type_id in enumerate(chunk[name]):
                out[name][int(type_id)] = tuple(Estimate(math.nan, float(low[column]), float(high[column]))
                                                for low, high in intervals)
    return out


def _percentiles(weighted_sum: np.ndarray, weighted_count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The central CONFIDENCE interval of each word's replicate means (replicates that drew none of its rows
    skipped)."""
    tail = 100 * (1 - CONFIDENCE) / 2
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a word no replicate drew: NaN, not a warning
        means = np.where(weighted_count > 0, weighted_sum / weighted_count, np.nan)
        low, high = np.nanpercentile(means, [tail, 100 - tail], axis=1)
    return low, high


def _ranked(words: list[WordStats], top: int) -> tuple[list[WordStats], list[WordStats]]:
    """The words fine-tuning gave more / less of the say, ordered by the interval's end nearest zero,
    so a word ranks high only when the data are sure of a large change."""
    more = sorted((w for w in words if w.difference.mean > 0), key=lambda w: (-w.difference.low, w.word))
    less = sorted((w for w in words if w.difference.mean < 0), key=lambda w: (w.difference.high, w.word))
    return more[:top], less[:top]


def _examples(rows: StoredRows, selected: np.ndarray, vocabulary: Vocabulary, directions: dict[int, float],
              options: AggregateOptions) -> dict[int, list[Example]]:
    """Third pass: per listed word, the rows where its occurrence changed most in the word's direction."""
    if options.examples == 0:
        return {}
    heaps: dict[int, list[tuple[float, int, Example]]] = {type_id: [] for type_id in directions}
    for row in _selected(rows, selected, columns=None):
        words = row_words(row, vocabulary, options.keep_punctuation, grow=False)
        for type_id, positions in words.positions.items():
            sign = directions.get(type_id)
            if sign is None:
                continue
            change = sign * (words.finetuned_shares[positions] - words.base_shares[positions])
            best = positions[int(np.argmax(change))]
            key = (float(change.max()), -row["index"])
            heap = heaps[type_id]
            if len(heap) < options.examples or key > heap[0][:2]:
                item = (*key, _example(row, words, best, vocabulary.words[type_id]))
                (heapq.heapreplace if len(heap) == options.examples else heapq.heappush)(heap, item)
    return {type_id: [item[2] for item in sorted(heap, key=lambda i: i[:2], reverse=True)]
            for type_id, heap in heaps.items()}


def _example(row: dict[str, Any], words: RowWords, position: int, word: str) -> Example:
    first, last = max(0, position - SNIPPET_WORDS), min(len(row["words"]), position + SNIPPET_WORDS + 1)
    snippet = [SnippetWord(row["words"][k], "" if k > first and row["starts"][k] == row["ends"][k - 1] else " ",
                           float(words.base_shares[k]), float(words.finetuned_shares[k]), k == position)
               for k in range(first, last)]
    return Example(word=word, index=row["index"], label=row["label"], target=row["target"],
                   base_pred=row["base_pred"], base_prob=row["base_prob"], finetuned_pred=row["finetuned_pred"],
                   finetuned_prob=row["finetuned_prob"], base_share=float(words.base_shares[position]),
                   finetuned_share=float(words.finetuned_shares[position]), snippet=snippet,
                   cut_before=first > 0, cut_after=last < len(row["words"]))


def aggregate(rows: StoredRows, selected: np.ndarray, options: AggregateOptions) -> Aggregates:
    """Every statistic of the corpus report from the stored rows of the selection."""
    options.check()
    vocabulary, sums, group_rows, outcomes = _count(rows, selected, options)
    if group_rows["all"] == 0:
        raise ReportgenError("no stored row belongs to the selection, so there is nothing to aggregate")
    columns = {}
    for name, s in sums.items():
        frequent = np.flatnonzero(s.rows[:len(vocabulary)] >= options.min_count)
        if len(frequent):
            columns[name] = frequent
    intervals = _bootstrap(rows, selected, vocabulary, columns, options)
    groups = {}
    for name, title in GROUPS.items():
        if group_rows[name] == 0 and name != "all":
            continue
        s, words = sums[name], []
        for type_id, (base, finetuned, difference) in intervals.get(name, {}).items():
            n = s.count[type_id]
            means = (s.base[type_id] / n, s.finetuned[type_id] / n, (s.finetuned[type_id] - s.base[type_id]) / n)
            base.mean, finetuned.mean, difference.mean = (float(m) for m in means)
            words.append(WordStats(vocabulary.words[type_id], int(s.rows[type_id]), int(n), base, finetuned,
                                   difference))
        words.sort(key=lambda w: (-w.difference.mean, w.word))
        more, less = _ranked(words, options.top_words)
        groups[name] = GroupStats(name, title, group_rows[name], words, more, less)
    listed = {vocabulary.ids[w.word]: sign for sign, chosen in ((1.0, groups["all"].more), (-1.0, groups["all"].less))
              for w in chosen}
    examples = _examples(rows, selected, vocabulary, listed, options)
    return Aggregates(group_rows["all"], outcomes, groups,
                      {vocabulary.words[type_id]: items for type_id, items in examples.items()}, options)


def selection_flags(indices: Iterable[int], size: int) -> np.ndarray:
    """A flag per dataset row: in the selection or not (one byte a row)."""
    flags = np.zeros(size, dtype=bool)
    flags[np.fromiter(indices, dtype=np.int64)] = True
    return flags
