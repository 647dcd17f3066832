"""`reportgen corpus`: attribute a whole selection of rows, on one process or many, then aggregate.

Every rank (one without torchrun) attributes its share of the rows still to do and writes them
as Parquet parts; rank 0 waits for the others, merges the parts, aggregates per word and writes
the HTML report, its JSON and the words' Parquet.
"""

from __future__ import annotations

import json
import random
import shlex
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from reportgen.api import ModelSpec, Selection
from reportgen.choices import AUTO_STEPS, ROLES
from reportgen.corpus.aggregate import aggregate, selection_flags
from reportgen.corpus.convergence import summarise_paths
from reportgen.corpus.document import corpus_document
from reportgen.corpus.facts import CorpusFacts
from reportgen.corpus.fit import summarise_fits
from reportgen.corpus.format import CORPUS_AGGREGATES_FORMAT
from reportgen.corpus.plausibility import plausibility_stats
from reportgen.corpus.run import CorpusOptions, RowAttributor, targets_for
from reportgen.corpus.statistics import AggregateOptions, Aggregates
from reportgen.corpus.store import META, CorpusStore, corpus_meta
from reportgen.distributed import (
    Ranks,
    SharedProgress,
    describe_devices,
    gather,
    session,
    shard,
    share_from_main,
    where_am_i,
)
from reportgen.errors import ReportgenError
from reportgen.loading.checks import ROWS_AT_A_TIME, check_rows, check_single_label, resolve_class_names
from reportgen.loading.data import Rows
from reportgen.loading.models import LoadedModel, check_max_length
from reportgen.output import check_writable, write_atomically
from reportgen.plausibility import rationale_spans
from reportgen.provenance import encoder_name, shareable_info, shareable_name, versions
from reportgen.rendering.views.corpus import directions, render_corpus
from reportgen.scan.predict import dataset_settings, model_settings
from reportgen.scan.reading import read_scan
from reportgen.scan.selection import SELECTIONS, format_outcomes
from reportgen.scan.to_report import check_scan_models
from reportgen.targets import class_index


@dataclass
class CorpusOutputs:
    """The report and, beside it by default, its aggregates (JSON, Parquet) and the per-row store."""

    html: Path
    json: Path | None = None
    words: Path | None = None
    scores: Path | None = None

    def __post_init__(self) -> None:
        self.json = self.json or self.html.with_suffix(".json")
        self.words = self.words or self.html.with_name(f"{self.html.stem}.words.parquet")
        self.scores = self.scores or self.html.with_name(f"{self.html.stem}-scores")

    def files(self) -> list[Path]:
        return [self.html, self.json, self.words]


@dataclass
class RowChoice:
    """Which of the selected rows to attribute: all, the first N, or N at random (seeded)."""

    limit: int | None = None
    sample: int | None = None
    seed: int = 0

    def check(self) -> None:
        if self.limit is not None and self.sample is not None:
            raise ReportgenError("give --limit (the first N rows) or --sample (N random rows), not both")
        for name, value in (("limit", self.limit), ("sample", self.sample)):
            if value is not None and value < 1:
                raise ReportgenError(f"--{name} must be at least 1 (got {value})")

    def apply(self, indices: list[int]) -> list[int]:
        if self.limit is not None:
            return indices[:self.limit]
        if self.sample is not None and self.sample < len(indices):
            return sorted(random.Random(self.seed).sample(indices, self.sample))
        return indices

    def describe(self, selection: Selection, chosen: int) -> str:
        """Which rows, in words, for the report's header."""
        if selection.from_scan is not None:
            what = f"the rows of {selection.from_scan.name} with {SELECTIONS[selection.select]}"
            what += f" (top {selection.top} by {selection.order})" if selection.top is not None else ""
        elif selection.indices:
            what = "the rows given by --indices"
        else:
            what = "the dataset"
        if self.limit is not None:
            return f"the first {chosen:,} of {what}"
        if self.sample is not None:
            return f"{chosen:,} random rows of {what} (seed {self.seed})"
        return what if what != "the dataset" else "every row of the dataset"


def parse_target_class(spec: str | None, class_names: list[str]) -> int | None:
    """--target-class: a class name or index; None keeps each row's true label."""
    return None if spec is None else class_index(spec, class_names, "target_class")


def _check_rationales(rows: Rows, indices: list[int], chunk: int = 1024) -> None:
    """Every selected row's rationale (--rationale-column) checked before any model loads or row is stored: a
    malformed one is a one-line error naming the row (`plausibility.rationale_spans`)."""
    if rows.rationale_column is None:
        return
    for start in range(0, len(indices), chunk):
        part = indices[start:start + chunk]
        for index, text, value in zip(part, rows.texts(part), rows.rationales(part) or []):
            rationale_spans(value, text, f"row {index}")


def report_command(models: ModelSpec, rows: Rows, options: CorpusOptions, include_paths: bool) -> str:
    """`reportgen report …` for one row of this corpus, without --indices and -o (the example adds them)."""
    name = str if include_paths else shareable_name
    encoder = models.encoder if include_paths else encoder_name(models.encoder)  # as the header names it
    parts = ["reportgen", "report", "--base", name(str(models.base)), "--finetuned", name(str(models.finetuned)),
             "--encoder", encoder, "--max-length", str(options.max_length), "--dataset", name(rows.name)]
    if models.pooling != "mean-all":
        parts += ["--pooling", models.pooling]
    if models.adapter_base:
        parts += ["--adapter-base", name(str(models.adapter_base))]
    if rows.split:
        parts += ["--split", rows.split]
    if rows.text_column != "text":
        parts += ["--text-column", rows.text_column]
    if rows.label_column not in (None, "label"):
        parts += ["--label-column", rows.label_column]
    if rows.class_names:
        parts += ["--label-names", ",".join(rows.class_names)]
    if rows.rationale_column is not None:
        parts += ["--rationale-column", rows.rationale_column]
    parts += ["--target", "label" if options.target_class is None else str(options.target_class),
              "--method", options.method]
    path = options.path_settings()
    if "shapley_samples" in path:
        parts += ["--shapley-samples", str(path["shapley_samples"])]
    elif "surrogate_samples" in path:
        parts += ["--surrogate-samples", str(path["surrogate_samples"])]
    elif path.get("steps") == AUTO_STEPS:
        parts += ["--tolerance", f"{path['tolerance']:g}", "--max-steps", str(path["max_steps"])]
    elif path:
        parts += ["--steps", str(path["steps"]), "--quadrature", path["quadrature"]]
    return " ".join(shlex.quote(p) for p in parts)


def run_corpus(models: ModelSpec, selection: Selection, options: CorpusOptions, statistics: AggregateOptions,
               choice: RowChoice, outputs: CorpusOutputs, *, target_class: str | None = None,
               overwrite: bool = False, include_paths: bool = False, progress: bool = True) -> Aggregates | None:
    """Check everything cheap first, then attribute, merge, aggregate and write (rank 0 returns the aggregates)."""
    started = time.perf_counter()
    options.check()
    statistics.check()
    choice.check()
    selection.check(all_rows=True)
    with session(models.device) as ranks:
        if ranks.is_main:
            check_writable(outputs.files() + [outputs.scores / META],
                           inputs=[models.base, models.finetuned, selection.dataset, selection.from_scan])
        rows, indices = selection.locate(all_rows=True, progress=progress)
        if rows.pair_column is not None:
            raise ReportgenError(f"`reportgen corpus` aggregates words of single texts; the scan's rows are sentence "
                                 f"pairs ({rows.text_column} + {rows.pair_column}): use `reportgen report --from-scan`")
        indices = choice.apply(indices)
        if not indices:
            raise ReportgenError("nothing to attribute: the selection holds no rows")
        _check_rationales(rows, indices)
        options.rationale_column = rows.rationale_column
        if target_class is None and rows.label_column is None:
            raise ReportgenError(f"{rows.name} has no label column, so the rows have no true class to explain toward: "
                                 "name it with --label-column, or give the class with --target-class")
        loaded = ModelSpec(models.base, models.finetuned, models.encoder, models.pooling, str(ranks.device),
                           models.tokenizer, models.adapter_base).load(progress)
        check_single_label(loaded, "corpus")
        check_max_length(loaded, options.max_length)
        if selection.from_scan is not None:
            check_scan_models(read_scan(selection.from_scan), loaded, options.max_length)
        class_names = resolve_class_names(loaded, rows.class_names, rows.names_source)
        rows = rows.named(class_names)  # a label written as a class name ("insult") reads as that class
        options.target_class = parse_target_class(target_class, class_names)
        _check_labels(rows, indices, len(class_names), options.target_class)
        settings = {**model_settings(loaded, options.max_length), **options.settings(), **dataset_settings(rows)}
        meta = corpus_meta(settings, class_names, [asdict(loaded[role].info) for role in ROLES])
        store, todo = _open_store(ranks, outputs.scores, meta, overwrite, indices)
        try:
            places = gather(where_am_i(ranks), ranks)
            attribution_seconds = _attribute(ranks, loaded, options, rows, store, todo, len(indices), progress)
            if not ranks.is_main:
                return None
            store.merge()
            selected = selection_flags(indices, len(rows))
            result = aggregate(store.read, selected, statistics)
            if rows.rationale_column is not None:
                result.plausibility = plausibility_stats(store.read, selected, statistics.bootstrap, statistics.seed)
            convergence = summarise_paths(store.read, selected, options.method_options.path.tolerance) \
                if options.integrated_gradients else None
            fit = summarise_fits(store.read, selected) if options.lime else None
            facts = CorpusFacts(
                models=[m.info if include_paths else shareable_info(m.info) for m in loaded.values()],
                class_names=class_names, dataset=rows.name if include_paths else shareable_name(rows.name),
                split=rows.split, selection=choice.describe(selection, len(indices)), method=options.method,
                path=options.path_settings(), convergence=convergence,
                target_class=options.target_class, max_length=options.max_length, precision=options.precision,
                devices=describe_devices(places), world_size=ranks.world_size, seconds=time.perf_counter() - started,
                attribution_seconds=attribution_seconds,
                computed=len(todo), reused=len(indices) - len(todo), created=store.meta["created"], versions=versions(),
                command_prefix=report_command(models, rows, options, include_paths),
                outputs=[outputs.json.name, outputs.words.name], fit=fit)
            _write(result, facts, outputs)
            _announce(result, outputs, directions(facts))
            return result
        except KeyboardInterrupt:
            raise  # the rows finished so far stay, for a rerun to resume from
        except BaseException:
            if ranks.is_main:
                store.discard()  # a failed corpus run removes the store it started
            raise


def _check_labels(rows: Rows, indices: list[int], num_classes: int, target_class: int | None) -> None:
    """Every row with a text and a label the models know, and (without --target-class) every row labelled:
    now, not after hours. Read a slice at a time, so memory stays small whatever the number of rows."""
    check_rows(rows, indices, num_classes)
    if target_class is None:
        for start in range(0, len(indices), ROWS_AT_A_TIME):
            chunk = indices[start:start + ROWS_AT_A_TIME]
            targets_for(chunk, rows.labels(chunk), target_class)


def _open_store(ranks: Ranks, folder: Path, meta: dict[str, Any], overwrite: bool,
                indices: list[int]) -> tuple[CorpusStore, list[int]]:
    """Rank 0 resumes or starts the store and finds the rows still to do; the others join it then.
    If rank 0 fails here, the store it started is removed."""
    todo = None
    if ranks.is_main:
        store = CorpusStore.prepare(folder, meta, overwrite=overwrite)
        try:
            done = store.done(meta["settings"]["dataset_rows"])
            todo = sorted(i for i in indices if not done[i])  # ascending: each writer's parts form a sorted run
            if len(todo) < len(indices):
                click.echo(f"Resuming {folder}: {len(indices) - len(todo):,} of the {len(indices):,} rows are "
                           f"already there, {len(todo):,} to go.", err=True)
            todo = share_from_main(todo, ranks)  # also the barrier: rank 0 has prepared the folder
        except BaseException:
            store.discard()
            raise
    else:
        todo = share_from_main(todo, ranks)
        store = CorpusStore.join(folder, meta, ranks.rank)
    return store, todo


def _attribute(ranks: Ranks, models: dict[str, LoadedModel], options: CorpusOptions, rows: Rows,
               store: CorpusStore, todo: list[int], total: int, progress: bool) -> float:
    """This rank's share of the rows, saved batch by batch; rank 0 returns once every rank is done.

    Returns the seconds from the first batch until every rank had finished.
    """
    started = time.perf_counter()
    writer = store.writer(ranks.rank)
    shared = SharedProgress(ranks, "corpus", total=total, initial=total - len(todo), enabled=progress)
    try:
        for batch in RowAttributor(models, options).batches(rows, shard(todo, ranks)):
            writer.write(batch)
            shared.advance(len(batch))
        shared.wait_for_others()
    except KeyboardInterrupt:
        click.echo(f"Interrupted: the rows finished so far are saved in {store.parts_dir}; run the same command "
                   "again to resume.", err=True)
        raise
    finally:
        shared.close()
    return time.perf_counter() - started


def _write(result: Aggregates, facts: CorpusFacts, outputs: CorpusOutputs) -> None:
    """The words' Parquet, the HTML and the JSON, together: all three change, or none does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    document = corpus_document(result, facts)
    about = document["meta"]
    table = pa.Table.from_pylist(result.word_table(), schema=_words_schema(about))
    words = pa.BufferOutputStream()  # the words' table is one row per word: small enough to hold
    pq.write_table(table, words)
    write_atomically({outputs.words: words.getvalue().to_pybytes(), outputs.html: render_corpus(result, facts),
                      outputs.json: json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"})


def _words_schema(about: dict[str, Any]):
    import pyarrow as pa

    fields = [pa.field("group", pa.string()), pa.field("word", pa.string()), pa.field("rows", pa.int64()),
              pa.field("occurrences", pa.int64())]
    fields += [pa.field(f"{part}_{key}", pa.float64()) for part in ("base", "finetuned", "difference")
               for key in ("mean", "low", "high")]
    return pa.schema(fields, metadata={CORPUS_AGGREGATES_FORMAT.encode(): json.dumps(about).encode("utf-8")})


def _announce(result: Aggregates, outputs: CorpusOutputs, moved: tuple[str, str]) -> None:
    if result.outcomes is not None:
        click.echo(format_outcomes(result.outcomes, done="attributed"), err=True)
    everything = result.groups["all"]
    for title, words in ((moved[1].capitalize(), everything.more), (moved[0].capitalize(), everything.less)):
        listed = ", ".join(f"{w.word} {100 * w.difference.mean:+.3g} pp" for w in words[:8])  # ASCII for any terminal
        click.echo(f"{title}: {listed or 'no word'}", err=True)
    click.echo(f"Wrote {outputs.html}, {outputs.json} and {outputs.words}; per-row scores in "
               f"{outputs.scores / 'rows.parquet'}.", err=True)
