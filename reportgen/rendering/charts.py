"""Geometry of the report's small inline SVG charts, computed here so the template only lays out elements.

Every coordinate is a number rounded to 0.1 px and every label a plain string (the template escapes
it), so the charts need no JavaScript, no external file and no per-element styles: colours and
fonts come from a handful of CSS classes in `templates/_charts.css`. The same dataclasses make the
charts' text alternatives (`title`, `description`) for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reportgen.rendering.numbers import signed_figure

FOR, AGAINST = "for", "against"  # CSS classes: blue (#2166ac) and red (#b2182b), as in the token shades
MORE, LESS = "more", "less"  # teal and brown, as the difference view's shades (fine-tuned − base)
LINE_STYLES = ("solid", "dashed", "dotted")
SERIES_CLASSES = 4  # s0…s3, then the colours repeat
LABEL_CHARS = 16  # longer word labels are shortened (the hover title keeps the whole word)

# Bar chart layout, in px (the SVG scales down with its container).
PANEL_WIDTH, PANEL_GAP, WORD_WIDTH, VALUE_ROOM = 340, 24, 100, 46
TOP, ROW, BAR, AXIS_ROOM, CAPTION_ROOM, LEGEND_ROOM = 24, 18, 12, 22, 16, 20
# Line chart layout.
LINE_WIDTH, LINE_HEIGHT = 340, 220
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 40, 318, 40, 180  # room for the "100 %" label
EMPTY_HEIGHT = 40


def _r(value: float) -> float:
    """0.1 px is finer than any screen or printer needs and keeps the file small."""
    rounded = round(value, 1)
    return int(rounded) if rounded == int(rounded) else rounded


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    """One line that fits its column: a long word would run into the bars."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def number(value: float) -> str:
    """Two significant digits with a sign, enough to read a chart ("+0.12", "−3.4 × 10⁻⁵", "0")."""
    return "0" if value == 0 else signed_figure(value, 2)


@dataclass
class Tick:
    """A tick mark or grid line from (x1, y1) to (x2, y2) and its label at (tx, ty)."""

    x1: float
    y1: float
    x2: float
    y2: float
    tx: float
    ty: float
    text: str
    anchor: str  # CSS class for text-anchor: "s" start, "m" middle, "e" end


@dataclass
class Bar:
    label: str  # the word as shown, shortened
    title: str  # hover and screen-reader text: whole word and exact value
    value: float
    css: str  # FOR or AGAINST
    x: float
    y: float
    width: float
    height: float
    label_x: float  # the word, right-aligned left of the plot
    text_y: float  # baseline of the row's texts
    value_text: str
    value_x: float
    value_anchor: str  # "s" right of a bar for, "e" left of a bar against
    interval: Whisker | None = None  # a confidence interval drawn across the bar


@dataclass
class Whisker:
    """An interval from x1 to x2 at height y, with end caps from y1 to y2."""

    x1: float
    x2: float
    y: float
    y1: float
    y2: float


@dataclass
class BarPanel:
    title: str
    title_x: float
    title_y: float
    zero_x: float  # the zero line, from plot_top to plot_bottom
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    bars: list[Bar]
    ticks: list[Tick]
    message: Text | None  # "no words" when this panel has no bars
    description: str = ""  # its bars in words, for screen readers


@dataclass
class Text:
    """A free-standing text such as an axis caption."""

    text: str
    x: float
    y: float
    anchor: str  # "s", "m" or "e", as for Tick


@dataclass
class Swatch:
    """A legend entry: a sample of the mark, then its text at (x, y).

    A bar sample is the square (x1, y1, size, size); a line sample runs from (x1, y1) to (x2, y1).
    """

    css: str
    text: str
    x1: float
    x2: float
    y1: float
    size: float
    x: float
    y: float  # text baseline

    @property
    def middle(self) -> float:
        """Height of a line sample: through the middle of the square a bar sample fills."""
        return _r(self.y1 + self.size / 2)


@dataclass
class BarChart:
    """Panels of bars on one x scale; each panel is drawn as its own SVG of `width` × `height` (so
    the panels sit side by side where there is room and stack on a narrow screen, each at its natural
    size), with the axis caption `x_label` and the `legend` under its bars."""

    title: str
    description: str  # every bar in words, for screen readers
    width: float
    height: float
    panels: list[BarPanel]
    legend: list[Swatch] = field(default_factory=list)
    message: Text | None = None  # "No data" when there is nothing to draw; then panels is empty
    x_label: Text | None = None  # the unit of the x axis, under the tick labels


@dataclass
class Series:
    name: str
    css: str  # "s0 solid" …: colour by position, line style as given
    points: str  # "x,y x,y …" for <polyline points>
    legend: Swatch


@dataclass
class LineChart:
    title: str
    description: str
    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]
    x_label: Text  # centred under the x axis
    y_label: Text  # above the y axis
    message: Text | None = None  # "No data" when there is nothing to draw


def _scale(lo: float, hi: float, left: float, right: float) -> Callable[[float], float]:
    """Data → px, clamped to [lo, hi] so that no mark leaves its plot."""
    span = (hi - lo) or 1.0
    return lambda value: left + (min(max(value, lo), hi) - lo) / span * (right - left)


def _x_tick(x: float, axis: float, text: str, anchor: str) -> Tick:
    """A tick mark below a horizontal axis at height `axis`, its label under it."""
    return Tick(_r(x), axis, _r(x), axis + 4, _r(x), axis + 15, text, anchor)


def _legend(items: Sequence[tuple[str, str]], x: float, y: float, sample: float) -> list[Swatch]:
    """Legend entries in a row from (x, baseline y): each a sample `sample` px wide, then its text."""
    swatches = []
    for css, text in items:
        swatches.append(Swatch(css, text, _r(x), _r(x + sample), _r(y - 9), 9, _r(x + sample + 4), _r(y)))
        x += sample + 4 + 6.5 * len(text) + 14  # about 6.5 px per character at the legend's font size
    return swatches


def _no_data(title: str) -> Text:
    return Text(f"{title}: no data", 8, 24, "s")


def _bar_entry(entry: Sequence) -> tuple[str, float, tuple[float, float] | None]:
    """(label, value) or (label, value, low, high): a bar, with its interval when there is one."""
    label, value = entry[0], float(entry[1])
    interval = (float(entry[2]), float(entry[3])) if len(entry) == 4 else None
    if interval is not None and not all(math.isfinite(v) for v in interval):
        interval = None
    return label, value, interval


def bar_chart(panels: Sequence[tuple[str, Sequence[tuple]]], *,
              title: str = "Strongest words for and against the class",
              for_text: str = "for", against_text: str = "against",
              classes: tuple[str, str] = (FOR, AGAINST), x_label: str = "score",
              signed: bool = True) -> BarChart:
    """Horizontal bars, one panel per model (e.g. base and fine-tuned): bars right of the zero line
    are evidence for the class, left of it against. One x scale, captioned `x_label` (its unit),
    serves every panel so bar lengths compare across models. Bars keep the order given, one row each.

    A bar given as (label, value, low, high) carries a confidence interval, drawn as a whisker
    across it; `classes` colour the bars right and left of zero (e.g. MORE, LESS for differences).
    An unsigned method's bars (`signed` False) get one legend entry, `for_text`, and no "against".
    """
    panels = [(name, [e for e in map(_bar_entry, bars) if math.isfinite(e[1])]) for name, bars in panels]
    values = [v for _, bars in panels for _, value, interval in bars for v in (value, *(interval or ()))]
    if not values:
        return BarChart(title, f"{title}: no data", PANEL_WIDTH, EMPTY_HEIGHT, [], message=_no_data(title))
    lo, hi = min(0.0, *values), max(0.0, *values)
    if lo == hi:
        lo, hi = -1.0, 1.0  # all zeros: any scale shows zero-width bars
    room_left, room_right = (VALUE_ROOM if lo < 0 else 8), (VALUE_ROOM if hi > 0 else 8)  # for value texts
    rows = max(len(bars) for _, bars in panels)
    bottom = TOP + rows * ROW
    height = bottom + AXIS_ROOM + CAPTION_ROOM + LEGEND_ROOM
    left, right = WORD_WIDTH + room_left, PANEL_WIDTH - room_right
    x_of = _scale(lo, hi, left, right)
    zero = x_of(0.0)
    out, described = [], []
    for name, bars in panels:
        shapes = []
        for row, (label, value, interval) in enumerate(bars):
            end = x_of(value)
            top = TOP + row * ROW + (ROW - BAR) / 2
            positive = value >= 0
            whisker, title_text, outer = None, f"{label}: {signed_figure(value, 4)}", end
            if interval is not None:
                low, high = x_of(min(interval)), x_of(max(interval))
                middle = top + BAR / 2
                whisker = Whisker(_r(low), _r(high), _r(middle), _r(middle - 4), _r(middle + 4))
                title_text += f" [{signed_figure(min(interval), 4)}, {signed_figure(max(interval), 4)}]"
                outer = max(end, high) if positive else min(end, low)
            shapes.append(Bar(
                label=_short(label), title=title_text, value=value, css=classes[0] if positive else classes[1],
                x=_r(min(zero, end)), y=_r(top), width=_r(abs(end - zero)), height=BAR,
                label_x=_r(WORD_WIDTH - 6), text_y=_r(top + BAR - 2), value_text=number(value),
                value_x=_r(outer + 4 if positive else outer - 4), value_anchor="s" if positive else "e",
                interval=whisker))
        ends = [(lo, left, "s"), (hi, right, "e")]
        ticks = [_x_tick(x, bottom, number(v), anchor) for v, x, anchor in ends if v != 0]
        if all(abs(zero - x) >= 28 for v, x, _ in ends if v != 0):  # else "0" would overlap an end's label
            ticks.append(_x_tick(zero, bottom, "0", "m"))
        empty = None if bars else Text("no words", _r((left + right) / 2), TOP + 12, "m")
        words = f"{name}: " + (", ".join(
            f"{label} {signed_figure(value)}" + (f" (interval {signed_figure(min(i))} to {signed_figure(max(i))})"
                                                 if i else "")
            for label, value, i in bars) or "no words")
        out.append(BarPanel(title=_short(name, 48), title_x=0, title_y=TOP - 10, zero_x=_r(zero),
                            plot_top=TOP - 2, plot_bottom=bottom, plot_left=left, plot_right=right, bars=shapes,
                            ticks=ticks, message=empty, description=f"{title}, in {x_label}. {words}."))
        described.append(words)
    legend = _legend([(classes[0], for_text), (classes[1], against_text)] if signed else [(classes[0], for_text)],
                     0, height - 5, 9)
    meaning = (f"Bars right of zero are {for_text}, left of zero {against_text}" if signed
               else f"Bar length is {for_text}")
    description = f"{title}, in {x_label}. {meaning}. " + "; ".join(described) + "."
    caption = Text(x_label, _r((left + right) / 2), bottom + AXIS_ROOM + 10, "m")
    return BarChart(title, description, PANEL_WIDTH, height, out, legend, x_label=caption)


def line_chart(x: Sequence[float], series: Sequence[tuple[str, Sequence[float], str]], *,
               title: str = "Deletion curve", x_label: str = "% of tokens removed",
               y_label: str = "probability") -> LineChart:
    """Lines of y in [0, 1] (a probability) over x in [0, 100] (% of tokens removed), with ticks and a
    legend; `series` are (name, ys, style), style one of LINE_STYLES. Non-finite points are left out."""
    for name, ys, style in series:
        if style not in LINE_STYLES:
            raise ValueError(f"line style '{style}' for '{name}': choose one of {', '.join(LINE_STYLES)}")
        if len(ys) != len(x):
            raise ValueError(f"series '{name}' has {len(ys)} values for {len(x)} x positions")
    x_of = _scale(0.0, 100.0, PLOT_LEFT, PLOT_RIGHT)
    y_of = _scale(0.0, 1.0, PLOT_BOTTOM, PLOT_TOP)
    drawn, described = [], []
    for name, ys, _ in series:
        points = [(a, b) for a, b in zip(x, ys) if math.isfinite(a) and math.isfinite(b)]
        drawn.append(" ".join(f"{_r(x_of(a))},{_r(y_of(b))}" for a, b in points))
        if points:
            (a0, b0), (a1, b1) = points[0], points[-1]
            described.append(f"{name} from {b0:.2f} at {a0:g} % to {b1:.2f} at {a1:g} %")
    captions = (Text(x_label, _r((PLOT_LEFT + PLOT_RIGHT) / 2), LINE_HEIGHT - 6, "m"),
                Text(y_label, 4, PLOT_TOP - 8, "s"))
    if not any(drawn):
        return LineChart(title, f"{title}: no data", LINE_WIDTH, EMPTY_HEIGHT, 0, 0, 0, 0, [], [], [], *captions,
                         message=_no_data(title))
    legend = _legend([(f"s{i % SERIES_CLASSES} {style}", name) for i, (name, _, style) in enumerate(series)],
                     PLOT_LEFT, 14, 18)
    lines = [Series(name, swatch.css, points, swatch) for (name, _, _), swatch, points in zip(series, legend, drawn)]
    x_ticks = [_x_tick(x_of(v), PLOT_BOTTOM, f"{v} %", "m") for v in (0, 25, 50, 75, 100)]
    y_ticks = [Tick(PLOT_LEFT, _r(y_of(v)), PLOT_RIGHT, _r(y_of(v)), PLOT_LEFT - 4, _r(y_of(v) + 4), f"{v:g}", "e")
               for v in (0, 0.25, 0.5, 0.75, 1)]
    return LineChart(title, f"{title}: {y_label} against {x_label}; " + "; ".join(described) + ".",
                     LINE_WIDTH, LINE_HEIGHT, PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM, x_ticks, y_ticks,
                     lines, *captions)
