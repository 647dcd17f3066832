"""Open the rows to explain: a hub dataset, a `save_to_disk` directory, or a local data file.

All sources end up as a `datasets.Dataset` plus the names of its text and label columns, so the
rest of reportgen sees one kind of table.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.hub import first_line, hub_unavailable, looks_like_path, offline_variable
from reportgen.loading.labels import DATASET, GIVEN
from reportgen.loading.library_bars import datasets_bars
from reportgen.loading.library_logs import held_library_logs
from reportgen.loading.true_labels import Label, Written, class_labels, written_label

TEXT_COLUMNS = ("text", "review", "sentence", "content", "document", "comment", "body")
LABEL_COLUMNS = ("label", "labels", "sentiment", "class", "target", "y")
FILE_BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
DATA_FILES = "/".join(FILE_BUILDERS)
"""The data files reportgen reads, as messages name them: .csv/.tsv/.json/.jsonl/.parquet."""
DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon"}
"""The delimiters of a .csv or .tsv, by name: the one its header line uses is the one it is read with."""


@dataclass
class Rows:
    """A dataset reduced to what a report needs: text, optional label (a class index or name, or for a multi-label
    data set the list of a row's true labels), class names and where they come from (`names_source`:
    `labels.GIVEN` for --label-names, `labels.DATASET` for the dataset's label feature), and once the models are
    loaded the names their classes resolved to (`classes`, set by `named`), through which labels are read."""

    name: str
    split: str | None
    dataset: datasets.Dataset  # noqa: F821 (imported lazily: `datasets` is slow to import)
    text_column: str
    label_column: str | None
    class_names: list[str] | None
    pair_column: str | None = None  # sentence pairs: the column of each row's second text
    names_source: str | None = None  # labels.GIVEN or labels.DATASET; None without class_names
    classes: list[str] | None = None  # the models' class names (`named`): labels written as names read through them
    rationale_column: str | None = None  # human rationales: character spans or evidence strings of each row's text

    @property
    def segment_names(self) -> list[str] | None:
        """A pair's two texts named after their columns ("Premise", "Hypothesis"); None for single texts."""
        if self.pair_column is None:
            return None
        return [column.replace("_", " ").capitalize() for column in (self.text_column, self.pair_column)]

    def __len__(self) -> int:
        return len(self.dataset)

    def texts(self, indices: list[int]) -> list[str]:
        """The rows' texts; a missing one (an empty CSV cell, null) is an error naming the row, never ""."""
        return self._column_texts(self.text_column, indices)

    def pairs(self, indices: list[int]) -> list[str] | None:
        """The second text of each row's sentence pair; None without --text-pair-column. Missing: an error."""
        return None if self.pair_column is None else self._column_texts(self.pair_column, indices)

    def _column_texts(self, column: str, indices: list[int]) -> list[str]:
        values = self.dataset[indices][column] if indices else []
        for index, value in zip(indices, values):
            if value is None:
                raise ReportgenError(f"row {index} has no text (a missing value in column '{column}'); "
                                     "fill it in or leave the row out")
        return [str(value) for value in values]

    def rationales(self, indices: list[int]) -> list[Any] | None:
        """Each row's human rationale as the column holds it (checked later, `plausibility.rationale_spans`);
        None without --rationale-column."""
        if self.rationale_column is None:
            return None
        return list(self.dataset[indices][self.rationale_column]) if indices else []

    def with_rationale_column(self, column: str | None) -> Rows:
        """These rows with human rationales from `column` (--rationale-column beside --from-scan, which may
        name one the scan did not record); unchanged for None. A column the data lacks is a one-line error."""
        if column is None:
            return self
        _pick_column(list(self.dataset.column_names), column, (), "rationale", "rationale_column", required=False)
        return replace(self, rationale_column=column)

    def written_labels(self, indices: list[int]) -> list[Written]:
        """Each row's true label as the data writes it (`true_labels.written_label`: an index, a class name, or
        for a multi-label data set a list of them; None where unknown). A label of no such shape is a one-line
        error naming the row. Readable before the class names are known, unlike `labels`."""
        if self.label_column is None or not indices:
            return [None] * len(indices)
        return [written_label(value, index, self.label_column)
                for index, value in zip(indices, self.dataset[indices][self.label_column])]

    def labels(self, indices: list[int]) -> list[Label]:
        """Each row's true label: a class index; for a multi-label data set (a column of lists, `"labels": [0, 3]`,
        or a CSV cell "[0, 3]") the sorted list of its true labels, possibly empty; None where unknown.

        A label written as a class name ("insult", case aside) is read through `classes`, the names the models'
        classes resolved to (`named`), else `class_names`; a name of no class is a one-line error naming the row
        and the classes."""
        names = self.classes if self.classes is not None else self.class_names
        return class_labels(self.written_labels(indices), names, indices, self.label_column)

    def named(self, class_names: Sequence[str]) -> Rows:
        """These rows, reading labels written as class names through `class_names`: the names
        `checks.resolve_class_names` gave the models' classes (--label-names, else the dataset's, else the
        models' own), so `{"label": "insult"}` reads as the class the models call insult."""
        return replace(self, classes=list(class_names))


def first_non_utf8(path: Path, chunk_size: int = 1 << 20) -> tuple[int, int, int] | None:
    """(byte offset, line number, byte value) of the first byte that is not valid UTF-8, or None.

    Reads the file a chunk at a time; a sequence split across chunks is carried to the next one.
    """
    offset, line, carry = 0, 1, b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(chunk_size)
            data = carry + chunk
            try:
                _, used = codecs.utf_8_decode(data, "strict", not chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start, line + data.count(b"\n", 0, exc.start), data[exc.start]
            if not chunk:
                return None
            offset, line, carry = offset + used, line + data.count(b"\n", 0, used), data[used:]


def header_delimiter(path: Path) -> str:
    """The delimiter of a .csv or .tsv: the one its extension names (comma, tab) when its header line holds it,
    else the first of tab, comma and semicolon that the header holds (a spreadsheet saved in a locale whose
    decimal mark is the comma writes semicolons), else the extension's. A header without any delimiter
    is a single column, which any delimiter reads alike."""
    expected = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open("rb") as handle:
        header = handle.readline(1 << 16).decode("utf-8", errors="replace")
    if expected in header:
        return expected
    return next((delimiter for delimiter in DELIMITERS if delimiter in header), expected)


def _unreadable_file(path: Path, builder: str, exc: Exception, delimiter: str | None = None) -> ReportgenError:
    """Why a data file could not be read: its first non-UTF-8 byte when there is one (datasets reads
    text files as UTF-8 only, and its own message does not say so), else the library's first line."""
    invalid = first_non_utf8(path) if builder != "parquet" else None
    if invalid is not None:
        offset, line, value = invalid
        return ReportgenError(
            f"{path} is not UTF-8 text (byte 0x{value:02x} at offset {offset}, line {line}); convert it from its "
            f"encoding, e.g. from Latin-1: iconv -f latin1 -t utf-8 {path.name} > {path.stem}-utf8{path.suffix}")
    what = builder if delimiter is None else f"{DELIMITERS[delimiter]}-separated values"
    return ReportgenError(f"cannot read {path} as {what}: {first_line(exc.__cause__ or exc)}")


def _load(spec: str, split: str | None):
    """Return (dataset, split actually used, how a delimited file was read: e.g. "read as
    semicolon-separated", else None)."""
    import datasets

    path = Path(spec).expanduser()
    if path.is_file():
        builder = FILE_BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise ReportgenError(f"{path}: unsupported data file; use {', '.join(list(FILE_BUILDERS)[:-1])} or "
                                 f"{list(FILE_BUILDERS)[-1]}")
        delimiter = header_delimiter(path) if builder == "csv" else None
        options = {} if delimiter is None else {"sep": delimiter}
        try:
            dataset = datasets.load_dataset(builder, data_files=str(path), split="train", **options)
        except Exception as exc:
            raise _unreadable_file(path, builder, exc, delimiter) from None
        return dataset, None, None if delimiter is None else f"{path.name} read as {DELIMITERS[delimiter]}-separated"
    if path.is_dir() and any((path / marker).is_file()
                             for marker in ("dataset_info.json", "state.json", "dataset_dict.json")):
        try:
            loaded = datasets.load_from_disk(str(path))
        except Exception as exc:
            raise ReportgenError(f"cannot load the saved dataset in {path}: {first_line(exc)}") from None
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise ReportgenError(f"{path} has no split '{split}'; it has: {', '.join(loaded)}")
            return loaded[split], split, None
        return loaded, None, None
    if looks_like_path(spec) and not path.exists():
        raise OptionError(f"{{dataset}}: no such file or directory: {spec}", "dataset")
    if not path.exists() and offline_variable() is None and (unavailable := hub_unavailable()):
        # `datasets` has no per-call cache-only mode (unlike from_pretrained): fail now, not after its retries
        raise ReportgenError(
            f"cannot load dataset '{spec}': the Hugging Face hub is unavailable ({unavailable}); give a local "
            f"{DATA_FILES} file or a save_to_disk directory (or set HF_DATASETS_OFFLINE=1 to use "
            "a copy in the datasets cache)")
    try:  # a hub name, or a local folder of data files: the same datasets.load_dataset path
        return datasets.load_dataset(spec, split=split), split, None
    except Exception as exc:
        raise OptionError(
            f"cannot load dataset '{spec}' split '{split}': {first_line(exc)}; check the name and "
            f"{{split}}, or give a local {DATA_FILES} file or a save_to_disk directory", "split"
        ) from None


def _pick_column(columns: list[str], given: str | None, candidates: tuple[str, ...], what: str,
                 option: str, required: bool, how: str | None = None) -> str | None:
    """The column `given` names, else the first of `candidates` there is (case aside); `how` (e.g. "rows.csv read
    as comma-separated") says how the columns were found, in the error when none fits; `option`: the keyword that
    names the column ("text_column"), which the error names as the caller gave it (`errors.OptionError`)."""
    read = f" ({how})" if how else ""
    if given is not None:
        if given not in columns:
            raise OptionError(f"{{{option}}} '{given}' is not a column; the columns are: {', '.join(columns)}{read}",
                              option)
        return given
    lowered = {c.lower(): c for c in columns}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    if required:
        raise OptionError(f"no {what} column found among: {', '.join(columns)}{read}; name it with {{{option}}}",
                          option)
    return None


def class_names_of(feature: object) -> list[str] | None:
    """The class names a label feature carries: a ClassLabel's, or those of a list of ClassLabels (multi-label
    data such as go_emotions); None for plain numbers or text."""
    for candidate in (feature, getattr(feature, "feature", None)):
        names = getattr(candidate, "names", None)
        if isinstance(names, list) and names:
            return list(names)
    return None


def open_dataset(spec: str, split: str | None = "test", *, text_column: str | None = None,
                 label_column: str | None = None, label_names: list[str] | None = None,
                 text_pair_column: str | None = None, rationale_column: str | None = None,
                 progress: bool = True) -> Rows:
    """Load the dataset and detect (or check) its text and label columns (progress: the datasets
    library's bars while it converts a data file; its log records are held, `library_logs`).

    A .csv or .tsv is read with the delimiter its header line uses (`header_delimiter`).
    text_pair_column: the column of each row's second text, for sentence pairs (NLI, paraphrase);
    the first text is then --text-column, which must be named too.
    label_names: --label-names (checked by `labels.parse_label_names`); else the label feature's class names.
    rationale_column: --rationale-column, the column of each row's human rationale (never detected)."""
    if text_pair_column is not None and text_column is None:
        raise OptionError("{text_pair_column} needs {text_column}: name the column of the first text too, "
                          "e.g. {text_column} premise {text_pair_column} hypothesis", "text_pair_column", "text_column")
    with datasets_bars(progress), held_library_logs():  # a read that fails is reportgen's one line, nothing more
        dataset, used_split, how = _load(spec, split)
    columns = list(dataset.column_names)
    text = _pick_column(columns, text_column, TEXT_COLUMNS, "text", "text_column", required=True, how=how)
    pair = _pick_column(columns, text_pair_column, (), "second text", "text_pair_column", required=False, how=how)
    label = _pick_column(columns, label_column, LABEL_COLUMNS, "label", "label_column", required=False, how=how)
    rationale = _pick_column(columns, rationale_column, (), "rationale", "rationale_column", required=False,
                             how=how)
    names, source = label_names, GIVEN if label_names is not None else None
    if names is None and label is not None and (names := class_names_of(dataset.features.get(label))):
        source = DATASET
    return Rows(name=spec, split=used_split, dataset=dataset, text_column=text, label_column=label,
                class_names=names, pair_column=pair, names_source=source, rationale_column=rationale)


def parse_indices(spec: str, size: int) -> list[int]:
    """`6,11,13011-13013` → [6, 11, 13011, 13012, 13013]; each must lie in [0, size)."""
    indices: list[int] = []
    for part in (p.strip() for p in spec.split(",")):
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not match:
            raise OptionError(f"{{indices}}: '{part}' is not an index or a range like 10-20", "indices")
        start = int(match.group(1))
        stop = int(match.group(2)) if match.group(2) else start
        if stop < start:
            raise OptionError(f"{{indices}}: range '{part}' runs backwards", "indices")
        for index in (start, stop):
            if index >= size:
                raise OptionError(f"{{indices}}: {index} is out of range; the dataset has {size} rows, "
                                  f"so valid indices are 0 to {size - 1}", "indices")
        indices.extend(range(start, stop + 1))
    if not indices:
        raise OptionError("{indices}: give at least one index", "indices")
    return list(dict.fromkeys(indices))
