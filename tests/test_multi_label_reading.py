"""A multi-label sample reads right: the sentence names the probability of the label it explains, says whether
that is a prediction, and lists the words that push toward that label; a column that explains a label its model
does not predict says so; the lede does not send the reader to a header that names no class."""

from __future__ import annotations

from reportgen.rendering.html import render_html
from reportgen.rendering.markdown_report import render_markdown
from reportgen.rendering.reading import describe
from reportgen.results import Report
from tests.test_rendering import parse_html, report, sample

LABELS = ["toxic", "insult", "threat", "obscene"]
TOKENS = ["[CLS]", "you", "are", "a", "stupid", "idiot", "[SEP]"]
TOWARD_TOXIC = [0.0, 0.5, -0.4, 0.3, -0.2, 0.1, 0.0]  # toward toxic: you, a, idiot; against it: are, stupid
PROBABILITIES = {"base": [0.4987, 0.5076, 0.5022, 0.4986], "finetuned": [0.4999, 0.5022, 0.4986, 0.5011]}
CHOSEN = {"base": [1, 2], "finetuned": [1, 3]}  # neither predicts toxic


def toxic_report(method: str = "integrated-gradients") -> Report:
    """One sample of a multi-label report explaining toxic, a label neither model predicts (each just under 0.5:
    0.4987 would print as the threshold with two decimals)."""
    made = sample(TOKENS, "you are a stupid idiot", scores={"base": TOWARD_TOXIC, "finetuned": TOWARD_TOXIC},
                  label=[0, 1], methods=(method,))
    for role, model in made.models.items():
        model.probabilities, model.chosen, model.target = PROBABILITIES[role], CHOSEN[role], 0
        model.predicted = max(range(len(LABELS)), key=PROBABILITIES[role].__getitem__)
    made.difference.target = 0
    built = report([made], (method,))
    built.meta.class_names, built.meta.multi_label, built.meta.target = LABELS, True, "label"
    return built


def test_the_sentence_gives_the_explained_labels_probability_and_the_words_toward_it():
    built = toxic_report()
    sentence = describe(built.samples[0], LABELS, "integrated-gradients")
    assert sentence == ("Base gives toxic 0.499 (not predicted, threshold 0.5), its words toward toxic led by *you*, "
                        "*a*, *idiot*; fine-tuned gives toxic 0.4999 (not predicted, threshold 0.5), its words toward "
                        "toxic led by *you*, *a*, *idiot*.")
    assert "predicted no toxic" not in sentence and "(0.50)" not in sentence
    assert sentence in render_markdown(built)  # the notes say the same


def test_a_predicted_label_reads_as_predicted_with_its_own_probability():
    built = toxic_report()
    for model in built.samples[0].models.values():
        model.target = 1  # insult: both predict it
    sentence = describe(built.samples[0], LABELS, "integrated-gradients")
    assert sentence.startswith("Base gives insult 0.51 (predicted, threshold 0.5), its words toward insult led by ")
    assert "fine-tuned gives insult 0.502 (predicted, threshold 0.5)" in sentence


def test_an_unsigned_method_names_the_words_that_weigh_most_for_the_label():
    sentence = describe(toxic_report("gradient").samples[0], LABELS, "gradient")
    assert sentence.startswith("Base gives toxic 0.499 (not predicted, threshold 0.5), with most weight for toxic on "
                               "*you*, *are*, *a*")


def test_a_column_explaining_a_label_its_model_does_not_predict_says_what_it_predicts():
    html = render_html(toxic_report())
    section = parse_html(html).find_all("section", "sample")[0]
    base, finetuned = [c for c in section.find_all("article", "column") if "difference" not in c.classes]
    assert "Its shading explains toxic, a label it does not predict (0.499, threshold 0.5); it predicts insult, " \
           "threat." in base.text()
    assert "it predicts insult, obscene." in finetuned.text()
    assert "not its own prediction" not in html
    assert "insult (0.51), threat (0.502)" in base.text()  # never "threat (0.50)" for a label above 0.5


def test_the_lede_sends_the_reader_to_each_samples_heading():
    html = render_html(toxic_report())
    lede = parse_html(html).find_all("p", "lede")[0].text()
    assert "the class the header names" not in lede
    assert "Both columns explain the label that each sample's heading names" in lede
    assert "Sample 1: row 0, explaining toxic" in html
