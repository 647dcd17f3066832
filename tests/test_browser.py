"""The report in a real browser: laid out, shaded, offline, quiet, and the same without JavaScript."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import browser, chromium_path

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e .[test]")
if chromium_path() is None:
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def report_file(encoder_dir, checkpoints, tmp_path_factory) -> Path:
    from reportgen.api import ExplainedReport, ModelSpec
    from reportgen.attribution import MethodOptions, PathSteps
    from reportgen.pipeline import ExplainOptions, Texts, explain

    models = ModelSpec(str(checkpoints["base"]), str(checkpoints["finetuned"]), str(encoder_dir), "mean-all",
                       "cpu").load()
    texts = Texts(texts=["the acting was wonderful but the plot was boring",
                         "<script>document.title='pwned'</script> awful {{ 7*7 }}"],
                  indices=[0, 1], labels=[1, 0], class_names=["negative", "positive"], dataset="built", split="test")
    report = explain(models, texts, ExplainOptions(method_options=MethodOptions(path=PathSteps(steps=8)), max_length=48,
                                                   progress=False,
                                                   methods=("integrated-gradients", "attention-gradient")))
    path = tmp_path_factory.mktemp("browser") / "report.html"
    ExplainedReport(report).save(path)
    return path


def _open(chromium, path: Path, javascript: bool, height: int = 1000):
    context = chromium.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": height})
    page = context.new_page()
    requests, console = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return context, page, requests, console


SHADE_STYLE = """els => els.map(e => {
  const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
  return {cls: e.className, bg: s.backgroundColor, color: s.color, w: r.width, h: r.height, visible: s.visibility}
})"""


def test_tokens_are_laid_out_and_shaded(report_file, tmp_path):
    with browser() as chromium:
        context, page, requests, console = _open(chromium, report_file, javascript=True)
        tokens = page.locator("details[open] article span.t[data-score]").evaluate_all(SHADE_STYLE)
        assert tokens, "no token elements rendered"
        assert all(t["w"] > 0 and t["h"] > 0 and t["visible"] == "visible" for t in tokens)
        shaded = [t for t in tokens if not t["cls"].split()[1] == "z"]
        assert shaded, "every token is unshaded"
        # Computed colours, not markup: each shaded class really paints a non-white background, and
        # tokens of one class share one colour.
        by_class: dict[str, set[str]] = {}
        for t in tokens:
            by_class.setdefault(t["cls"].split()[1], set()).add(t["bg"])
        assert all(len(colours) == 1 for colours in by_class.values())
        assert all(colours != {"rgb(255, 255, 255)"} for name, colours in by_class.items() if name != "z")
        assert page.title().startswith("Why the models disagree")  # the hostile <script> never ran
        assert "{{ 7*7 }}" in page.locator("main").text_content()  # shown literally, not rendered as 49
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
        if os.environ.get("REPORTGEN_SCREENSHOT_DIR"):
            page.screenshot(path=str(Path(os.environ["REPORTGEN_SCREENSHOT_DIR"]) / "test-report.png"), full_page=True)
        assert requests == [report_file.as_uri()], f"the page requested more than itself: {requests}"
        assert console == [], f"console messages: {console}"
        context.close()


def test_same_page_without_javascript(report_file):
    with browser() as chromium:
        shots, styles = [], []
        for javascript in (True, False):
            context, page, requests, console = _open(chromium, report_file, javascript)
            styles.append(page.locator("span.t").evaluate_all(SHADE_STYLE))
            shots.append(page.screenshot(full_page=True))
            assert requests == [report_file.as_uri()] and console == []
            context.close()
        assert styles[0] == styles[1]
        assert shots[0] == shots[1], "the page looks different without JavaScript"


def test_other_methods_open_without_javascript(report_file):
    """Every method is in the page; the closed ones open with a click on their summary, no script needed."""
    with browser() as chromium:
        context, page, _, _ = _open(chromium, report_file, javascript=False)
        second = page.locator("#sample-1-attention-gradient")
        assert second.get_attribute("open") is None
        hidden = second.locator("span.t[data-score]").first.bounding_box()
        assert hidden is None or hidden["width"] == 0
        second.locator("summary").click()
        # the toggle and the layout after it may land a frame later on a busy machine: wait up to 5 s
        shown = None
        for _ in range(100):
            shown = second.locator("span.t[data-score]").first.bounding_box()
            if second.get_attribute("open") == "" and shown is not None and shown["width"] > 0:
                break
            page.wait_for_timeout(50)
        assert second.get_attribute("open") == ""
        assert shown is not None and shown["width"] > 0
        context.close()


def test_summary_links_jump_to_samples(report_file):
    with browser() as chromium:
        context, page, _, _ = _open(chromium, report_file, javascript=False, height=400)
        before = page.locator("#sample-2-h").bounding_box()
        assert before is not None and before["y"] > 400, "the test needs the sample below the fold"
        page.locator("table.summary a").nth(1).click()
        assert page.url.endswith("#sample-2")
        after = page.locator("#sample-2-h").bounding_box()
        assert after is not None and 0 <= after["y"] < 400, "the linked sample is not scrolled into view"
        context.close()


def test_print_keeps_the_shading(report_file, tmp_path):
    with browser() as chromium:
        context, page, _, _ = _open(chromium, report_file, javascript=False)
        page.emulate_media(media="print")
        adjust = page.locator("article span.t").first.evaluate("e => getComputedStyle(e).printColorAdjust")
        assert adjust == "exact"
        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf), print_background=True)
        assert pdf.stat().st_size > 5_000
        context.close()


PHONE_WIDTH = 420
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const sticking = [...document.querySelectorAll('body *')]
    .filter(e => !e.closest('.scroll') || e.classList.contains('scroll'))
    .filter(e => e.getBoundingClientRect().right > width + 0.5)
    .map(e => e.tagName.toLowerCase() + '.' + e.className);
  return {page: document.documentElement.scrollWidth, width, sticking: sticking.slice(0, 10)};
}"""


def test_phone_width_fits_the_viewport(report_file):
    """At 420 px nothing sticks out sideways: columns stack, tokens wrap, tables scroll in their own box."""
    with browser() as chromium:
        context = chromium.new_context(java_script_enabled=False, viewport={"width": PHONE_WIDTH, "height": 900})
        page = context.new_page()
        page.goto(report_file.as_uri())
        page.wait_for_load_state("load")
        layout = page.evaluate(OVERFLOW)
        assert layout["page"] <= PHONE_WIDTH, layout
        assert layout["sticking"] == [], layout
        columns = page.locator("article.column").evaluate_all("els => els.map(e => e.getBoundingClientRect().x)")
        assert len(set(round(x) for x in columns)) == 1, "the model columns should stack on a phone"
        context.close()


def _widths(page, selector: str) -> list[dict]:
    return page.locator(selector).evaluate_all(
        "els => els.map(e => ({scroll: e.scrollWidth, client: e.clientWidth}))")


def test_faithfulness_table_fits_its_card_at_1280(report_file):
    """The card's metrics table shows its "random" column without a horizontal scroll."""
    with browser() as chromium:
        context, page, _, _ = _open(chromium, report_file, javascript=False)
        boxes = _widths(page, "details[open] .faith .scroll")
        assert boxes, "no faithfulness table in an open method"
        assert all(box["scroll"] <= box["client"] for box in boxes), boxes
        context.close()


CHART_TEXT = """els => els.map(e => {
  const svg = e.ownerSVGElement; const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return {text: e.textContent, px: parseFloat(getComputedStyle(e).fontSize) * scale};
})"""
OUTCOME_CELL = """() => {
  const table = document.querySelector('table.summary');
  const column = [...table.querySelectorAll('thead th')].findIndex(th => th.textContent.trim() === 'Outcome');
  const cell = table.querySelector('tbody tr').children[column].getBoundingClientRect();
  return {left: cell.left, right: cell.right, width: document.documentElement.clientWidth};
}"""


def test_phone_width_keeps_chart_text_legible_and_the_outcome_in_view(report_file):
    """At 420 px every chart text is drawn at 11 px or more, and the summary's Outcome column is on
    screen without scrolling the table."""
    with browser() as chromium:
        context = chromium.new_context(java_script_enabled=False, viewport={"width": PHONE_WIDTH, "height": 900})
        page = context.new_page()
        page.goto(report_file.as_uri())
        page.wait_for_load_state("load")
        texts = page.locator("details[open] svg.chart text, .chart-box svg.chart text").evaluate_all(CHART_TEXT)
        assert texts, "no chart text"
        small = [t for t in texts if t["px"] < 11 - 0.01]
        assert small == [], small[:5]
        outcome = page.evaluate(OUTCOME_CELL)
        assert 0 <= outcome["left"] and outcome["right"] <= outcome["width"], outcome
        context.close()


LEGEND_WORDS = """els => els.map(end => {
  const words = [];
  const walker = document.createTreeWalker(end, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      words.push({word: m[0], top: Math.round(range.getBoundingClientRect().top)});
    }
  }
  return words;
})"""


@pytest.mark.parametrize("width", [1280, 1024, PHONE_WIDTH])
def test_a_legends_ends_wrap_between_phrases_not_inside_one(tmp_path, width):
    """"−22 pp moved toward class 1" may take two lines in a narrow column, but as "−22 pp" over "moved
    toward class 1", never "moved toward class" over "1" (seen at 1280 px in the difference column)."""
    from reportgen.rendering.html import render_html
    from tests.test_rendering import report, sample

    built = report([sample(["[CLS]", "a", "slow", "start", ",", "then", "a", "wonderful", "film", ".", "[SEP]"],
                           seed=seed, index=seed) for seed in range(2)])
    built.meta.class_names = ["class 0", "class 1"]
    path = tmp_path / "report.html"
    path.write_text(render_html(built), encoding="utf-8")
    with browser() as chromium:
        context = chromium.new_context(java_script_enabled=False, viewport={"width": width, "height": 1400})
        page = context.new_page()
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        ends = page.locator("details[open] figure.legend .end").evaluate_all(LEGEND_WORDS)
        context.close()
    assert any(words[-1]["word"] == "1" for words in ends), ends  # the difference legend's "… toward class 1"
    for words in ends:
        unit = 2 if len(words) > 1 and words[1]["word"] in ("pp", "%") else 1  # "−22 pp", "+11.3 %", "0"
        for phrase in (words[:unit], words[unit:]):
            assert len({w["top"] for w in phrase}) <= 1, f"a phrase split across lines at {width} px: {words}"
