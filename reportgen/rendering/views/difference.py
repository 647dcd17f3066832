"""A method block's difference view: fine-tuned − base of the signed shares toward the common class, its top
lists with both models' shares, its notes, and the same in one line of Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field

from reportgen.comparison import most_changed
from reportgen.methods import is_signed, method_title
from reportgen.rendering.caveats import other_class, zero_attributions
from reportgen.rendering.colors import css_class, level_of
from reportgen.rendering.markdown import escape_inline
from reportgen.rendering.numbers import fixed, signed_figure, signed_pct
from reportgen.rendering.pieces import (
    LegendView,
    moved_words,
    toward_words,
)
from reportgen.rendering.sentences import mid_sentence
from reportgen.rendering.views.tokens import (
    TOP_K,
    TokenView,
    TopToken,
    Unit,
    max_abs,
    occurrence_labels,
    position,
    scale_legend,
    token_views,
    unit_marks,
    unit_scores,
    unit_shares,
)
from reportgen.results import (
    SampleResult,
)


@dataclass
class DifferenceView:
    target: str
    reason: str
    tokens: list[TokenView]
    legend: LegendView
    gained: list[TopToken]
    lost: list[TopToken]
    gained_heading: str  # "Moved toward positive"
    lost_heading: str  # "Moved toward negative" (two classes) or "Moved against c"
    colours: str
    notes: list[str] = field(default_factory=list)  # a model's all-zero attributions, another class than the columns'


SHOWN_PP = 0.05
"""The smallest change of a share, in pp, that the difference lists show (one decimal: 0.1 pp after rounding)."""


def difference(sample: SampleResult, method: str, pieces: list[Unit], class_names: list[str]) -> DifferenceView | None:
    """Fine-tuned − base of the signed shares toward the common class, with each listed word's two shares,
    and the notes that keep it from misleading (`caveats`)."""
    diff = sample.difference
    if diff is None or method not in diff.difference:
        return None
    values = unit_scores(pieces, diff.difference[method])
    raw = diff.scores.get(method, {})
    before, after = (unit_shares(pieces, raw[role]) if role in raw else None for role in ("base", "finetuned"))
    scale = max_abs(values)
    labels = ["[special]" if p.special else p.text for p in pieces]
    gained, lost = most_changed(labels, values, TOP_K, skip_labels={"[special]"})
    # a change that the page would show as ±0.0 pp did not move: it is no "moved toward" entry
    gained, lost = ([(i, v) for i, v in items if abs(v) >= SHOWN_PP / 100] for items in (gained, lost))
    against, toward = moved_words(is_signed(method), toward_words(class_names, diff.target))
    occurrences = occurrence_labels(pieces)  # "movie (2)", as the chart labels a repeated word

    def top(items: list[tuple[int, float]]) -> list[TopToken]:
        return [TopToken(occurrences[i], position(pieces[i]), f"{fixed(100 * v, 1, signed=True)} pp",
                         css_class(level_of(v, scale), "difference"),
                         f"{signed_pct(before[i])} → {signed_pct(after[i])}" if before and after else "")
                for i, v in items]

    return DifferenceView(
        target=class_names[diff.target], reason=diff.reason,
        tokens=token_views(pieces, values, diff.difference[method], scale, "difference", sample.tokens,
                           marked=unit_marks(sample, pieces)),
        legend=scale_legend("Change of the share, pp", scale, "difference", (against, toward),
                            lambda v: f"{signed_figure(100 * v, 2)} pp"),
        gained=top(gained), lost=top(lost), gained_heading=toward.capitalize(), lost_heading=against.capitalize(),
        colours=f"Teal: {toward} after fine-tuning; brown: {against}.",
        notes=other_class(diff.target, {m.target for m in sample.models.values()}, class_names)
        + zero_attributions(raw, class_names[diff.target]))


def changed_line(view: DifferenceView | None, method: str) -> str:
    """The difference view's lists as one line of Markdown, each word with both models' shares."""
    if view is None:
        return ""
    groups = [f"{heading}: " + (", ".join(f"*{escape_inline(t.token)}* {t.score} ({t.shares})" for t in items)
                                or "no word")
              for heading, items in ((view.gained_heading, view.gained), (view.lost_heading, view.lost))]
    return (f"Fine-tuned − base ({mid_sentence(method_title(method))}, shares toward {escape_inline(view.target)}): "
            + "; ".join(groups) + "." + "".join(f" {escape_inline(note)}" for note in view.notes))
