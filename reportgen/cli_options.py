"""The command line's option groups, each written once and shared by the commands that take it.

Where an option belongs to an options dataclass, the group is made from that dataclass's declarations
(`option_spec.option` on its fields: keyword, default, help) and hands the command one built dataclass instead
of loose parameters (`declared_group`): the models (`loading.model_options.ModelOptions`, on `report`, `scan` and
`corpus`), what a report computes (`explain_options.ExplainOptions`, on `report` and `demo`, every method's
options among them), what a corpus's attributions are (`corpus.options.CorpusOptions`, on `corpus`, every
method's options among them too) and the view
(`rendering.view_options.ViewOptions`, on `report` and `render`). Nothing here judges a value: each dataclass's
`check()` does, once, naming the option as the command line spells it (`OptionError.for_cli`). Torch-free:
`--help` and these checks run before torch loads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import MISSING
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from reportgen import option_spec
from reportgen.corpus.options import CorpusOptions
from reportgen.errors import flag
from reportgen.explain_options import ExplainOptions
from reportgen.loading.model_options import BATCH_HELP, ModelOptions
from reportgen.option_spec import Declared
from reportgen.rendering.view_options import ViewOptions
from reportgen.scan.selection import DEFAULT_TOP, ORDERS, SELECTIONS


def with_options(command, options: list):
    """Apply Click options so that --help lists them in the order written."""
    for option in reversed(options):
        command = option(command)
    return command


def click_option(declared: Declared, help: str | None = None) -> Callable:
    """The Click option of a declared option: `--` + its keyword with dashes (an on/off `--x/--no-x` for a bool
    that is on by default), its default, help and metavar (`[a|b|c]` for a list of choices). Click converts the
    text to int or float where the declaration says so; the value is judged by the dataclass's `check()`."""
    spec = declared.spec
    stem = flag(declared.keyword)
    settings: dict[str, Any] = {"help": help or spec.help}
    if declared.default is MISSING:
        settings["required"] = True
    else:
        settings |= {"default": declared.default, "show_default": spec.show_default}
    if spec.type is bool:
        names = [f"{stem}/--no-{stem[2:]}"] if declared.default else [stem]
        settings["is_flag"] = True
    else:
        names = [stem]
        if spec.type is not None:
            settings["type"] = spec.type
    metavar = spec.metavar or ("[" + "|".join(spec.choices) + "]" if spec.choices else None)
    if metavar is not None:
        settings["metavar"] = metavar
    return click.option(*names, declared.keyword, **settings)


def declared_group(cls: type, into: str, *, helps: dict[str, str] | None = None, leave_out: tuple[str, ...] = ()):
    """A decorator giving a command every option `cls` declares, in field order, and the command one parameter
    `into`: the `cls` built from them (each command-line text through its `from_text`), not yet checked, told which
    options were typed rather than left at their defaults (`option_spec.GIVEN`).
    `helps`: a different help for some keywords on this command; `leave_out`: keywords this command does not
    take (they keep their defaults)."""
    declared = [d for d in option_spec.declared(cls) if d.keyword not in leave_out]

    def decorate(command):
        @functools.wraps(command)
        def built(*args, **params):
            given = {d.keyword: params.pop(d.keyword) for d in declared}
            source = click.get_current_context().get_parameter_source
            typed = [keyword for keyword in given if source(keyword) not in (ParameterSource.DEFAULT, None)]
            params[into] = option_spec.from_keywords(cls, given, text=True, explicit=typed)
            return command(*args, **params)

        return with_options(built, [click_option(d, (helps or {}).get(d.keyword)) for d in declared])

    return decorate


def model_options(command):
    """--base, --finetuned, --encoder, --pooling, --max-length, --device, --batch-size and --precision, as one
    `models: ModelOptions`; shared by every command that loads the models. --batch-size's help depends on the
    command (a scan has no backward passes), looked up by the command's name in `BATCH_HELP`."""
    return declared_group(ModelOptions, "models", helps={"batch_size": BATCH_HELP[command.__name__]})(command)


explain_options = declared_group(ExplainOptions, "explain_options")
"""What a report computes: every method's options (`MethodOptions`: --steps, --tolerance, --max-steps,
--quadrature, --shapley-samples, and any a new method declares), --target, --faithfulness/--no-faithfulness,
--naopc/--no-naopc and --include-paths, as one `explain_options: ExplainOptions` (the methods and the models'
settings are filled in by the command); on `report`."""

demo_explain_options = declared_group(ExplainOptions, "explain_options", leave_out=("include_paths",))
"""`explain_options` without --include-paths (the demo's models are its own cache's checkpoints); on `demo`."""

corpus_options = declared_group(CorpusOptions, "corpus_options")
"""What a corpus's attributions are: --method (one) and every method's options, as one
`corpus_options: CorpusOptions` (the models' settings are filled in by the command); on `corpus`."""

view_options = declared_group(ViewOptions, "view")
"""--scale and --granularity, as one `view: ViewOptions`: how a report looks, for `report` and `render` alike."""


def dataset_options(command):
    options = [
        click.option("--dataset", metavar="NAME_OR_PATH",
                     help="A hub dataset name (with --split), a save_to_disk directory, or a local "
                          ".csv/.tsv/.json/.jsonl/.parquet file (a .csv or .tsv is read with the delimiter its header "
                          "line uses: comma, tab or semicolon)."),
        click.option("--split", default="test", show_default=True, help="Split of a hub or saved dataset."),
        click.option("--text-column", metavar="NAME",
                     help="Text column (default: detected: text, review, sentence, …)."),
        click.option("--label-column", metavar="NAME",
                     help="Label column (default: detected: label, labels, sentiment, …; none is fine). Each row's "
                          "label is a class index or name; for multi-label models, a list of them (the row's true "
                          "labels, e.g. [0, 3])."),
        click.option("--label-names", metavar="A,B,…",
                     help="Class names in index order, each once, none empty, e.g. negative,positive. Default: the "
                          "dataset's class names; else the models' own (config id2label, unless transformers' "
                          "placeholders LABEL_0, LABEL_1, …); else class 0, class 1, …. Where the dataset and the "
                          "models both name the classes, the names must agree (case aside), as must the two models' "
                          "names; else name them here."),
    ]
    return with_options(command, options)


TOP_DEFAULT = {"corpus": "every selected row"}
"""--top's default where it is not DEFAULT_TOP: a corpus takes all the rows a scan selects."""


def from_scan_option(help: str):
    """--from-scan SCAN: a `reportgen scan` output to pick rows from, for `report` and `corpus`."""
    return click.option("--from-scan", type=click.Path(dir_okay=False, path_type=Path), metavar="SCAN", help=help)


def selection_options(command):
    """Which scanned rows to pick: shared by `scan` (prints them), `report --from-scan` (explains them) and
    `corpus --from-scan` (aggregates them)."""
    top_default = TOP_DEFAULT.get(command.__name__, DEFAULT_TOP)
    options = [
        click.option("--select", type=click.Choice(list(SELECTIONS)),
                     help="Rows to pick from the scan: " + "; ".join(f"{k}: {v}" for k, v in SELECTIONS.items())
                          + ". base-wrong and finetuned-wrong need labels."),
        click.option("--top", type=int, metavar="K", help=f"Pick the K most telling rows [default: {top_default}]."),
        click.option("--order", type=click.Choice(ORDERS), default="confidence", show_default=True,
                     help="confidence: the wrong model's probability for its wrong class, highest first; gap: how "
                          "far apart the two models' probabilities are (total-variation distance)."),
    ]
    return with_options(command, options)


def report_output_options(default_html: str, *, quiet: bool = True):
    """-o/--output, --json, --markdown and (where the command shows progress, `quiet`) -q/--quiet: the same for
    every command that writes a report."""

    def decorate(command):
        options = [
            click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=default_html,
                         show_default=True, help="The HTML report to write."),
            click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
                         help="Also write the results as JSON (same data as the HTML; `reportgen render` "
                              "turns it back into HTML)."),
            click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
                         help="Also write a Markdown summary (header facts, summary table, one sentence per "
                              "sample) for pasting into notes."),
        ]
        if quiet:
            options.append(click.option("-q", "--quiet", is_flag=True, help="No progress bars."))
        return with_options(command, options)

    return decorate


