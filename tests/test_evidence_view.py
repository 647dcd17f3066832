"""The flip test and the normalised AOPC in the report: sentence, summary columns, the closing
section's most faithful method by normalised values, Markdown, JSON round trip and schema-3 files."""

from __future__ import annotations

import json
import math
import re

import pytest

from reportgen.errors import ReportgenError
from reportgen.rendering.html import render_html
from reportgen.rendering.markdown_report import render_markdown
from reportgen.rendering.reading import describe
from reportgen.results import SCHEMA_VERSION, AopcBounds, Flip, RandomFlips, Report, Score
from tests.test_rendering import long_tokens, parse_html, report, sample

METHODS = ("integrated-gradients", "gradient-x-input")


# Each measure's bounds (the same for both models) and each method's raw AOPC: comprehensiveness spans
# widely, sufficiency narrowly, so a small raw difference in sufficiency weighs more once normalised.
COMPREHENSIVENESS = ((0.0, 0.8), {METHODS[0]: 0.40, METHODS[1]: 0.32})
SUFFICIENCY = ((0.05, 0.15), {METHODS[0]: 0.14, METHODS[1]: 0.07})


def set_score(score: Score, value: float, bounds: tuple[float, float], random_normalised: float) -> None:
    """A score as a run computes it: the mean of its by_k, NAOPC (value − lower) / (upper − lower)."""
    lower, upper = bounds
    score.value, score.random = value, lower + random_normalised * (upper - lower)
    score.by_k, score.random_by_k = [score.value] * len(score.by_k), [score.random] * len(score.random_by_k)
    score.normalised, score.random_normalised = ((v - lower) / (upper - lower) for v in (score.value, score.random))


def with_evidence() -> Report:
    """Two methods whose raw margins favour integrated gradients (comprehensiveness − sufficiency .26 against
    .25) and whose normalised ones favour gradient × input (+0.20 against −0.40); base flips after two words,
    fine-tuned does not within 9."""
    built = report([sample(long_tokens(12, 0), methods=METHODS, faithful=True)], METHODS, faithful=True)
    one = built.samples[0]
    names = [w.text for w in one.words]
    for role, model in one.models.items():
        for method, result in model.methods.items():
            scores = result.faithfulness.scores
            set_score(scores["comprehensiveness"], COMPREHENSIVENESS[1][method], COMPREHENSIVENESS[0], 0.2)
            set_score(scores["sufficiency"], SUFFICIENCY[1][method], SUFFICIENCY[0], 0.6)
            result.flip = (Flip(2, 9, [1, 2], names[1:3], [0.2, 0.8], [0.7, 0.3], 0) if role == "base"
                           else Flip(None, 9, list(range(1, 10)), names[1:10], [0.8, 0.2], [0.6, 0.4], 0))
        model.random_flips = RandomFlips([7, None, 4], 9)
        model.aopc_bounds = {"comprehensiveness": AopcBounds(*COMPREHENSIVENESS[0], False, 230),
                             "sufficiency": AopcBounds(*SUFFICIENCY[0], False, 230)}
    one.agreement_flips = {"base": Flip(1, 9, [3], [names[3]], [0.2, 0.8], [0.45, 0.55], 1)}
    return built


def test_the_sentence_names_the_flip_words_beside_the_random_orders():
    built = with_evidence()
    words = [w.text for w in built.samples[0].words]
    sentence = describe(built.samples[0], built.meta.class_names, METHODS[0])
    assert f"Removing *{words[1]}* and *{words[2]}* flips base to negative (2 words; random orders: 7)." in sentence
    assert "Fine-tuned: no flip within 9 words; random orders: 7." in sentence
    assert f"Removing *{words[3]}*, by fine-tuned's ranking, makes base agree with fine-tuned (1 word)." in sentence
    html = parse_html(render_html(built))
    shown = html.find_all("p", "sentence")[0]
    assert [em.text() for em in shown.find_all("em")][-3:] == words[1:4]


def test_a_long_flip_is_counted_once_and_names_its_first_words():
    from reportgen.rendering.sentences import agreement_parts, flip_parts, to_markdown

    words = [f"w{i}" for i in range(15)]
    flip = to_markdown(flip_parts("Fine-tuned", words, 15, 64, "positive", 35, 64))
    assert flip == (" Removing 15 words, led by *w0*, *w1*, *w2*, *w3*, *w4*, flips fine-tuned to positive "
                    "(random orders: 35).")
    agree = to_markdown(agreement_parts("Base", "Fine-tuned", words[:7], 7, 64))
    assert agree == (" Removing 7 words by fine-tuned's ranking, led by *w0*, *w1*, *w2*, *w3*, *w4*, makes base agree "
                     "with fine-tuned.")
    assert to_markdown(flip_parts("Base", words[:3], 3, 64, "negative", None, 64)) == (
        " Removing *w0*, *w1* and *w2* flips base to negative (3 words; random orders: no flip within 64).")


def test_a_word_that_ranks_twice_is_named_once_with_its_count():
    from reportgen.rendering.sentences import flip_parts, sentence_parts, to_markdown

    flip = to_markdown(flip_parts("Base", ["yourself", "for", "is", "yourself", "most"], 5, 64, "negative", 46, 64))
    assert flip == (" Removing *yourself* (twice), *for*, *is* and *most* flips base to negative "
                    "(5 words; random orders: 46).")
    lead = to_markdown(sentence_parts({"base": "Base"}, {"base": "negative"}, {"base": 0.9},
                                      {"base": ["zombies", "zombies", "zombies", "dull"]}))
    assert lead == "Base predicted negative (0.90), led by *zombies* (3 times), *dull*."


def test_summary_columns_per_model_show_flips_and_normalised_values_with_raw_on_hover():
    built = with_evidence()
    document = parse_html(render_html(built))
    table = document.find_all("table", "summary")[0]
    header = [th.text() for th in table.find_all("th")]
    # the columns name the method they show (the first)
    assert {"Base: integrated gradients flips after", "Fine-tuned: integrated gradients flips after"} <= set(header)
    assert "Base: integrated gradients comprehensiveness (normalised)" in header
    cells = table.find_all("tbody")[0].find_all("td")
    texts = [td.text() for td in cells]
    assert "2 words (random 7)" in texts and "no flip within 9 (random 7)" in texts
    normalised = next(td for td in cells if td.text() == "0.50 (random 0.20)")
    assert normalised.attrs["title"].startswith("NAOPC 0.50 (normalised), raw AOPC 0.400; random orders: NAOPC 0.20 "
                                                "(normalised), raw AOPC ")
    markdown = render_markdown(built)
    assert "Base: integrated gradients flips after" in markdown
    assert "2 words (random 7)" in markdown and "0.50 (random 0.20)" in markdown


def test_the_most_faithful_method_is_chosen_by_normalised_values():
    document = parse_html(render_html(with_evidence()))
    closing = document.find_all("section", "closing")[0].text()
    assert "Gradient × input was the most faithful method" in closing  # raw margins would pick IG (.26 vs .25)
    assert "mean normalised comprehensiveness − sufficiency +0.20" in closing
    assert "NAOPC" in closing


def test_json_keeps_flips_bounds_and_both_values_and_schema_3_files_read_without_them():
    built = with_evidence()
    data = json.loads(built.to_json())
    assert data["meta"]["schema_version"] == SCHEMA_VERSION == 10
    base = data["samples"][0]["models"]["base"]
    assert base["methods"][METHODS[0]]["flip"]["k"] == 2
    assert base["methods"][METHODS[0]]["faithfulness"]["scores"]["comprehensiveness"]["value"] == 0.4
    assert base["aopc_bounds"]["sufficiency"]["upper"] == SUFFICIENCY[0][1]
    assert base["random_flips"]["ks"] == [7, None, 4]
    assert Report.from_json(built.to_json()) == built
    old = json.loads(built.to_json())
    old["meta"]["schema_version"] = 3
    for one in old["samples"]:
        del one["agreement_flips"]
        for model in one["models"].values():
            del model["random_flips"], model["aopc_bounds"]
            for result in model["methods"].values():
                del result["flip"]
                for score in result["faithfulness"]["scores"].values():
                    del score["normalised"], score["random_normalised"]
    read = Report.from_dict(old)
    assert read.meta.schema_version == SCHEMA_VERSION and read.samples[0].agreement_flips == {}
    assert read.samples[0].models["base"].methods[METHODS[0]].flip is None
    document = parse_html(render_html(read))
    assert not any("flips after" in th.text() for th in document.find_all("th"))
    assert "0.400 (random" in document.text() and "raw values" in document.text()


@pytest.mark.parametrize("change,message", [
    (lambda d: d["samples"][0]["models"]["base"]["methods"][METHODS[0]]["faithfulness"]["scores"]
     ["comprehensiveness"].__setitem__("normalised", math.nan), "scores.comprehensiveness.normalised is NaN"),
    (lambda d: d["samples"][0]["models"]["base"]["methods"][METHODS[0]]["flip"]["words"].__setitem__(0, 99),
     f"models.base.methods.{METHODS[0]}.flip.words[0] is 99"),
    (lambda d: d["samples"][0]["models"]["base"]["methods"][METHODS[0]]["flip"].__setitem__("predicted_after", 5),
     "flip.predicted_after is 5"),
    (lambda d: d["samples"][0]["agreement_flips"]["base"]["texts"].pop(), "agreement_flips.base.texts has 0 entries"),
    (lambda d: d["samples"][0]["models"]["finetuned"]["aopc_bounds"]["sufficiency"].__setitem__("upper", math.inf),
     "models.finetuned.aopc_bounds.sufficiency.upper is +inf"),
    (lambda d: d["samples"][0]["models"]["base"]["random_flips"]["ks"].__setitem__(1, -1),
     "models.base.random_flips.ks[1] is -1"),
])
def test_hand_edited_flip_and_naopc_fields_are_refused_in_one_line(change, message):
    data = json.loads(with_evidence().to_json())
    change(data)
    with pytest.raises(ReportgenError, match=re.escape(message)):
        Report.from_dict(data)


def test_a_model_without_normalised_values_shows_none_beside_the_other_models_normalised_ones():
    """Every ordering of the text scores alike for the fine-tuned model (no NAOPC) while the base has
    NAOPC: its cells say n/a (raw AOPC in the hover), never a raw AOPC in a normalised column."""
    built = with_evidence()
    for result in built.samples[0].models["finetuned"].methods.values():
        for score in result.faithfulness.scores.values():
            score.normalised = score.random_normalised = None
    document = parse_html(render_html(built))
    cells = document.find_all("table", "summary")[0].find_all("tbody")[0].find_all("td")
    shown = [td.text() for td in cells]
    assert "0.50 (random 0.20)" in shown and "n/a" in shown and not any("0.400" in text for text in shown)
    missing = next(td for td in cells if td.text() == "n/a")
    assert "every ordering of the words scores alike" in missing.attrs["title"] and "raw AOPC 0.400" in \
        missing.attrs["title"]
    for table in document.find_all("table", "metrics"):  # both models' columns: normalised or n/a, never raw
        header = [th.text() for th in table.find_all("th")]
        assert "comprehensiveness (normalised) ↑" in header, header
        numbers = [td.text() for td in table.find_all("td", "num")]
        assert all(text == "n/a" or re.fullmatch(r"\d\.\d\d", text) for text in numbers), numbers
    assert "| n/a |" in render_markdown(built)
    assert "n/a: every ordering of that text's words scores alike for that model" in document.text()


def saturated() -> Report:
    """A saturated softmax: every method's comprehensiveness, sufficiency and random reference are 0.000."""
    built = report([sample(long_tokens(12, s), methods=METHODS, seed=s, index=s, faithful=True) for s in range(2)],
                   METHODS, faithful=True)
    for one in built.samples:
        for model in one.models.values():
            for result in model.methods.values():
                for score in result.faithfulness.scores.values():
                    score.value = score.random = 0.0
                    score.by_k, score.random_by_k = [0.0] * len(score.by_k), [0.0] * len(score.random_by_k)
    return built


def test_a_tie_names_no_most_faithful_method():
    document = parse_html(render_html(saturated()))
    verdicts = {caption.text() for caption in document.find_all("caption")}
    assert "Faithfulness: no better than random" in verdicts
    closing = document.find_all("section", "closing")[0]
    assert "most faithful method on these samples" not in closing.text() and "★" not in closing.text()
    assert not any("best" in tr.classes for tr in closing.find_all("tr"))
    for role in ("Base", "Fine-tuned"):
        assert (f"{role}: no method was more faithful than random orders on these samples (the best mean "
                "comprehensiveness − sufficiency, +0.000, is not above the random orders' +0.000 by more than "
                "0.001), so none is named the most faithful.") in closing.text()


def near_half() -> Report:
    """A tiny model near p = 0.5 (seen on a new user's page): every raw AOPC within MARGIN of the random
    orders', while the normalised values, which the page shows, are far apart; the base model's text
    has no normalised values at all (every ordering scores alike)."""
    built = with_evidence()
    for role, model in built.samples[0].models.items():
        for result in model.methods.values():
            comprehensiveness, sufficiency = (result.faithfulness.scores[n] for n in ("comprehensiveness",
                                                                                      "sufficiency"))
            comprehensiveness.value, comprehensiveness.random = 0.0104, 0.0098
            sufficiency.value, sufficiency.random = 0.0011, 0.0016
            shown = (None,) * 4 if role == "base" else (0.83, 0.49, 0.08, 0.58)
            (comprehensiveness.normalised, comprehensiveness.random_normalised, sufficiency.normalised,
             sufficiency.random_normalised) = shown
    return built


def test_each_columns_verdict_is_judged_on_the_numbers_it_shows():
    """0.83 against random 0.49 and 0.08 against 0.58 beat random on both, whatever the raw AOPC (within
    MARGIN of random here); a column of n/a says its verdict is undefined, never "no better than random"."""
    document = parse_html(render_html(near_half()))
    for block in document.find_all("details", "method"):
        captions = [c.text() for c in block.find_all("caption") if c.text().startswith("Faithfulness:")]
        assert captions == ["Faithfulness: undefined (every ordering scores alike)",
                            "Faithfulness: beats random on both"], captions
        heading = block.find_all("h3")[0].text()
        assert heading.endswith("faithfulness: base undefined (every ordering scores alike); fine-tuned beats "
                                "random on both"), heading
        assert "no better than random" not in block.text()


def test_a_report_whose_texts_all_have_undefined_normalised_values_says_n_a_not_raw():
    """NAOPC computed (each model keeps its bounds) but undefined on every text, as with `--text good`:
    every cell says n/a with the note that explains it, never raw values as if --no-naopc was given."""
    built = with_evidence()
    for model in built.samples[0].models.values():
        for result in model.methods.values():
            for score in result.faithfulness.scores.values():
                score.normalised = score.random_normalised = None
    document = parse_html(render_html(built))
    text = document.text()
    assert "raw values (this report has no normalised ones)" not in text
    assert "n/a: every ordering of that text's words scores alike for that model" in text
    header = [th.text() for th in document.find_all("table", "summary")[0].find_all("th")]
    assert "Base: integrated gradients comprehensiveness (normalised)" in header, header
    for table in document.find_all("table", "metrics"):
        assert {td.text() for td in table.find_all("td", "num")} == {"n/a"}
    closing = document.find_all("section", "closing")[0]
    assert {td.text() for td in closing.find_all("td") if td.text()[:1].isdigit() or td.text() == "n/a"} == {"n/a"}
    assert "comprehensiveness (normalised) ↑" in [th.text() for th in document.find_all("th")]
    assert "| n/a |" in render_markdown(built)
    read = Report.from_json(built.to_json())  # `reportgen render` of its JSON: the same page
    assert render_html(read) == render_html(built)
