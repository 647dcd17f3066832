"""The human rationale on the page, in a real browser (issue 29): the marked words are underlined in every column
(a text decoration, which prints and needs no colour), the legend says so, and plausibility sits in each column."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import browser, chromium_path

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e .[test]")
if chromium_path() is None:
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)

TEXT = "the acting was wonderful but the plot was boring"
MARKED = ["acting", "was", "wonderful"]


@pytest.fixture(scope="module")
def report_file(encoder_dir, checkpoints, tmp_path_factory) -> Path:
    import reportgen

    explained = reportgen.explain(base=checkpoints["base"], finetuned=checkpoints["finetuned"],
                                  encoder=str(encoder_dir), texts=[TEXT], rationales=[["acting was wonderful"]],
                                  labels=[1], label_names=["negative", "positive"],
                                  method="gradient-x-input,attention-rollout", max_length=48, device="cpu",
                                  faithfulness=False, quiet=True)
    path = tmp_path_factory.mktemp("rationale") / "report.html"
    explained.save(path)
    return path


UNDERLINES = """els => els.map(e => {
  const s = getComputedStyle(e);
  return {text: e.textContent, line: s.textDecorationLine, thickness: s.textDecorationThickness}
})"""


@pytest.mark.parametrize("media", ["screen", "print"])
def test_the_marked_words_are_underlined_in_every_column_and_explained(report_file, media):
    with browser() as chromium:
        context = chromium.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.goto(report_file.as_uri())
        page.emulate_media(media=media)
        columns = page.locator("details[open] article.column")
        assert columns.count() == 3  # base, fine-tuned, fine-tuned − base
        for number in range(columns.count()):
            tokens = columns.nth(number).locator("p.tokens span.t").evaluate_all(UNDERLINES)
            underlined = [t["text"] for t in tokens if "underline" in t["line"]]
            assert underlined == MARKED, underlined
            assert all(t["thickness"] == "2px" for t in tokens if "underline" in t["line"])
        legend = page.locator("p.rationale-legend").first.text_content()
        assert legend.startswith("Underlined: the words annotators marked as the reason for positive")
        assert page.locator("details[open] table.plausibility").count() == 2  # beside each model's shading
        assert "plausibility" in page.locator("table.summary thead").text_content()
        assert "AUPRC" in page.locator("table.summary tbody").text_content()
        context.close()
