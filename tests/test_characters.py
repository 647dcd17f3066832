"""Review text a reader can see: C1 controls (Windows-1252 text read as Latin-1) and other characters
HTML forbids are mapped for display, one character for one, in every HTML and Markdown output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import html5lib
import pytest

from reportgen.rendering.characters import MARKER, displayable
from reportgen.rendering.html import environment, render_html
from reportgen.rendering.markdown import markdown_document
from reportgen.rendering.markdown_report import render_markdown
from reportgen.results import Report, Word
from tests.test_rendering import parse_html, report, sample

SAMPLES = Path(__file__).resolve().parent.parent / "sample_reports"
# What HTML (and html5lib) rejects in a document: controls other than tab, LF, FF and CR; noncharacters;
# lone surrogates (which UTF-8 cannot even encode).
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef]|[\ufffe\uffff]"
                       "|[\U0001fffe\U0001ffff\U0010fffe\U0010ffff]")


def html5_errors(document: str) -> list[str]:
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(document)
    return [f"line {line}:{column} {code}" for (line, column), code, _ in parser.errors]


def test_every_character_maps_to_one_displayable_character():
    everything = "".join(map(chr, range(0x110000)))
    shown = displayable(everything)
    assert len(shown) == len(everything)  # so offsets into the original text stay valid
    assert not FORBIDDEN.search(shown)
    shown.encode("utf-8")  # no lone surrogate is left
    changed = [c for c, d in zip(everything, shown) if c != d]
    assert len(changed) == 32 - 4 + 1 + 32 + 2048 + 32 + 34  # C0 but tab/LF/FF/CR, DEL, C1, surrogates, nonchars


def test_c1_controls_are_shown_as_windows_1252_shows_them():
    assert displayable("which\x97legend") == "which—legend"
    assert displayable("\x93quoted\x94 \x85 \x80 \x92") == "“quoted” … € ’"
    assert displayable("\x81\x8d\x8f\x90\x9d") == MARKER * 5  # undefined in Windows-1252: a visible marker
    assert displayable("bell\x07 tab\tline\nform\x0cret\r") == f"bell{MARKER} tab\tline\nform\x0cret\r"


def imdb_like_report() -> Report:
    """A review as 811 of the IMDB reviews have it: a Windows-1252 em dash read as Latin-1 (\\x97)."""
    text = "A real legend\x97which it is. \x93Great\x94"
    tokens = ["[CLS]", "a", "real", "legend", "\x97", "which", "it", "is", ".", "\x93", "great", "\x94", "[SEP]"]
    made = sample(tokens, text, index=13)
    spans = [(0, 1), (2, 6), (7, 13), (13, 14), (14, 19), (20, 22), (23, 25), (25, 26), (27, 28), (28, 33), (33, 34)]
    made.words = ([Word("[CLS]", None, None, 0, 1)]
                  + [Word(text[s:e], s, e, n, n + 1) for n, (s, e) in enumerate(spans, start=1)]
                  + [Word("[SEP]", None, None, 12, 13)])
    made.words_exact = True
    return report([made])


@pytest.mark.parametrize("granularity", ["word", "wordpiece"])
def test_a_review_with_a_windows_1252_dash_shows_a_dash(granularity):
    built = imdb_like_report()
    html = render_html(built, granularity=granularity)
    assert html5_errors(html) == []
    assert not FORBIDDEN.search(html)
    document = parse_html(html)
    original = [d.find_all("p")[0].text() for d in document.find_all("details", "original")]
    assert original == ["A real legend—which it is. “Great”"]
    shown = [span.text() for span in document.find_all("span", data_score=True)]
    assert "—" in shown and "“" in shown and "”" in shown
    assert "\x97" in json.loads(built.to_json())["samples"][0]["text"]  # the data keeps the exact text
    assert not FORBIDDEN.search(render_markdown(built))


def test_markdown_notes_show_it_too():
    notes = markdown_document("Title", [("Dataset", "reviews\x97 2009")], ["Row"], [["1\x93"]],
                              [("Row 13", "led by *legend\x97which*")])
    assert "reviews— 2009" in notes and "1“" in notes and "*legend—which*" in notes
    assert not FORBIDDEN.search(notes)


def test_the_shared_environment_maps_every_printed_string():
    """The report and the corpus report print through this one environment; markup stays markup."""
    from markupsafe import Markup

    template = environment().from_string("{{ plain }}|{{ marked }}|{{ number }}")
    assert template.render(plain="a\x97<b>", marked=Markup("<i>\x93</i>"), number=3) == "a—&lt;b&gt;|<i>“</i>|3"


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.html")), ids=lambda p: p.name)
def test_sample_reports_have_no_html_parse_error(path):
    assert html5_errors(path.read_text(encoding="utf-8")) == []
