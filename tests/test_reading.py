"""The one-sentence verdict: lead words are real words of the text, strongest first, each named once."""

from __future__ import annotations

from reportgen.rendering.reading import describe, lead_words
from reportgen.results import MethodResult, ModelAttribution, SampleResult, Word


def make_sample(scores: list[float], method: str = "integrated-gradients") -> SampleResult:
    text = "Great , great film [x]"
    words = [Word("[CLS]", None, None, 0, 1), Word("Great", 0, 5, 1, 2), Word(",", 6, 7, 2, 3),
             Word("great", 8, 13, 3, 4), Word("film", 14, 18, 4, 6), Word("[x]", 19, 22, 6, 7),
             Word("[SEP]", None, None, 7, 8)]
    tokens = ["[CLS]", "great", ",", "great", "fi", "##lm", "[", "[SEP]"]
    model = ModelAttribution([0.1, 0.9], 1, 1, {method: MethodResult(scores, 0.0)})
    return SampleResult(0, 1, text, tokens, False, {"base": model, "finetuned": model}, words)


def test_lead_words_skip_specials_punctuation_and_repeats():
    sample = make_sample([9.0, 1.0, 5.0, 3.0, 0.25, 0.5, 0.125, 8.0])
    # [CLS]/[SEP] and "," score highest but are no words; "great" twice counts once; film = 0.25 + 0.5
    # word scores: Great 1, great 3, film 0.25 + 0.5, [x] 0.125 (a real word of the text, not a special token)
    assert lead_words(sample, "base", "integrated-gradients") == ["great", "film", "[x]"]


def test_only_words_that_push_towards_the_target_lead():
    scores = [0.0, -1.0, 0.0, -2.0, 0.5, 0.0, -0.5, 0.0]
    assert lead_words(make_sample(scores), "base", "integrated-gradients") == ["film"]
    unsigned = make_sample(scores, method="gradient")  # unsigned: by magnitude
    assert lead_words(unsigned, "base", "gradient") == ["great", "film", "[x]"]


def test_sentence_names_both_models():
    sample = make_sample([0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert describe(sample, ["negative", "positive"], "integrated-gradients") == (
        "Base predicted positive (0.90), led by *Great*; fine-tuned predicted positive (0.90), led by *Great*.")
