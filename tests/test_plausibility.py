"""Plausibility against human rationales (issue 29): ERASER's measures on hand-computed cases, rationales
(spans or evidence strings) checked and mapped onto the tokens and words a BERT WordPiece and a byte-level BPE
tokenizer make, and every malformed rationale refused in one line."""

from __future__ import annotations

import math

import pytest

from reportgen.errors import ReportgenError
from reportgen.loading.inputs import encode
from reportgen.plausibility import auprc, evidence, marks, plausibility, rationale_spans, top_k_f1
from reportgen.words import group_words
from tests.tiny_models import byte_level_tokenizer, wordpiece_tokenizer

EXACT = 4 * math.ulp(1.0)  # sums of a few terms of order 1


def close(actual: float, expected: float) -> bool:
    return abs(actual - expected) <= EXACT * max(1.0, abs(expected))


# ---- the measures, against hand-computed precision-recall points ----------------------------------------------

def test_auprc_of_a_perfect_ranking_is_one():
    # points (recall, precision): (0, 1) (1/2, 1) (1, 1) (1, 2/3) (1, 1/2)
    assert close(auprc([0.9, 0.8, 0.1, 0.05], [True, True, False, False]), 1.0)


def test_auprc_joins_the_points_with_trapezoids():
    # (0, 1) → (0, 0) after the unmarked top item → (1, 1/2) → (1, 1/3): area (1 − 0) × (0 + 1/2) / 2
    assert close(auprc([0.9, 0.8, 0.7], [False, True, False]), 0.25)
    # (0, 1) → (1/2, 1) → (1/2, 1/2) → (1, 2/3): 1/2 × 1 + 1/2 × (1/2 + 2/3) / 2
    assert close(auprc([4.0, 3.0, 2.0], [True, False, True]), 0.5 + 0.5 * (0.5 + 2 / 3) / 2)


def test_auprc_takes_tied_scores_as_one_point_whatever_their_order():
    # one threshold takes both tied items: (0, 1) → (1, 1/2): area 3/4, for either tied item marked
    assert close(auprc([1.0, 1.0, 0.0], [True, False, False]), 0.75)
    assert close(auprc([1.0, 1.0, 0.0], [False, True, False]), 0.75)


def test_auprc_of_all_zero_scores_is_the_trapezoid_from_the_marked_share():
    assert close(auprc([0.0, 0.0, 0.0, 0.0], [True, False, False, False]), (1 + 0.25) / 2)


def test_top_k_f1_takes_as_many_items_as_are_marked():
    assert close(top_k_f1([0.9, 0.1, 0.8, 0.2], [True, False, False, True]), 0.5)  # k 2: items 0 and 2, one marked
    assert close(top_k_f1([0.9, 0.1, 0.8, 0.2], [True, False, True, False]), 1.0)


def test_top_k_f1_shares_the_places_at_a_tie_and_all_zero_scores_give_the_marked_share():
    assert close(top_k_f1([1.0, 1.0, 1.0, 0.0], [True, False, False, False]), 1 / 3)  # k 1 among three tied
    assert close(top_k_f1([5.0, 1.0, 1.0, 0.0], [True, False, True, False]), 1.5 / 2)  # k 2: item 0, then half
    assert close(top_k_f1([0.0] * 5, [True, True, False, False, False]), 0.4)


def test_the_measures_need_a_marked_item():
    for measure in (auprc, top_k_f1):
        with pytest.raises(ValueError, match="nothing is marked"):
            measure([0.3, 0.1], [False, False])


def test_evidence_for_the_class_is_a_signed_methods_positive_part_and_an_unsigned_ones_magnitude():
    assert evidence([-2.0, 1.0, 0.0], signed=True).tolist() == [0.0, 1.0, 0.0]
    assert evidence([-2.0, 1.0, 0.0], signed=False).tolist() == [2.0, 1.0, 0.0]


# ---- rationales in: spans and evidence strings ---------------------------------------------------------------

TEXT = "the plot was awful but the acting was wonderful, zq!"


def test_spans_and_evidence_strings_give_the_same_sorted_merged_spans():
    start = TEXT.index("acting")
    by_spans = rationale_spans([[start, start + 20], [0, 8], [4, 12]], TEXT, "row 3")
    assert by_spans == [(0, 12), (start, start + 20)]
    assert rationale_spans(["acting was wonderful", "the plot", "plot was"], TEXT, "row 3") == [(0, 12),
                                                                                                 (start, start + 20)]
    assert rationale_spans('[[0, 8]]', TEXT, "row 3") == [(0, 8)]  # a CSV column holds the list as JSON text
    assert rationale_spans([], TEXT, "row 3") == []
    assert rationale_spans(None, TEXT, "row 3") is None


def test_a_repeated_evidence_string_marks_the_next_occurrence():
    second = TEXT.index("the", 1)
    assert rationale_spans(["the", "the"], TEXT, "row 1") == [(0, 3), (second, second + 3)]


@pytest.mark.parametrize(("value", "says"), [
    ([[0, 500]], "span [0, 500] is not inside its text of 52 characters"),
    ([[8, 4]], "span [8, 4] is not inside"),
    ([[-1, 4]], "span [-1, 4]"),
    (["a fine film"], "evidence string \"a fine film\" is not in its text"),
    (["   "], "empty evidence string"),
    ([[0, 4], "plot"], "not a mixture"),
    ([[0.5, 4]], "span [0.5, 4] is written with decimals: spans are [start, end) character offsets written as "
                 "integers"),
    ([[2.0, 11.0]], "written as integers, e.g. [2, 11]"),
    ([[0, 4, 5]], "holds [0, 4, 5]"),
    (17, "is int, not a list"),
    ("not json", "is the text \"not json\", not a list"),
])
def test_a_malformed_rationale_is_one_line_naming_the_row(value, says):
    with pytest.raises(ReportgenError) as caught:
        rationale_spans(value, TEXT, "row 7")
    message = str(caught.value)
    assert message.startswith("row 7's ") and says in message and "\n" not in message


# ---- onto the tokens and words a model sees ------------------------------------------------------------------

@pytest.fixture(scope="module", params=["wordpiece", "byte-level"])
def tokenizer(request, tmp_path_factory):
    make = wordpiece_tokenizer if request.param == "wordpiece" else byte_level_tokenizer
    return make(tmp_path_factory.mktemp(request.param))


def _marked(tokenizer, text: str, spans, max_length: int = 64):
    encoded = encode(tokenizer, [text], max_length, False, [0])
    tokens = encoded.tokens(tokenizer)[0]
    words = group_words(encoded.word_ids[0], encoded.offsets[0], text, tokens, exact=encoded.words_exact,
                        sequence_ids=encoded.sequence_ids[0])
    return tokens, words, marks(spans, encoded.offsets[0], encoded.word_ids[0], words, encoded.truncated[0])


def _spelled(pieces: list[str]) -> str:
    return "".join(piece.replace("##", "").replace("Ġ", "") for piece in pieces)


def test_marked_tokens_and_words_are_those_inside_the_spans_specials_left_out(tokenizer):
    spans = rationale_spans(["acting was wonderful"], TEXT, "row 0")
    tokens, words, found = _marked(tokenizer, TEXT, spans)
    assert found.tokens[0] is None and found.tokens[-1] is None  # [CLS]/<s> and [SEP]/</s>
    assert _spelled([t for t, m in zip(tokens, found.tokens) if m]) == "actingwaswonderful"
    assert [w.text for w, m in zip(words, found.words) if m] == ["acting", "was", "wonderful"]
    assert found.words[0] is None and found.cut == 0.0


def test_a_span_over_part_of_a_word_marks_its_token_and_the_whole_word(tokenizer):
    start = TEXT.index("zq")
    tokens, words, found = _marked(tokenizer, TEXT, [(start, start + 1)])  # "z" of "zq", split z + q by both
    assert _spelled([t for t, m in zip(tokens, found.tokens) if m]) == "z"
    assert [w.text for w, m in zip(words, found.words) if m] == ["zq"]


def test_a_truncated_text_is_marked_on_what_the_model_saw_with_the_share_cut_off(tokenizer):
    text = "the plot was awful but the acting was wonderful"
    start = text.index("acting")
    tokens, words, found = _marked(tokenizer, text, [(0, 8), (start, len(text))], max_length=5)
    assert _spelled([t for t, m in zip(tokens, found.tokens) if m]) == "theplot"
    assert close(found.cut, (len(text) - start) / (8 + len(text) - start))


def test_plausibility_scores_tokens_and_words_against_the_marks(tokenizer):
    spans = rationale_spans(["acting was wonderful"], TEXT, "row 0")
    tokens, words, found = _marked(tokenizer, TEXT, spans)
    on_marks = [1.0 if m else (-5.0 if m is False else 9.0) for m in found.tokens]  # specials are left out
    result = plausibility(on_marks, True, found, words)
    seen = [m for m in found.tokens if m is not None]
    assert close(result.auprc, 1.0) and close(result.token_f1, 1.0) and close(result.word_f1, 1.0)
    assert close(result.auprc_random, sum(seen) / len(seen)) and result.tokens_marked == sum(seen)
    assert result.words_marked == 3
    against = plausibility([-s for s in on_marks], True, found, words)  # evidence against the class is none for it
    assert close(against.token_f1, 0.0)
    assert close(plausibility([-s for s in on_marks], False, found, words).token_f1, 0.0)  # |−5| ranks first
    _, _, unmarked = _marked(tokenizer, TEXT, [])  # an empty rationale: nothing to find
    assert plausibility(on_marks, True, unmarked, words) is None and unmarked.cut is None
