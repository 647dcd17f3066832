"""Numbers as the pages print them (`reportgen.rendering.numbers`): no minus on a number that shows as
zero, and a power of ten only where plain digits would not do, in the formatter and on the page."""

from __future__ import annotations

import pytest

from reportgen.rendering.charts import bar_chart
from reportgen.rendering.html import render_html
from reportgen.rendering.numbers import figure, fixed, interval, relative, signed_figure, signed_pct
from tests.test_rendering import parse_html, report, sample


@pytest.mark.parametrize("value,places,signed,shown", [
    (-0.0004, 3, False, "0.000"), (-0.0004, 3, True, "+0.000"), (-0.0, 2, False, "0.00"), (-0.0, 2, True, "+0.00"),
    (-0.004, 2, True, "+0.00"), (-0.4, 2, False, "−0.40"), (-0.0006, 3, False, "−0.001"), (0.125, 3, True, "+0.125"),
])
def test_a_value_that_rounds_to_zero_prints_without_a_minus(value, places, signed, shown):
    assert fixed(value, places, signed) == shown


@pytest.mark.parametrize("value,digits,shown", [
    (100.0, 2, "+100"), (99.96, 2, "+100"), (-100.0, 2, "−100"), (12345.0, 2, "+12000"), (250.0, 2, "+250"),
    (-0.0, 3, "+0"), (3.14159e12, 3, "+3.14 × 10¹²"), (1.5e6, 2, "+1.5 × 10⁶"), (-2.7e-7, 2, "−2.7 × 10⁻⁷"),
])
def test_a_number_plain_at_its_precision_has_no_power_of_ten(value, digits, shown):
    assert signed_figure(value, digits) == shown
    assert figure(value, digits) == shown.lstrip("+")


def test_a_share_of_a_hundred_percent_is_labelled_plainly_in_a_chart():
    """One word holds the model's whole |attribution|: its bar reads "+100", as the others read "+22"."""
    chart = bar_chart([("Base", [("good", 100.0)]), ("Fine-tuned", [("good", -100.0), ("bad", 22.2)])])
    labels = [bar.value_text for panel in chart.panels for bar in panel.bars]
    ticks = [tick.text for panel in chart.panels for tick in panel.ticks]
    assert labels == ["+100", "−100", "+22"]
    assert not any("×" in text for text in labels + ticks), ticks


def test_a_one_word_text_and_a_negative_zero_print_plainly_on_the_page():
    """A one-word text (100 % of each model's |attribution| on it) and AOPC values that round to zero:
    "+100", "0.000", never "+1 × 10²" or "−0.000"."""
    built = report([sample(["[CLS]", "good", "[SEP]"], "good",
                           scores={"base": [0.0, 0.8, 0.0], "finetuned": [0.0, -0.3, 0.0]}, faithful=True)],
                   faithful=True)
    for model in built.samples[0].models.values():
        comprehensiveness = model.methods["integrated-gradients"].faithfulness.scores["comprehensiveness"]
        comprehensiveness.value, comprehensiveness.random = -2e-5, -4e-4
    document = parse_html(render_html(built))
    chart = [t.text() for svg in document.find_all("svg") for t in svg.find_all("text")]
    assert "+100" in chart and "−100" in chart, chart
    assert not any("×" in text for text in chart), chart
    cells = [td.text() for table in document.find_all("table", "metrics") for td in table.find_all("td", "num")]
    assert cells.count("0.000") == 4 and not any(text.startswith("−0.00") for text in cells), cells
    summary = [td.text() for td in document.find_all("table", "summary")[0].find_all("td")]
    assert "0.000 (random 0.000)" in summary, summary
    assert "−0.0" not in document.text()


def test_signed_figures_print_a_true_minus_and_a_power_of_ten():
    assert signed_figure(0.0124) == "+0.0124"
    assert signed_figure(-0.00027, 2) == "−0.00027"
    assert signed_figure(-2.7e-7, 2) == "−2.7 × 10⁻⁷"
    assert signed_figure(3.14159e12) == "+3.14 × 10¹²"
    assert signed_figure(0.0) == "+0"


def test_signed_shares_never_print_a_negative_zero():
    assert signed_pct(-0.0004) == "+0.0 %"
    assert signed_pct(-0.067) == "−6.7 %"
    assert signed_pct(0.004) == "+0.4 %"


def test_relative_change_only_where_both_shares_are_above_zero():
    """Seen on corpus-ig: *classic* moved +0.81 pp toward the class from a base share of −0.09 %, and its
    relative change read −933 %; a share that changes sign or starts at 0 has no meaningful ratio."""
    assert relative(0.0024, 0.01) == "+24.0 %"
    assert relative(-0.005, 0.01) == "−50.0 %"  # a true minus sign in print
    assert relative(0.0081, -0.0009) == "—"  # base against the class, fine-tuned toward it
    assert relative(-0.02, 0.01) == "—"  # fine-tuned's share below 0
    assert relative(0.01, 0.0) == "—"


def test_an_interval_prints_signed_figures_or_a_dash_without_both_ends():
    assert interval(-0.0012, 0.008) == "[−0.12, +0.8]"
    assert interval(0.5, 1.0, scale=1) == "[+0.5, +1]"
    assert interval(float("nan"), 0.01) == "—"
