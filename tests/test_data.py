"""Opening the rows to explain: every supported source, column detection, labels, and --indices."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reportgen.api import Selection
from reportgen.errors import ReportgenError
from reportgen.loading import hub
from reportgen.loading.data import open_dataset, parse_indices
from tests.builders import REVIEWS, write_dataset
from tests.test_loading import assert_fails_fast_naming, unreachable_hub  # noqa: F401 (a fixture)

TEXTS = [text for text, _ in REVIEWS]
LABELS = [label for _, label in REVIEWS]


def write_rows(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("fmt, suffix", [("csv", ".csv"), ("json", ".json"), ("jsonl", ".jsonl"),
                                         ("parquet", ".parquet")])
def test_data_files(fmt, suffix, tmp_path):
    rows = open_dataset(str(write_dataset(tmp_path / f"rows{suffix}", fmt)), "test")
    assert len(rows) == len(REVIEWS)
    assert (rows.text_column, rows.label_column, rows.split, rows.class_names) == ("text", "label", None, None)
    assert rows.texts([2, 0, 5]) == [TEXTS[2], TEXTS[0], TEXTS[5]]  # hostile text comes back unchanged
    assert rows.labels([2, 0, 5]) == [LABELS[2], LABELS[0], LABELS[5]]


def test_save_to_disk_dataset_dict_with_class_names(tmp_path):
    path = write_dataset(tmp_path / "saved", "disk")
    rows = open_dataset(str(path), "test")
    assert (rows.split, rows.class_names) == ("test", ["neg", "pos"])
    assert rows.texts([1, 3]) == [TEXTS[1], TEXTS[3]] and rows.labels([1, 3]) == [LABELS[1], LABELS[3]]
    with pytest.raises(ReportgenError, match="has no split 'validation'; it has: test"):
        open_dataset(str(path), "validation")
    # the class names reach the report
    chosen = Selection(dataset=str(path), split="test", indices="0,3").resolve()
    assert (chosen.class_names, chosen.labels, chosen.split) == (["neg", "pos"], [LABELS[0], LABELS[3]], "test")


def test_folder_of_data_files_goes_through_the_hub_loader(tmp_path):
    """A folder of train/test files is what `datasets.load_dataset(name, split=…)` sees for a hub name."""
    folder = tmp_path / "imdb_like"
    folder.mkdir()
    write_rows(folder / "train.csv", ["text", "label"], [["train row", 0]])
    write_rows(folder / "test.csv", ["text", "label"], [[t, y] for t, y in REVIEWS])
    rows = open_dataset(str(folder), "test")
    assert rows.split == "test" and len(rows) == len(REVIEWS)
    assert rows.texts([4]) == [TEXTS[4]] and rows.labels([4]) == [LABELS[4]]
    assert open_dataset(str(folder), "train").texts([0]) == ["train row"]
    with pytest.raises(ReportgenError, match="cannot load dataset .* split 'validation'") as caught:
        open_dataset(str(folder), "validation")
    assert "\n" not in str(caught.value)


def test_unknown_hub_dataset_and_missing_path(tmp_path):
    with pytest.raises(ReportgenError, match="cannot load dataset 'no-such-user/no-such-dataset'"):
        open_dataset("no-such-user/no-such-dataset", "test")
    with pytest.raises(ReportgenError, match="no such file or directory"):
        open_dataset(str(tmp_path / "missing.csv"), "test")
    (tmp_path / "rows.txt").write_text("text\nhello\n")
    with pytest.raises(ReportgenError, match="unsupported data file"):
        open_dataset(str(tmp_path / "rows.txt"), "test")


def test_hub_dataset_without_network_fails_at_once(unreachable_hub):
    assert_fails_fast_naming(lambda: open_dataset("some_name", "test"), "some_name",
                             "give a local .csv/.tsv/.json/.jsonl/.parquet file", unreachable_hub)
    assert unreachable_hub.calls == []  # `datasets` cannot read only its cache, so it is not asked at all


def test_hub_dataset_with_an_offline_variable_is_read_from_the_cache(unreachable_hub, monkeypatch):
    """With HF_DATASETS_OFFLINE `datasets` reads only its cache, at once: reportgen lets it, without a probe."""
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(hub, "_answers", lambda endpoint: pytest.fail("probed the hub although offline"))
    cached = datasets.Dataset.from_dict({"text": TEXTS, "label": LABELS})
    monkeypatch.setattr(datasets, "load_dataset", lambda path, split: cached)
    rows = open_dataset("some_name", "test")
    assert (rows.name, rows.split, len(rows)) == ("some_name", "test", len(REVIEWS))


def test_columns_are_detected_by_common_names(tmp_path):
    path = write_rows(tmp_path / "reviews.csv", ["id", "Review", "sentiment"], [[7, "great film", 1], [8, "dull", 0]])
    rows = open_dataset(str(path), None)
    assert (rows.text_column, rows.label_column) == ("Review", "sentiment")
    assert rows.texts([1]) == ["dull"] and rows.labels([0, 1]) == [1, 0]


def test_named_columns_and_their_errors(tmp_path):
    path = write_rows(tmp_path / "odd.csv", ["body_text", "verdict", "text"],
                      [["the real text", 1, "not this"], ["second", 0, "nor this"]])
    rows = open_dataset(str(path), None, text_column="body_text", label_column="verdict")
    assert rows.texts([0, 1]) == ["the real text", "second"] and rows.labels([0, 1]) == [1, 0]
    with pytest.raises(ReportgenError, match="text_column= 'body' is not a column; the columns are: "
                                             "body_text, verdict, text"):
        open_dataset(str(path), None, text_column="body")
    with pytest.raises(ReportgenError, match="label_column= 'stars' is not a column"):
        open_dataset(str(path), None, label_column="stars")
    no_text = write_rows(tmp_path / "no_text.csv", ["words", "label"], [["a", 0]])
    with pytest.raises(ReportgenError, match=r"no text column found among: words, label \(no_text\.csv read as "
                                             r"comma-separated\); name it with text_column="):
        open_dataset(str(no_text), None)


def test_string_labels_need_label_names(tmp_path):
    path = write_rows(tmp_path / "named.csv", ["text", "label"], [["good", "positive"], ["bad", "negative"]])
    rows = open_dataset(str(path), None)
    with pytest.raises(ReportgenError, match="label 'positive' .* label_names="):
        rows.labels([0])
    rows = open_dataset(str(path), None, label_names=["negative", "positive"])
    assert rows.labels([0, 1]) == [1, 0] and rows.class_names == ["negative", "positive"]


def test_labelless_dataset(tmp_path):
    rows = open_dataset(str(write_dataset(tmp_path / "plain.jsonl", "jsonl", label_column=None)), "test")
    assert rows.label_column is None and rows.class_names is None
    assert rows.labels([0, 4]) == [None, None] and rows.texts([4]) == [TEXTS[4]]


# ---- --indices -----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("3", [3]),
    ("0-2,5", [0, 1, 2, 5]),
    (" 4 , 1 - 2 ", [4, 1, 2]),
    ("2,2,1-3,1", [2, 1, 3]),  # duplicates dropped, first occurrence order kept
    ("9-9", [9]),
])
def test_parse_indices(spec, expected):
    assert parse_indices(spec, 10) == expected


@pytest.mark.parametrize("spec", ["10", "0,3-10", "25"])
def test_out_of_range_index_says_the_valid_range(spec):
    with pytest.raises(ReportgenError, match="out of range; the dataset has 10 rows, so valid indices are 0 to 9"):
        parse_indices(spec, 10)


@pytest.mark.parametrize("spec, message", [
    ("a", "'a' is not an index"),
    ("1,,2", "'' is not an index"),
    ("-1", "'-1' is not an index"),
    ("1-", "'1-' is not an index"),
    ("1.5", "'1.5' is not an index"),
    ("5-3", "runs backwards"),
])
def test_bad_index_syntax(spec, message):
    with pytest.raises(ReportgenError, match=message):
        parse_indices(spec, 10)


def test_a_file_that_is_not_utf8_is_named_with_where_and_how_to_convert(tmp_path):
    """datasets only says "An error occurred while generating the dataset"; the cause is the encoding."""
    path = tmp_path / "windows.csv"
    path.write_bytes("text,label\n\"naïve\",1\n\"it\u2019s great\",1\n".encode("cp1252"))
    with pytest.raises(ReportgenError) as caught:
        open_dataset(str(path), None, progress=False)
    message = str(caught.value)
    assert "windows.csv is not UTF-8 text (byte 0xef at offset 14, line 2)" in message, message
    assert "iconv -f latin1 -t utf-8 windows.csv > windows-utf8.csv" in message and "\n" not in message


def test_first_non_utf8_byte_across_chunks(tmp_path):
    from reportgen.loading.data import first_non_utf8

    path = tmp_path / "t.txt"
    path.write_bytes("a\né—\n".encode() + b"x\xe9y")  # 2- and 3-byte sequences split by 1- and 2-byte chunks
    for size in (1, 2, 3, 1 << 20):
        assert first_non_utf8(path, size) == (len("a\né—\n".encode()) + 1, 3, 0xE9), size
    path.write_bytes("a\né—\n".encode())
    assert all(first_non_utf8(path, size) is None for size in (1, 2, 1 << 20))
    path.write_bytes(b"ok\n" + "é".encode()[:1])  # cut off in the middle of a character
    assert first_non_utf8(path, 2) == (3, 2, 0xC3)


def test_progress_false_silences_the_datasets_bars(tmp_path, capfd):
    """The bars of the datasets library follow reportgen's own (-q), and are on again afterwards."""
    import datasets

    open_dataset(str(write_dataset(tmp_path / "quiet.csv", "csv")), None, progress=False)
    assert "Generating train split" not in capfd.readouterr().err
    assert not datasets.are_progress_bars_disabled()
    open_dataset(str(write_dataset(tmp_path / "shown.csv", "csv")), None)
    assert "Generating train split" in capfd.readouterr().err


# ---- delimiters: .tsv, and a .csv written with tabs or semicolons ------------------------------------------

@pytest.mark.parametrize("name, delimiter", [("rows.tsv", "\t"), ("tabs.csv", "\t"), ("semicolons.csv", ";"),
                                             ("commas.tsv", ",")])
def test_delimited_files_are_read_with_the_delimiter_their_header_uses(name, delimiter, tmp_path):
    """Texts holding commas (and the other delimiters, quoted) come back whole, labels as numbers."""
    path = tmp_path / name
    rows = [["great, really great; loved it", 1], ["dull\tand slow, sadly", 0]]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    opened = open_dataset(str(path), None, progress=False)
    assert (opened.text_column, opened.label_column) == ("text", "label")
    assert opened.texts([0, 1]) == [text for text, _ in rows] and opened.labels([0, 1]) == [1, 0]


def test_a_delimited_file_without_a_text_column_says_how_it_was_read(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("words;label\nhello;1\n", encoding="utf-8")
    with pytest.raises(ReportgenError, match=r"no text column found among: words, label \(odd\.csv read as "
                                             r"semicolon-separated\); name it with text_column="):
        open_dataset(str(path), None, progress=False)


# ---- labels: lists of them (multi-label data), and values that are no class ---------------------------------

def test_label_lists_are_read_as_each_rows_true_labels(tmp_path):
    """The go_emotions layout: a column of lists, as a JSON Lines file, a List(ClassLabel) saved dataset, or a
    CSV cell holding a list; sorted, each label once, an empty list kept (no label applies)."""
    import datasets

    lines = tmp_path / "go.jsonl"
    lines.write_text('{"text": "a", "labels": [3, 0, 3]}\n{"text": "b", "labels": []}\n{"text": "c", "labels": 2}\n',
                     encoding="utf-8")
    rows = open_dataset(str(lines), None, progress=False)
    assert rows.label_column == "labels" and rows.labels([0, 1, 2]) == [[0, 3], [], 2]
    names = ["admiration", "anger", "joy", "neutral"]
    features = datasets.Features({"text": datasets.Value("string"),
                                  "labels": datasets.Sequence(datasets.ClassLabel(names=names))})
    datasets.Dataset.from_dict({"text": ["a", "b"], "labels": [[1, 2], []]}, features=features).save_to_disk(
        str(tmp_path / "saved"))
    saved = open_dataset(str(tmp_path / "saved"), None, progress=False)
    assert (saved.class_names, saved.names_source) == (names, "the dataset")
    assert saved.labels([0, 1]) == [[1, 2], []]
    cells = write_rows(tmp_path / "cells.csv", ["text", "labels"], [["a", "[2, 0]"], ["b", "['joy', 'anger']"]])
    assert open_dataset(str(cells), None, label_names=names, progress=False).labels([0, 1]) == [[0, 2], [1, 2]]


@pytest.mark.parametrize("cell, message", [
    ("[0, None]", r"row 0: the label list \[0, None\] in column 'labels' holds a missing label"),
    ("[0, [1]]", r"label '\[1\]' in column 'labels' is not a class index or name"),
    ("[0, 1", r"label '\[0, 1' in column 'labels' is not a class index; name the classes"),
    ("[0 1]", r"row 0: label '\[0 1\]' in column 'labels' is not a list of labels"),
    ("1.5", r"label '1.5' in column 'labels' is not a class index or name"),
])
def test_labels_that_are_no_class_are_refused_in_one_line(cell, message, tmp_path):
    path = write_rows(tmp_path / "bad.csv", ["text", "labels"], [["a", cell]])
    rows = open_dataset(str(path), None, progress=False)
    with pytest.raises(ReportgenError, match=message) as caught:
        rows.labels([0])
    assert "\n" not in str(caught.value)
