"""The command line's option groups, each written once and shared by the commands that take it.

Where an option belongs to an options dataclass, the group is made from that dataclass's declarations
(`option_spec.option` on its fields: keyword, default, help) and hands the command one built dataclass instead
of loose parameters (`declared_group`): the models (`loading.model_options.ModelOptions`, on `report`, `scan` and
`corpus`), every method's options (`attribution.options.MethodOptions`, on `report`, `demo` and `corpus`) and the
view (`rendering.view_options.ViewOptions`, on `report` and `render`). Nothing here judges a value: each
dataclass's `check()` does, once, naming the option as the command line spells it (`OptionError.for_cli`).
Torch-free: `--help` and these checks run before torch loads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import MISSING
from pathlib import Path
from typing import Any

import click

from reportgen import option_spec
from reportgen.attribution.options import MethodOptions
from reportgen.choices import DEFAULT_TARGET
from reportgen.errors import flag
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


def declared_group(cls: type, into: str, *, helps: dict[str, str] | None = None):
    """A decorator giving a command every option `cls` declares, in field order, and the command one parameter
    `into`: the `cls` built from them (each command-line text through its `from_text`), not yet checked.
    `helps`: a different help for some keywords on this command."""
    declared = option_spec.declared(cls)

    def decorate(command):
        @functools.wraps(command)
        def built(*args, **params):
            given = {d.keyword: params.pop(d.keyword) for d in declared}
            params[into] = option_spec.from_keywords(cls, given, text=True)
            return command(*args, **params)

        return with_options(built, [click_option(d, (helps or {}).get(d.keyword)) for d in declared])

    return decorate


def model_options(command):
    """--base, --finetuned, --encoder, --pooling, --max-length, --device, --batch-size and --precision, as one
    `models: ModelOptions`; shared by every command that loads the models. --batch-size's help depends on the
    command (a scan has no backward passes), looked up by the command's name in `BATCH_HELP`."""
    return declared_group(ModelOptions, "models", helps={"batch_size": BATCH_HELP[command.__name__]})(command)


method_options = declared_group(MethodOptions, "method_options")
"""Every method's options (--steps, --tolerance, --max-steps, --quadrature, --shapley-samples, and any a new
method declares), as one `method_options: MethodOptions`; on `report`, `demo` and `corpus`."""

view_options = declared_group(ViewOptions, "view")
"""--scale and --granularity, as one `view: ViewOptions`: how a report looks, for `report` and `render` alike."""


def faithfulness_options(command):
    """--faithfulness/--no-faithfulness and --naopc/--no-naopc (report, demo)."""
    options = [
        click.option("--faithfulness/--no-faithfulness", default=True, show_default=True,
                     help="Measure each method's ERASER faithfulness per sample and model: comprehensiveness (how "
                          "much p(target) drops when the top 1/5/10/20/50 % of tokens are removed, averaged) and "
                          "sufficiency (how much it drops when only they are kept), beside the same numbers for random "
                          "orders; and the flip test (the fewest top-ranked words whose removal changes each model's "
                          "class). Forward passes only."),
        click.option("--naopc/--no-naopc", default=True, show_default=True,
                     help="Also normalise comprehensiveness and sufficiency by each text's best and worst orderings "
                          "(NAOPC, Edin et al. 2024), so the two models' numbers compare: at most 2 × tokens + 208 "
                          "forward rows per text and model (measured 2 × tokens + 25 on 256-token reviews, the largest "
                          "share of a report's time; exact search up to 8 tokens). Needs --faithfulness."),
    ]
    return with_options(command, options)


target_option = click.option(
    "--target", default=DEFAULT_TARGET, show_default=True,
    help="Class whose logit is explained: common (one class for both models, so both columns' colours "
         "mean the same: the true label when known, else the fine-tuned model's prediction), predicted "
         "(each model's own prediction), label, or a class index or name. Multi-label models (config "
         "problem_type multi_label_classification: a sigmoid per label, every label above 0.5 predicted) "
         "get one explanation per label: by default (common or predicted) each predicted label (the most "
         "probable one where none is above 0.5); with label each of the row's true labels (its label column may "
         "hold a list of them, e.g. [0, 3]: the page shows them and marks each explained label ✓ or ✗); or the "
         "one given here.")

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


