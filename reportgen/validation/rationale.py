"""A report's human rationale and plausibility checked: spans inside the sample's text, sorted and disjoint; the
share cut off, AUPRC, its random reference and F1 in [0, 1]; counts of marked tokens and words within the
sample's. (`check_report_data` calls these; the types were checked before.)"""

from __future__ import annotations

from typing import Any

from reportgen.validation.place import ROUNDING, Place

SHARES = ("auprc", "auprc_random", "token_f1", "word_auprc", "word_auprc_random", "word_f1")


def check_rationale(place: Place, sample: dict[str, Any]) -> None:
    """The sample's `rationale` (sorted, disjoint [start, end) spans of its text) and `rationale_cut`."""
    spans, cut = sample.get("rationale"), sample.get("rationale_cut")
    if spans is None:
        if cut is not None:
            raise place.fail("rationale_cut", f"is {cut}, but the sample has no rationale")
        return
    if sample.get("text_pair") is not None:
        raise place.fail("rationale", "is set, but a sentence pair's rationales are not read")
    end_before = 0
    for position, span in enumerate(spans):
        field = f"rationale[{position}]"
        if len(span) != 2:
            raise place.fail(field, f"is {span}, not a [start, end] character span")
        start, end = span
        if not end_before <= start < end <= len(sample["text"]):
            raise place.fail(field, f"is {span}: spans lie inside the text ({len(sample['text'])} characters), "
                                    "sorted and apart, with start < end")
        end_before = end + 1
    place.number(cut, "rationale_cut", optional=not spans, low=0, high=1, slack=ROUNDING)
    if not spans and cut is not None:
        raise place.fail("rationale_cut", f"is {cut}, but the rationale is empty")


def check_plausibility(place: Place, plausibility: dict[str, Any] | None, field: str,
                       sample: dict[str, Any]) -> None:
    """One method's `plausibility`: only beside a rationale that marks something; shares in [0, 1]; marked
    counts of at least 1 and at most the sample's tokens and words."""
    if plausibility is None:
        return
    if not sample.get("rationale"):
        raise place.fail(field, "is set, but the sample has no rationale (or an empty one) to measure it against")
    for key in SHARES:
        place.number(plausibility[key], f"{field}.{key}", low=0, high=1, slack=ROUNDING)
    place.integer(plausibility["tokens_marked"], f"{field}.tokens_marked", len(sample["tokens"]) + 1, least=1,
                  what=f" (the sample has {len(sample['tokens'])} tokens)")
    place.integer(plausibility["words_marked"], f"{field}.words_marked", len(sample.get("words", [])) + 1, least=1,
                  what=" (at most the sample's words)")
