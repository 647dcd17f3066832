"""Read it right: the difference view names what it measures, both columns explain one class and say
in words what a colour means, shades are shares of each model's |attribution|, the sentence reads
right when a model explains a class it did not predict, charts carry units (issue 18, items 2–4)."""

from __future__ import annotations

from reportgen.rendering.html import render_html
from reportgen.rendering.markdown_report import render_markdown
from reportgen.rendering.reading import describe
from tests.test_rendering import parse_html, report, sample

TOKENS = ["[CLS]", "Johnson", "never", "great", "[SEP]"]
BASE = [0.0, -0.43, -0.16, 0.41, 0.0]  # toward positive; Σ|score| = 1: shares −43 %, −16 %, +41 %
FINETUNED = [0.0, -0.004, -0.067, 0.029, 0.0]  # ten times smaller logits; shares −4 %, −67 %, +29 %


def common_class_report(methods: tuple[str, ...] = ("integrated-gradients",)):
    """Base predicts negative, fine-tuned positive; the label is positive and both explain positive.
    *Johnson* moves toward positive (+39 pp) though the fine-tuned model barely uses it; the fine-tuned
    model leans on *never* four times harder against positive (−16 % → −67 %: −51 pp)."""
    made = sample(TOKENS, "Johnson never great", scores={"base": BASE, "finetuned": FINETUNED}, methods=methods)
    for model in made.models.values():
        model.target = 1
    made.sentence = describe(made, ["negative", "positive"], methods[0])
    built = report([made], methods)
    built.meta.target = "common"
    return built


def rows(table) -> list[list[str]]:
    return [[cell.text().strip() for cell in row.find_all("td")] for row in table.find_all("tbody")[0].find_all("tr")]


def test_difference_view_names_the_class_and_shows_both_shares():
    html = render_html(common_class_report())
    document = parse_html(html)
    column = document.find_all("article", "difference")[0]
    toward, against = column.find_all("table", "top")
    assert toward.find_all("caption")[0].text() == "Moved toward positive"
    assert against.find_all("caption")[0].text() == "Moved toward negative"
    assert rows(toward)[0] == ["Johnson", "+39.0 pp", "−43.0 % → −4.0 %"]
    assert ["never", "−51.0 pp", "−16.0 % → −67.0 %"] in rows(against)
    assert "Teal: moved toward positive after fine-tuning; brown: moved toward negative." in column.text()
    for wrong in ("more in fine-tuned", "less in fine-tuned", "more say"):
        assert wrong not in html.lower()
    notes = render_markdown(common_class_report())
    assert "Moved toward positive: *Johnson* +39.0 pp (−43.0 % → −4.0 %)" in notes
    assert "*never* −51.0 pp (−16.0 % → −67.0 %)" in notes
    assert "It is not a change of reliance" in notes


def test_both_columns_explain_one_class_and_say_what_a_colour_means():
    document = parse_html(render_html(common_class_report()))
    section = document.find_all("section", "sample")[0]
    base, finetuned = [c for c in section.find_all("article", "column") if "difference" not in c.classes]
    for column in (base, finetuned):
        assert column.find_all("p", "colours")[0].text() == "Blue: toward positive; red: toward negative."
    assert "Its shading explains positive, not its own prediction negative." in base.text()
    assert "not its own prediction" not in finetuned.text()
    assert not section.find_all("p", "caution")  # one class: no warning that colours differ
    legend = section.find_all("figure", "legend")[0]
    assert legend.find_all("figcaption")[0].text() == "Shared scale, share of each model's |attribution|"
    assert [e.text() for e in legend.find_all("span", "end")] == ["−67.0 % toward negative", "+67.0 % toward positive"]


def test_shares_shade_a_model_with_small_scores_like_one_with_large_scores():
    """Fine-tuned scores are 10× smaller: as raw scores on one scale it looks nearly blank; as shares
    its *never* (−67 %) is the darkest red, and the hover keeps the raw score."""
    built = common_class_report()

    def shades(scale: str) -> dict[str, str]:
        section = parse_html(render_html(built, scale=scale)).find_all("section", "sample")[0]
        column = [c for c in section.find_all("article", "column") if c.attrs["aria-label"].startswith("Fine")][0]
        return {s.text(): (s.classes[1], s.attrs["title"]) for s in column.find_all("span", data_score=True)}

    share, raw = shades("share"), shades("shared")
    assert share["never"] == ("n8", "never −0.067 −67.0% @2")
    assert raw["never"][0] in ("n1", "z") and share["Johnson"][0] == "z"


def test_sentence_reads_right_when_a_model_explains_a_class_it_did_not_predict():
    sentence = common_class_report().samples[0].sentence
    assert sentence.startswith("Base predicted negative (0.80), pushed away from positive most by *Johnson*, *never*;")
    assert "fine-tuned predicted positive (0.80), led by *great*" in sentence


def test_chart_axes_have_units_and_legends_name_the_class():
    document = parse_html(render_html(common_class_report()))
    charts = [svg for svg in document.find_all("svg") if "bar-chart" in svg.classes]
    assert len(charts) == 2
    for chart in charts:
        texts = [t.text() for t in chart.find_all("text")]
        assert "share of the model's |attribution|, %" in texts
        assert "toward positive" in texts and "toward negative" in texts
    raw = [svg for svg in parse_html(render_html(common_class_report(), scale="shared")).find_all("svg")
           if "bar-chart" in svg.classes]
    assert "score (raw attribution)" in [t.text() for t in raw[0].find_all("text")]
    curve = [svg for svg in parse_html(render_html(report([sample(TOKENS, faithful=True)], faithful=True)))
             .find_all("svg") if "line-chart" in svg.classes][0]
    assert "% of tokens removed" in [t.text() for t in curve.find_all("text")]
    assert any(t.text().startswith("probability of ") for t in curve.find_all("text"))


def test_unsigned_chart_has_no_for_or_against_legend():
    document = parse_html(render_html(common_class_report(("gradient",))))
    for chart in (svg for svg in document.find_all("svg") if "bar-chart" in svg.classes):
        legend = [t.text() for t in chart.find_all("text") if not t.classes]
        assert legend and not any("against" in text or "toward" in text for text in legend), legend
    column = [c for c in document.find_all("article", "column") if "difference" not in c.classes][0]
    assert column.find_all("p", "colours")[0].text().startswith("Darker: a larger share of the model's |attribution|")


def test_faithfulness_table_headers_are_short():
    document = parse_html(render_html(report([sample(TOKENS, faithful=True)], faithful=True)))
    header = [th.text() for th in document.find_all("table", "metrics")[0].find_all("th")]
    assert header[:3] == ["", "score", "random"]


def test_a_word_whose_share_did_not_move_is_not_listed_as_moved():
    """A change the page would print as −0.0 pp (fp32 noise on an unchanged share) is no "moved" entry."""
    base = [0.0, -0.30, -0.20, 0.50, 0.0]
    finetuned = [0.0, -0.30, -0.2000004, 0.5, 0.0]  # never: −20.0 % → −20.0 %, a change of −2e-5 pp
    made = sample(TOKENS, "Johnson never great", scores={"base": base, "finetuned": finetuned},
                  methods=("integrated-gradients",))
    for model in made.models.values():
        model.target = 1
    made.sentence = describe(made, ["negative", "positive"], "integrated-gradients")
    built = report([made], ("integrated-gradients",))
    column = parse_html(render_html(built)).find_all("article", "difference")[0]
    listed = [row[0] for table in column.find_all("table", "top") for row in rows(table)]
    assert "never" not in listed and "−0.0 pp" not in column.text()
    assert "*never*" not in render_markdown(built).split("Moved toward", 1)[-1]
