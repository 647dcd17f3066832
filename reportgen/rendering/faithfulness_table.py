"""Faithfulness numbers as the page prints them: one AOPC (normalised or raw, never both kinds side by
side) and the closing table of means per method and model, with its most faithful method.

A report with normalised values (NAOPC) prints them everywhere they compare models; where a text has
none (every ordering of its words scores alike for that model) the cell says "n/a" with the raw AOPC
in its hover, rather than a raw number in a normalised column. A model that the closing table cannot
average, or whose attributions are all zero, keeps its rows, with a note that says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.faithfulness.summary import (
    RESOLUTION,
    MeanScores,
    Ranking,
    beats_random,
    has_normalised,
    is_normalised,
    mean_scores,
    most_faithful,
)
from reportgen.methods import method_title
from reportgen.rendering.numbers import fixed
from reportgen.rendering.pieces import role_title
from reportgen.rendering.sentences import mid_sentence
from reportgen.results import Faithfulness, Report, Score

NOT_DEFINED = "n/a"
"""What a normalised cell shows where the text has no normalised value."""
ALIKE = "every ordering of the words scores alike for this model"


@dataclass
class Number:
    """A number as shown, with what a hover adds (the raw AOPC behind a normalised value)."""

    text: str
    title: str = ""


def shown_score(score: Score, random: bool = False, normalised: bool = False) -> Number:
    """One AOPC as shown. With `normalised` (the report has NAOPC values): the NAOPC, the raw AOPC in the
    hover, or `NOT_DEFINED` where this text has none; else the raw AOPC (probability units, 3 decimals)."""
    raw = score.random if random else score.value
    value = score.random_normalised if random else score.normalised
    if not normalised:
        return Number(fixed(raw, 3), f"raw AOPC {fixed(raw, 3)}")
    if value is None:
        return Number(NOT_DEFINED, f"no normalised value: {ALIKE} on this text (within fp32 rounding), so there "
                                   f"is nothing to normalise by; raw AOPC {fixed(raw, 3)}")
    return Number(fixed(value, 2), f"NAOPC {fixed(value, 2)} (normalised), raw AOPC {fixed(raw, 3)}")


UNDEFINED = "undefined (every ordering scores alike)"
"""A column's verdict where neither score has a normalised value: nothing to judge, not a poor ranking."""


def sample_verdict(f: Faithfulness, normalised: bool = False) -> tuple[str, str]:
    """One column's faithfulness verdict and its CSS class ("good", "mixed", "poor", "undefined"), judged on the
    numbers the column shows (`summary.beats_random`: the normalised values where the report has them, to
    `summary.RESOLUTION`): "beats random on both", "no better than random on comprehensiveness; sufficiency
    undefined", `UNDEFINED`."""
    judged = dict(zip(("comprehensiveness", "sufficiency"), beats_random(f, normalised)))
    defined = {name: ok for name, ok in judged.items() if ok is not None}
    if not defined:
        return UNDEFINED, "undefined"
    css = "good" if all(defined.values()) else "poor" if not any(defined.values()) else "mixed"
    if len(defined) < len(judged):
        (name, ok), = defined.items()
        missing = next(other for other in judged if other not in defined)
        return f"{'beats random' if ok else 'no better than random'} on {name}; {missing} undefined", css
    comprehensiveness, sufficiency = defined["comprehensiveness"], defined["sufficiency"]
    verdict = ("beats random on both" if comprehensiveness and sufficiency else
               "beats random on comprehensiveness only" if comprehensiveness else
               "beats random on sufficiency only" if sufficiency else "no better than random")
    return verdict, css


def digits(normalised: bool) -> int:
    """Decimals of a mean in the closing table: one unit of the last is `summary.RESOLUTION`."""
    return 2 if normalised else 3


@dataclass
class FaithfulnessRow:
    method: str
    role: str
    comprehensiveness: str
    random_comprehensiveness: str
    sufficiency: str
    random_sufficiency: str
    best: bool
    note: str = ""  # why the numbers are missing, cover fewer samples, or judge no ranking; "" when they speak


def _row(method: str, role: str, measures: list[Faithfulness], zero: bool,
         normalised: bool) -> tuple[FaithfulnessRow, MeanScores | None]:
    """One method's row for one model, and its means (None where none could be taken)."""
    means = mean_scores(measures, normalised)
    notes = []
    if zero:
        notes.append("its attributions are all zero on every sample, so it ranks no word above another")
    if means is None:
        notes.append(f"{ALIKE} on every sample, so there is no normalised value to average")
        cells = [NOT_DEFINED] * 4
    else:
        used = sum(map(is_normalised, measures)) if normalised else len(measures)
        if used < len(measures):
            notes.append(f"mean over {used} of {len(measures)} samples: on the others {ALIKE} (no normalised "
                         "value)")
        places = digits(normalised)
        cells = [fixed(v, places) for v in (means.comprehensiveness, means.random_comprehensiveness,
                                            means.sufficiency, means.random_sufficiency)]
    note = "; ".join(notes)
    return FaithfulnessRow(method_title(method), role_title(role), *cells, False,
                           note[:1].upper() + note[1:] + "." if note else ""), means


def _listed(titles: list[str]) -> str:
    """"Integrated gradients, gradient × input and occlusion": method titles in a sentence."""
    names = [titles[0], *map(mid_sentence, titles[1:])]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _verdict(role: str, ranking: Ranking, normalised: bool) -> str:
    """The closing sentence for one model: its most faithful method, or why none is named."""
    places = digits(normalised)
    what = f"mean {'normalised ' if normalised else ''}comprehensiveness − sufficiency"
    unit = f"{RESOLUTION[normalised]:.{places}f}"
    margin, random_margin = (fixed(v, places, signed=True) for v in (ranking.margin, ranking.random_margin))
    if ranking.winner is not None:
        return (f"{role_title(role)}: {method_title(ranking.winner)} was the most faithful method on these "
                f"samples ({what} {margin}).")
    if not ranking.beats_random:
        return (f"{role_title(role)}: no method was more faithful than random orders on these samples (the best "
                f"{what}, {margin}, is not above the random orders' {random_margin} by more than {unit}), so "
                "none is named the most faithful.")
    listed = _listed([method_title(m) for m in ranking.tied])
    return (f"{role_title(role)}: no single method was the most faithful on these samples: {listed} are within "
            f"{unit} of each other ({what} up to {margin}).")


def faithfulness_table(report: Report) -> tuple[list[FaithfulnessRow], list[str]]:
    """Mean metrics per method and model over the report's samples, and a verdict per model.

    "Most faithful" = the largest mean (comprehensiveness − sufficiency), ahead of the random orders and of
    every other method by more than the page shows (`summary.most_faithful`). The means are of the
    normalised values (NAOPC) where the report has them, so they compare across the models; else of the
    raw AOPC. A model keeps its rows where no mean can be taken, with a note saying why.
    """
    rows, verdicts = [], []
    normalised = report_is_normalised(report)
    for info in report.meta.models:
        role = info.role
        means, role_rows, missing, zeros = {}, [], [], []
        for method in report.meta.methods:
            results = [s.models[role].methods[method] for s in report.samples]
            measures = [r.faithfulness for r in results if r.faithfulness is not None]
            if not measures:
                continue
            zero = all(score == 0 for r in results for score in r.scores)
            row, mean = _row(method, role, measures, zero, normalised)
            role_rows.append(row)
            if mean is None:
                missing.append(method_title(method))
            elif zero:  # all-zero attributions rank no word: such a method is never the most faithful
                zeros.append(method_title(method))
            else:
                means[method] = mean
        rows += role_rows
        if len(role_rows) < 2:
            continue
        if missing or not means:  # a method that cannot be averaged cannot be ranked: no winner beside it
            unranked = missing or zeros
            why = "could not be averaged" if missing else f"rank{'s' if len(zeros) == 1 else ''} no word"
            verdicts.append(f"{role_title(role)}: no method is named the most faithful: {_listed(unranked)} {why} "
                            f"(the table's note{'s say' if len(unranked) > 1 else ' says'} why).")
            continue
        ranking = most_faithful(means, normalised)
        if ranking is None:
            continue
        for row in role_rows:
            row.best = ranking.winner is not None and row.method == method_title(ranking.winner)
        verdicts.append(_verdict(role, ranking, normalised))
    return rows, verdicts


def report_is_normalised(report: Report) -> bool:
    """Whether the report's faithfulness numbers are NAOPC: it computed them (schema 4 without --no-naopc,
    so each model of a sample keeps its `aopc_bounds`), even where every text's are undefined (every
    ordering scores alike: its cells say n/a), or it carries normalised values."""
    return any(model.aopc_bounds for s in report.samples for model in s.models.values()) or \
        has_normalised([f for s in report.samples for m in s.models.values() for r in m.methods.values()
                        if (f := r.faithfulness) is not None])
