"""Inline SVG charts: well-formed XML, bars that match the data, escaped labels, nothing loaded from
anywhere, a sensible figure for no data, and small output."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from reportgen.rendering.charts import AGAINST, FOR, bar_chart, line_chart
from reportgen.rendering.html import environment, templates_dir

PANELS = [
    ("Base", [("never", -0.31), ("great", 0.2), ("<script>alert(1)</script>", 0.1), ("&", -0.05), ("film", 0.01)]),
    ("Fine-tuned", [("great", 0.9), ("basically", 0.4), ("off", -0.2)]),
]
CURVE_X = [0, 10, 20, 50, 100]
SERIES = [("integrated gradients", [0.98, 0.7, 0.5, 0.3, 0.2], "solid"),
          ("random <b>", [0.98, 0.95, 0.9, 0.8, 0.5], "dashed")]


def render(macro: str, chart) -> str:
    """The macro through the report's own Jinja2 environment (autoescaping on)."""
    template = environment().from_string(f'{{% from "_charts.html.j2" import {macro} %}}{{{{ {macro}(chart) }}}}')
    return template.render(chart=chart)


def parse(svg: str) -> ET.Element:
    """One SVG, or a bar chart's panels: a <div> of SVGs, one per panel."""
    root = ET.fromstring(svg)
    for chart in (root,) if root.tag == "svg" else list(root):
        assert chart.tag == "svg" and chart.get("role") == "img" and chart.get("aria-label")
        assert chart.find("title") is not None and chart.find("desc") is not None
    assert root.tag == "svg" or (root.tag == "div" and len(root))
    return root


def rects(root: ET.Element, css: str) -> list[ET.Element]:
    return [r for r in root.iter("rect") if r.get("class") == css]


def assert_offline_and_plain(svg: str) -> None:
    lowered = svg.lower()
    for needle in ("http", "//", "href", "src=", "url(", "<script", "style=", "<foreignobject"):
        assert needle not in lowered, needle


def test_bar_chart_bars_follow_the_data():
    chart = bar_chart(PANELS)
    svg = render("bar_chart", chart)
    root = parse(svg)
    assert_offline_and_plain(svg)
    groups = list(root.iter("g"))
    assert len(groups) == 8  # one per bar
    legend = 2 * 2  # a "for" and an "against" swatch under each panel
    assert len(rects(root, FOR)) == 5 + 2 and len(rects(root, AGAINST)) == 3 + 2
    assert len(list(root.iter("rect"))) == 8 + legend
    zeros = [float(line.get("x1")) for line in root.iter("line") if line.get("class") == "zero"]
    assert len(zeros) == 2
    bars = [(g.find("title").text, g.find("rect")) for g in groups]
    values = [v for _, data in PANELS for _, v in data]
    zero_of_bar = [zeros[0]] * 5 + [zeros[1]] * 3
    for (title, rect), value, zero in zip(bars, values, zero_of_bar):
        x, width = float(rect.get("x")), float(rect.get("width"))
        assert rect.get("class") == (FOR if value > 0 else AGAINST), title
        if value > 0:
            assert x == pytest.approx(zero, abs=0.05)  # starts at zero, grows right
        else:
            assert x + width == pytest.approx(zero, abs=0.11)  # ends at zero: grows left
    # One shared scale: bar width is proportional to |value| across both panels.
    widths = [float(r.get("width")) for _, r in bars]
    per_unit = widths[5] / 0.9
    for width, value in zip(widths, values):
        assert width == pytest.approx(abs(value) * per_unit, abs=0.2)
    assert [t.text for t in root.iter("text") if t.get("class") == "ptitle"] == ["Base", "Fine-tuned"]
    ticks = [t.text for t in root.iter("text") if t.get("class") in ("s", "m", "e")]
    assert ticks.count("−0.31") == 2 and ticks.count("+0.9") == 2 and ticks.count("0") == 2  # ends and zero


def test_labels_are_escaped():
    svg = render("bar_chart", bar_chart(PANELS))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp;" in svg
    labels = [t.text for t in parse(svg).iter("text") if t.get("class") == "e"]
    assert "&" in labels and any(label.startswith("<script>") for label in labels)  # shown as text
    titles = [g.find("title").text for g in parse(svg).iter("g")]
    assert "<script>alert(1)</script>: +0.1" in titles  # the whole label on hover, the bar's one shortened
    svg = render("line_chart", line_chart(CURVE_X, SERIES, title="<i>curve</i> & co"))
    assert "<b>" not in svg and "<i>" not in svg and "&lt;i&gt;curve&lt;/i&gt; &amp; co" in svg
    assert parse(svg).get("aria-label") == "<i>curve</i> & co"


def test_bar_chart_scale_without_negative_values_starts_at_zero():
    chart = bar_chart([("Base", [("a", 1.0), ("b", 0.5)]), ("Fine-tuned", [])])
    root = parse(render("bar_chart", chart))
    assert [p.zero_x for p in chart.panels] == [p.plot_left for p in chart.panels]
    assert len(root.find("svg/desc").text) and "no words" in [t.text for t in root.iter("text")]
    assert chart.panels[1].bars == [] and chart.panels[1].message.text == "no words"


@pytest.mark.parametrize("panels", [[], [("Base", []), ("Fine-tuned", [])], [("Base", [("x", float("nan"))])]])
def test_bar_chart_without_data(panels):
    svg = render("bar_chart", bar_chart(panels))
    root = parse(svg)
    assert not list(root.iter("rect"))
    assert "no data" in "".join(root.itertext())


def test_all_zero_bars_do_not_crash():
    chart = bar_chart([("Base", [("a", 0.0)])])
    (bar,) = chart.panels[0].bars
    assert bar.width == 0 and bar.css == FOR


def test_line_chart_has_axes_legend_and_one_line_per_series():
    chart = line_chart(CURVE_X, SERIES)
    svg = render("line_chart", chart)
    root = parse(svg)
    assert_offline_and_plain(svg)
    lines = list(root.iter("polyline"))
    assert [p.find("title").text for p in lines] == ["integrated gradients", "random <b>"]
    assert [p.get("class") for p in lines] == ["line s0 solid", "line s1 dashed"]
    points = [tuple(map(float, pair.split(","))) for pair in lines[0].get("points").split()]
    assert len(points) == 5
    assert points[0] == (chart.left, pytest.approx(chart.bottom - 0.98 * (chart.bottom - chart.top), abs=0.05))
    assert points[-1][0] == chart.right  # x = 100 %
    assert all(chart.top <= y <= chart.bottom for _, y in points)
    texts = [t.text for t in root.iter("text")]
    assert {"0 %", "50 %", "100 %", "0", "0.5", "1"} <= set(texts)
    assert "% of tokens removed" in texts and "probability" in texts
    assert texts.count("integrated gradients") == 1 and texts.count("random <b>") == 1  # the legend
    assert "0.98 at 0 % to 0.20 at 100 %" in root.find("desc").text


def test_line_chart_skips_non_finite_points_and_checks_its_input():
    chart = line_chart([0, 50, 100], [("m", [1.0, float("nan"), 0.5], "dotted")])
    assert len(chart.series[0].points.split()) == 2
    with pytest.raises(ValueError, match="style"):
        line_chart([0], [("m", [1.0], "wavy")])
    with pytest.raises(ValueError, match="2 values"):
        line_chart([0, 50, 100], [("m", [1.0, 0.5], "solid")])


@pytest.mark.parametrize("x, series", [([], []), ([0, 100], []), ([0], [("m", [float("nan")], "solid")])])
def test_line_chart_without_data(x, series):
    root = parse(render("line_chart", line_chart(x, series)))
    assert not list(root.iter("polyline"))
    assert "no data" in "".join(root.itertext())


def test_charts_are_small_and_coordinates_short():
    words = [(f"word{i}", (-1) ** i * i / 10) for i in range(10)]
    bars = render("bar_chart", bar_chart([("Base", words[:5]), ("Fine-tuned", words[5:])]))
    assert len(bars.encode()) < 4_100, len(bars.encode())  # a true minus sign is 3 bytes of UTF-8
    single = render("bar_chart", bar_chart([("Base", words)]))
    assert len(single.encode()) < 3_500, len(single.encode())
    series = [("m", [1 - i / 10 for i in range(11)], "solid"), ("r", [1 - i / 20 for i in range(11)], "dashed")]
    curve = render("line_chart", line_chart(list(range(0, 101, 10)), series))
    assert len(curve.encode()) < 3_500, len(curve.encode())
    for svg in (bars, curve):
        numbers = re.findall(r'="(-?\d+\.\d+)"', svg) + re.findall(r"(-?\d+\.\d+),(-?\d+\.\d+)", svg)
        flat = [n for item in numbers for n in (item if isinstance(item, tuple) else (item,))]
        assert all(len(n.split(".")[1]) == 1 for n in flat), flat


def test_css_snippet_styles_every_class_and_loads_nothing():
    css = (templates_dir() / "_charts.css").read_text()
    assert_offline_and_plain(css)
    assert "#2166ac" in css and "#b2182b" in css
    rendered = render("bar_chart", bar_chart(PANELS)) + render("line_chart", line_chart(CURVE_X, SERIES))
    used = {c for value in re.findall(r'class="([^"]+)"', rendered) for c in value.split()}
    styled = set(re.findall(r"\.([a-z][\w-]*)", css))
    hooks = {"s", "solid", "bar-chart", "line-chart"}  # the SVG defaults (start, solid) and hooks for the lead
    assert used - hooks <= styled, used - styled
