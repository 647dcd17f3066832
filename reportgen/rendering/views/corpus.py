"""Turn a corpus's aggregates into exactly what `templates/corpus.html.j2` prints.

Every number is formatted, every shade chosen and every chart laid out here (with the report's
colour scale and chart geometry), so the template only places strings; it autoescapes them all.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from reportgen.choices import AUTO_STEPS, ROLES
from reportgen.corpus.facts import CorpusFacts
from reportgen.corpus.statistics import CONFIDENCE, Aggregates, Example, GroupStats, WordStats
from reportgen.methods import REGISTRY, is_signed, method_title
from reportgen.rendering import pieces
from reportgen.rendering.charts import LESS, MORE, BarChart, bar_chart
from reportgen.rendering.colors import LEVELS, css_class, level_of
from reportgen.rendering.html import environment
from reportgen.rendering.numbers import fixed, interval, pp, relative, share
from reportgen.rendering.sentences import mid_sentence
from reportgen.rendering.views.corpus_plausibility import CorpusPlausibilityView, corpus_plausibility
from reportgen.rendering.views.tokens import TokenView

GROUP_WORDS = 5  # words per direction in each outcome group's tables (all of them are in the JSON)
FLOOR_NOTE = ("Attention methods pass relevance along the residual path too, so every wordpiece keeps a floor of "
              "about 1/max-length of a model's influence (for --pooling mean-all, a mean over all positions): a "
              "word's share grows with its number of wordpieces, and both models' shares sit close to 1/(tokens in "
              "the row). "
              "The floor cancels in fine-tuned − base, but on the demo's models what was left did not rank words "
              "like integrated gradients did; for corpus statistics prefer --method gradient (the default) or "
              "integrated-gradients (docs/corpus.md).")


@dataclass
class WordRow:
    word: str
    anchor: str  # its examples' section, when it has one
    rows: str
    base: str
    finetuned: str
    difference: str
    relative: str
    interval: str
    clear: bool  # the interval excludes zero
    css: str  # the difference's shade


@dataclass
class ExampleView:
    heading: str
    verdicts: str
    change: str
    columns: list[tuple[str, list[TokenView]]]  # (title, tokens): base, fine-tuned, their difference
    command: str


@dataclass
class WordExamples:
    word: str
    anchor: str
    summary: str
    examples: list[ExampleView]


@dataclass
class GroupView:
    title: str
    rows: str
    more: list[WordRow]
    less: list[WordRow]
    more_heading: str
    less_heading: str
    words: int  # words with at least min-count rows in the group
    empty: str  # what to say when no word has enough rows


@dataclass
class CorpusView(pieces.PageView):
    accuracy: list[tuple[str, str]]
    outcome_cells: list[list[str]] | None
    disagree: str
    normalisation: str
    ranking: str
    more: list[WordRow]
    less: list[WordRow]
    more_heading: str  # "Moved toward the true class" or "Moved toward positive"
    less_heading: str
    colours: str  # what the difference's shades mean
    chart: BarChart
    examples: list[WordExamples]
    groups: list[GroupView]
    legends: list[pieces.LegendView]
    notes: list[str]
    levels: int = LEVELS
    plausibility: CorpusPlausibilityView | None = None  # with --rationale-column


def _word_row(w: WordStats, scale: float, listed: dict[str, str]) -> WordRow:
    return WordRow(word=w.word, anchor=listed.get(w.word, ""), rows=f"{w.rows:,}",
                   base=share(w.base.mean), finetuned=share(w.finetuned.mean), difference=pp(w.difference.mean),
                   relative=relative(w.difference.mean, w.base.mean),
                   interval=interval(w.difference.low, w.difference.high), clear=w.difference.excludes_zero,
                   css=css_class(level_of(w.difference.mean, scale), "difference"))


def _class_name(names: list[str], value: int | None) -> str:
    if value is None:
        return "unknown"
    return names[value] if 0 <= value < len(names) else str(value)


def _verdict(names: list[str], predicted: int, probability: float, label: int | None) -> str:
    shown = pieces.mark(predicted, label)
    return f"{_class_name(names, predicted)} ({probability:.2f})" + (f" {shown}" if shown else "")


def _snippet(example: Example, values: list[float], scale: float, kind: str, what: str,
             number: Callable[[float], str]) -> list[TokenView]:
    """One column of an example: the words around the word, shaded like a report column, "…" where cut."""
    tokens = [TokenView("…", "", "cut", "z cut", "")] if example.cut_before else []
    for position, (word, value) in enumerate(zip(example.snippet, values)):
        level = level_of(abs(value) if kind == "unsigned" else value, scale)
        tokens.append(TokenView(word.text, repr(value), f"{word.text} {number(value)} {what}",
                                css_class(level, kind) + (" focus" if word.focus else ""),
                                word.lead if position or example.cut_before else ""))
    if example.cut_after:
        tokens.append(TokenView("…", "", "cut", "z cut", " "))
    return tokens


def _example_view(example: Example, facts: CorpusFacts, kind: str) -> ExampleView:
    names = facts.class_names
    values = {role: [getattr(w, role) for w in example.snippet] for role in ROLES}
    values["difference"] = [f - b for b, f in zip(values["base"], values["finetuned"])]
    shared = max((abs(v) for role in ROLES for v in values[role]), default=0.0)
    columns = [(pieces.role_title(role),
                _snippet(example, values[role], shared, kind,
                         f"of the {pieces.role_title(role).lower()} model's influence", share))
               for role in ROLES]
    columns.append(("Fine-tuned − base", _snippet(example, values["difference"],
                                                  max((abs(v) for v in values["difference"]), default=0.0),
                                                  "difference", "fine-tuned − base", pp)))
    index = example.index
    return ExampleView(
        heading=f"Row {index}" + (f" · true label {_class_name(names, example.label)}" if example.label is not None
                                  else ""),
        verdicts=f"Base {_verdict(names, example.base_pred, example.base_prob, example.label)} · fine-tuned "
                 f"{_verdict(names, example.finetuned_pred, example.finetuned_prob, example.label)}",
        change=f"“{example.snippet[[w.focus for w in example.snippet].index(True)].text}” here: base "
               f"{share(example.base_share)} → fine-tuned {share(example.finetuned_share)} of the model's influence "
               f"({pp(example.finetuned_share - example.base_share)})",
        columns=columns,
        command=f"{facts.command_prefix} --indices {index} -o {shlex.quote(f'row-{index}.html')}")


def directions(facts: CorpusFacts) -> tuple[str, str]:
    """What the two signs of the difference mean: moved toward / against the class every row explains
    (gained / lost share for an unsigned method)."""
    toward = (("against the true class", "toward the true class") if facts.target_class is None
              else pieces.toward_words(facts.class_names, facts.target_class))
    return pieces.moved_words(is_signed(facts.method), toward)


def _group_view(group: GroupStats, total: int, listed: dict[str, str], scale: float, min_count: int,
                moved: tuple[str, str]) -> GroupView:
    rows = f"{group.rows:,} rows" + (f" ({100 * group.rows / total:.1f} %)" if total and group.name != "all" else "")
    return GroupView(title=group.title[0].upper() + group.title[1:], rows=rows,
                     more=[_word_row(w, scale, listed) for w in group.more[:GROUP_WORDS]],
                     less=[_word_row(w, scale, listed) for w in group.less[:GROUP_WORDS]],
                     more_heading=moved[1].capitalize(), less_heading=moved[0].capitalize(),
                     words=len(group.words),
                     empty=f"No word occurs in {min_count} or more of these rows; lower --min-count to see some.")


def _header(facts: CorpusFacts, aggregates: Aggregates) -> list[tuple[str, str]]:
    method = method_title(facts.method)
    if facts.path:
        method += ", " + _path_text(facts, facts.convergence is not None
                                    and any(p.on_scores for p in facts.convergence.values()))
    data = facts.dataset or "—"
    if facts.split:
        data += f", split {facts.split}"
    target = ("each row's true label" if facts.target_class is None
              else f"{_class_name(facts.class_names, facts.target_class)} for every row")
    rows = f"{aggregates.rows:,} ({facts.selection})"
    work = (f"{pieces.duration(facts.seconds)} in all; {facts.computed:,} rows attributed in "
            f"{pieces.duration(facts.attribution_seconds)}")
    if facts.computed:
        work += f" ({facts.computed / max(facts.attribution_seconds, 1e-9):.2f} rows/s)"
    if facts.reused:
        work += f"; {facts.reused:,} reused from earlier runs"
    options = aggregates.options
    convergence = [("Convergence", _convergence_text(facts))] if facts.convergence else []
    if facts.fit:
        convergence.append(("Surrogate fit", _fit_text(facts)))
    return [("Data", data), ("Rows", rows), ("Method", method), *convergence, ("Target", target),
            ("Max length", f"{facts.max_length} tokens"),
            ("Devices", f"{facts.devices} · {facts.precision} · world size {facts.world_size}"),
            ("Time taken", work),
            ("Statistics", f"words in ≥ {options.min_count} rows · {options.bootstrap:,} bootstrap replicates "
                           f"(seed {options.seed}) · "
                           + ("punctuation included" if options.keep_punctuation
                              else "words with a letter or digit only")),
            ("Created", facts.created), ("Versions", pieces.versions_line(facts.versions))]


def _path_text(facts: CorpusFacts, on_scores: bool) -> str:
    """The method's own settings in words; `on_scores`: the rows were judged by the convergence rule, with the guard
    of the estimator the file names (else by the delta alone, as corpus files written before the score error were)."""
    path = facts.path
    if "shapley_samples" in path:
        return f"{path['shapley_samples']} random orders of the words per row (Captum)"
    if "surrogate_samples" in path:
        return f"{path['surrogate_samples']} sampled coalitions of the words per row (Captum)"
    if path["steps"] == AUTO_STEPS:
        return pieces.auto_steps(path["quadrature"], path["tolerance"], path["max_steps"], on_scores=on_scores,
                                 estimator=facts.estimator)
    return pieces.fixed_steps(path["steps"], path["quadrature"])


def _convergence_text(facts: CorpusFacts) -> str:
    """Per model: the steps its rows took, and how many did not converge (judged by the delta alone: how many did not
    add up within the tolerance)."""
    parts = []
    for role in ROLES:
        paths = facts.convergence[role]
        tolerance = paths.tolerance
        spread = (f"{paths.fewest_steps} steps" if paths.fewest_steps == paths.most_steps else
                  f"{paths.fewest_steps}–{paths.most_steps} steps (median {paths.median_steps}, mean "
                  f"{paths.mean_steps:.0f})")
        if paths.on_scores:
            missed = ("every row converged" if paths.above_tolerance == 0 else
                      f"{paths.above_tolerance:,} of {paths.rows:,} rows not converged (worst delta "
                      f"{100 * paths.worst_relative_delta:.1f} % of F(x)−F(x′))")
        else:
            missed = (f"every row within {100 * tolerance:g} %" if paths.above_tolerance == 0 else
                      f"{paths.above_tolerance:,} of {paths.rows:,} rows above {100 * tolerance:g} % (worst "
                      f"{100 * paths.worst_relative_delta:.1f} %)")
        if paths.above_tolerance:  # the advice beside the model whose rows it is about
            missed += (" — raise --max-steps to bring them within" if facts.path["steps"] == AUTO_STEPS
                       else " — --steps auto refines each row until it is within")
        parts.append(f"{pieces.role_title(role)}: {spread}, {missed}")
    return "; ".join(parts)


def _fit_text(facts: CorpusFacts) -> str:
    """Per model: LIME's adjusted R² over the rows, and how many rows fit poorly or could not be measured."""
    parts = []
    for role in ROLES:
        fits = facts.fit[role]
        measured = fits.rows - fits.not_measurable
        counts = []
        if measured:
            counts.append(f"adjusted R² mean {fixed(fits.mean_fit, 2)} (lowest {fixed(fits.lowest_fit, 2)})")
            counts.append(f"{fits.poor:,} of {fits.rows:,} rows below {fits.threshold:g}" if fits.poor
                          else f"none below {fits.threshold:g}")
        if fits.not_measurable:
            counts.append(f"{fits.not_measurable:,} of {fits.rows:,} rows not measurable" if measured
                          else f"all {fits.rows:,} rows not measurable")
        parts.append(f"{pieces.role_title(role)}: {', '.join(counts)}")
    advice = ""
    if any(f.not_measurable for f in facts.fit.values()):
        advice = (" — a fit is not measurable with fewer samples than words + 2; raise --surrogate-samples to measure "
                  "every row")
    elif any(f.poor for f in facts.fit.values()):
        advice = " — on those rows the model does not act like a sum of word effects, and LIME describes it poorly"
    return "; ".join(parts) + advice


def build_corpus_view(aggregates: Aggregates, facts: CorpusFacts) -> CorpusView:
    all_rows = aggregates.groups["all"]
    kind = "signed" if is_signed(facts.method) else "unsigned"
    listed = {w.word: f"word-{n}" for n, w in enumerate(all_rows.more + all_rows.less, start=1)}
    scale = max((abs(w.difference.mean) for w in all_rows.more + all_rows.less), default=0.0)
    outcomes = aggregates.outcomes
    accuracy = []
    if outcomes is not None:
        for role in ROLES:
            value = outcomes.accuracy(role)
            right = round(value * outcomes.labelled)
            accuracy.append((pieces.role_title(role), f"{100 * value:.1f} % ({right:,} of {outcomes.labelled:,})"))
    chart_bars = [(w.word, 100 * w.difference.mean, 100 * w.difference.low, 100 * w.difference.high)
                  for w in all_rows.more + all_rows.less[::-1]]
    against, toward = directions(facts)
    chart = bar_chart([("Fine-tuned − base", chart_bars)],
                      title=f"Words whose share changed most after fine-tuning ({100 * CONFIDENCE:.0f} % intervals)",
                      for_text=toward, against_text=against, classes=(MORE, LESS),
                      x_label="change of the share of |attribution|, pp")
    examples = []
    for w in all_rows.more + all_rows.less:
        items = aggregates.examples.get(w.word, [])
        change = f"{pp(w.difference.mean)} {interval(w.difference.low, w.difference.high)}"
        examples.append(WordExamples(w.word, listed[w.word], f"{change} over {w.rows:,} rows",
                                     [_example_view(e, facts, kind) for e in items]))
    explained = ("the true class" if facts.target_class is None
                 else _class_name(facts.class_names, facts.target_class))
    if kind == "signed":
        question = (f"per word, toward {explained} (blue: for it, red: against it). Which words' shares moved toward "
                    f"{explained} after fine-tuning, and which away from it?")
    else:
        question = (f"per word, for {explained} (magnitude only: the method does not say for or against). Which "
                    "words gained a share of the model's influence after fine-tuning, and which lost it?")
    clear = sum(w.difference.excludes_zero for w in all_rows.words)
    notes = [f"Of the {len(all_rows.words):,} words in at least {aggregates.options.min_count} rows, {clear:,} have a "
             f"{100 * CONFIDENCE:.0f} % interval of the difference that excludes zero."]
    if facts.outputs:
        notes.append("Every word's statistics, per outcome group, are in " + " and ".join(facts.outputs) + ".")
    if facts.method in REGISTRY and REGISTRY[facts.method].needs == "attention":
        notes.append(FLOOR_NOTE)
    return CorpusView(
        title="What fine-tuning changed — base vs fine-tuned",
        lede=f"Across {aggregates.rows:,} rows, both models' {mid_sentence(method_title(facts.method))} scores, "
             f"{question}",
        models=[(pieces.role_title(m.role), pieces.describe_model(m, facts.precision)) for m in facts.models],
        header=_header(facts, aggregates),
        accuracy=accuracy,
        outcome_cells=outcomes.cells() if outcomes is not None else None,
        disagree=(f"The models disagree on {outcomes.disagree:,} rows." if outcomes is not None else
                  "The rows have no labels, so there is no accuracy and no table of outcomes."),
        normalisation=(f"{pieces.shares_and_difference({kind == 'signed'})} A word's mean share is taken over its "
                       "occurrences in the rows that contain it."),
        ranking=(f"Intervals: {100 * CONFIDENCE:.0f} % percentile intervals from {aggregates.options.bootstrap:,} "
                 f"Poisson-bootstrap replicates over rows (seed {aggregates.options.seed}). Words are ranked by the "
                 "end of the interval nearest zero, so a word ranks high only when the change is both large and "
                 "sure; a word whose interval includes zero is shown in grey."),
        more=[_word_row(w, scale, listed) for w in all_rows.more],
        less=[_word_row(w, scale, listed) for w in all_rows.less],
        more_heading=toward.capitalize(), less_heading=against.capitalize(),
        colours=f"teal: {toward} after fine-tuning, brown: {against}",
        chart=chart, examples=examples,
        groups=[_group_view(g, aggregates.rows, listed, scale, aggregates.options.min_count, (against, toward))
                for name, g in aggregates.groups.items() if name != "all"],
        shades=pieces.all_shades(),
        legends=[_legend("Model columns: share of the model's influence", kind, ("against", "for")),
                 _legend("Fine-tuned − base", "difference", (against, toward))],
        notes=notes, generator=pieces.generator(facts.versions),
        plausibility=corpus_plausibility(aggregates.plausibility, aggregates.rows, aggregates.options.bootstrap,
                                         mid_sentence(method_title(facts.method))))


def _legend(caption: str, kind: str, words: tuple[str, str]) -> pieces.LegendView:
    """A snippet's scale runs from 0 (or −max) to the largest |value| in that snippet."""
    return pieces.legend(caption, kind, "−max", "max", words)


def render_corpus(aggregates: Aggregates, facts: CorpusFacts) -> str:
    return environment().get_template("corpus.html.j2").render(view=build_corpus_view(aggregates, facts))
