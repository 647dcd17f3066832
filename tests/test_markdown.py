"""The Markdown summary and the one-sentence verdicts: valid tables whatever the cells hold, escaped
data, and the sentence's wording for any number of lead words."""

from __future__ import annotations

import re

import pytest

from reportgen.rendering.html import environment
from reportgen.rendering.markdown import escape, markdown_document, markdown_table
from reportgen.rendering.sentences import Part, sentence_parts, to_markdown

TITLES = {"base": "Base", "finetuned": "Fine-tuned"}
PREDICTED = {"base": "negative", "finetuned": "positive"}
PROBABILITY = {"base": 0.981, "finetuned": 0.976}
HOSTILE = ["a | b", "back\\slash", "two\nlines\r\nthree", "  padded  ", "<script>alert(1)</script>", "*bold* _it_",
           "`code`", "[link](x)", "&amp;", "- list", "1. item", "#", "~~gone~~", "\\|", ""]



def sentence(*parts_by_role) -> str:
    return to_markdown(sentence_parts(*parts_by_role))


def split_row(line: str) -> list[str]:
    """A GFM table row's cells: split on pipes that are not backslash-escaped."""
    assert line.startswith("| ") and line.endswith(" |"), line
    cells, current, escaped = [], "", False
    for char in line[1:-1]:
        if char == "|" and not escaped:
            cells.append(current)
            current = ""
        else:
            current += char
        escaped = char == "\\" and not escaped
    cells.append(current)
    return [c.strip() for c in cells]


def unescape(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell)


def test_table_rows_keep_the_header_column_count_with_hostile_cells():
    header = ["#", "Row | index", "Text"]
    rows = [[str(i), cell, f"{cell}!"] for i, cell in enumerate(HOSTILE)] + [["short"]]
    table = markdown_table(header, rows)
    lines = table.split("\n")
    assert len(lines) == 2 + len(rows)  # no cell broke a line
    assert lines[1] == "| --- | --- | --- |"
    parsed = [split_row(line) for line in lines]
    assert all(len(cells) == len(header) for cells in parsed)
    assert [unescape(c) for c in parsed[0]] == header
    for original, cells in zip(HOSTILE, parsed[2:]):
        assert unescape(cells[1]) == " ".join(original.split())  # newlines and outer spaces normalised
    assert parsed[-1] == ["short", "", ""]
    for raw in ("<script>", "*bold*", "`code`", "[link]", "~~gone"):
        assert raw not in table


def test_table_rendered_by_a_markdown_parser():
    """Where markdown-it-py is installed (it comes with rich), a real GFM table parser agrees."""
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable("table").enable("strikethrough").render(
        markdown_table(["a|b", "c"], [[cell, "x"] for cell in HOSTILE]))
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    assert len(rows) == 1 + len(HOSTILE)
    assert all(len(re.findall(r"<t[hd]>", row)) == 2 for row in rows)
    assert "<script>" not in html and "<em>" not in html and "<code>" not in html and "<a " not in html
    assert "<s>" not in html and "<ul>" not in html and "<ol>" not in html


def test_table_input_errors():
    with pytest.raises(ValueError, match="column"):
        markdown_table([], [])
    with pytest.raises(ValueError, match="row 1 has 3 cells"):
        markdown_table(["a", "b"], [["1", "2", "3"]])
    assert markdown_table(["a"], []) == "| a |\n| --- |"


def test_escape_keeps_ordinary_text_readable():
    assert escape("positive 0.93 ✓") == "positive 0.93 ✓"
    assert escape("-0.5") == "-0.5" and escape("row 6") == "row 6"
    assert escape("- item") == "\\- item" and escape("2. x") == "2\\. x" and escape("---") == "\\---"


@pytest.mark.parametrize("words, phrase", [
    ([], "Base predicted negative (0.98), with no word in its favour"),
    (["never"], "Base predicted negative (0.98), led by *never*"),
    (["never", "off"], "Base predicted negative (0.98), led by *never*, *off*"),
    (["never", "off", "mexican"], "Base predicted negative (0.98), led by *never*, *off*, *mexican*"),
])
def test_sentence_wording(words, phrase):
    text = sentence(TITLES, PREDICTED, PROBABILITY, {"base": words, "finetuned": ["great", "film", "basically"]})
    assert text == phrase + "; fine-tuned predicted positive (0.98), led by *great*, *film*, *basically*."


def test_sentence_with_no_lead_words_at_all_and_one_model():
    assert sentence(TITLES, PREDICTED, PROBABILITY, {}) == (
        "Base predicted negative (0.98), with no word in its favour; "
        "fine-tuned predicted positive (0.98), with no word in its favour.")
    assert sentence({"finetuned": "Fine-tuned"}, PREDICTED, PROBABILITY, {"finetuned": ["great"]}) == (
        "Fine-tuned predicted positive (0.98), led by *great*.")
    assert sentence({"a": "BERT"}, {"a": "x"}, {"a": 0.5}, {}).startswith("BERT predicted")
    assert sentence({"a": "A", "b": "BERT"}, {"a": "x", "b": "y"}, {"a": 0.5, "b": 0.5}, {}).count("; BERT ") == 1
    assert sentence({}, {}, {}, {}) == ""


def test_sentence_escapes_markdown_in_words_and_class_names():
    text = sentence(TITLES, {"base": "very_bad", "finetuned": "<b>"}, PROBABILITY,
                    {"base": ["*", "|", "don't"], "finetuned": ["<script>"]})
    assert text == ("Base predicted very\\_bad (0.98), led by *\\**, *\\|*, *don't*; "
                    "fine-tuned predicted \\<b\\> (0.98), led by *\\<script\\>*.")
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").render(text)
    assert re.findall(r"<em>(.*?)</em>", html) == ["*", "|", "don't", "&lt;script&gt;"]
    assert "very_bad" in html and "&lt;b&gt;" in html


def test_sentence_parts_render_as_html_with_autoescaping():
    parts = sentence_parts(TITLES, PREDICTED, PROBABILITY, {"base": ["<script>"], "finetuned": ["great", "&"]})
    assert parts == [Part("Base predicted negative (0.98), led by "), Part("<script>", True),
                     Part("; fine-tuned predicted positive (0.98), led by "), Part("great", True), Part(", "),
                     Part("&", True), Part(".")]
    html = environment().from_string(
        "{% for p in parts %}{% if p.emphasis %}<em>{{ p.text }}</em>{% else %}{{ p.text }}{% endif %}{% endfor %}"
    ).render(parts=parts)
    assert html == ("Base predicted negative (0.98), led by <em>&lt;script&gt;</em>; fine-tuned predicted positive "
                    "(0.98), led by <em>great</em>, <em>&amp;</em>.")


def test_document_layout():
    lead = sentence(TITLES, PREDICTED, PROBABILITY, {"base": ["never"], "finetuned": ["great"]})
    document = markdown_document(
        "Why the models disagree — Base vs Fine-tuned",
        [("Method", "Integrated gradients, 50 steps"), ("Data", "imdb | test\nsplit"), ("Model", "<i>base</i>.pth")],
        ["#", "Row", "Outcome"], [["1", "6", "base ✗ · fine-tuned ✓"]],
        [("Sample 1: row 6", lead), ("Sample 2: text #2", lead)])
    assert document.endswith("\n") and not document.endswith("\n\n")
    blocks = document.rstrip("\n").split("\n\n")
    assert blocks[0] == "# Why the models disagree — Base vs Fine-tuned"
    assert blocks[1].split("\n") == ["- **Method:** Integrated gradients, 50 steps",
                                     "- **Data:** imdb \\| test split", "- **Model:** \\<i\\>base\\</i\\>.pth"]
    assert blocks[2] == "## Summary"
    assert blocks[3].split("\n")[0] == "| \\# | Row | Outcome |"
    assert blocks[4:] == ["## Samples", "### Sample 1: row 6", lead, "### Sample 2: text \\#2", lead]
    assert "<i>" not in document


def test_document_without_facts_or_samples():
    document = markdown_document("T", [], ["a"], [], [])
    assert document == "# T\n\n## Summary\n\n| a |\n| --- |\n"
