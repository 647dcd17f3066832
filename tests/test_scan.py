"""`reportgen scan` and `reportgen report --from-scan`, on tiny models whose predictions the tests
compute themselves with plain forward passes."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import reportgen.scan.predict as predict_module
from reportgen.api import Selection
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.loading.data import open_dataset
from reportgen.loading.device import resolve_device
from reportgen.loading.models import load_model
from reportgen.scan.layout import COLUMNS, ScanRow, partial_path, sidecar_path
from reportgen.scan.predict import predict_rows
from reportgen.scan.reading import read_scan
from reportgen.scan.records import ScanLog
from reportgen.scan.selection import count_outcomes, select_rows
from tests.builders import load_user_module, random_texts, write_csv

MAX_LENGTH = 48
ROWS = 40


@torch.no_grad()
def direct_probabilities(module, tokenizer, texts: list[str], padding: str | bool) -> torch.Tensor:
    """One text at a time, tokenized the way the user did: `padding="max_length"` or no padding."""
    out = []
    for text in texts:
        x = tokenizer(text, max_length=MAX_LENGTH, truncation=True, padding=padding, return_tensors="pt")
        logits = module(input_ids=x["input_ids"], attention_mask=x["attention_mask"])
        out.append((logits if isinstance(logits, torch.Tensor) else logits.logits).softmax(-1)[0])
    return torch.stack(out)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return random_texts(ROWS)


@pytest.fixture(scope="module")
def reference(encoder_dir, checkpoints, texts) -> dict[str, torch.Tensor]:
    """Each model's probabilities from a direct, padded-to-max_length forward pass of its module."""
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    return {role: direct_probabilities(load_user_module(encoder_dir, checkpoints[role], "mean-all"), tokenizer, texts,
                                       "max_length")
            for role in ("base", "finetuned")}


@pytest.fixture(scope="module")
def labels(reference) -> list[int]:
    """Labels chosen so that all four outcomes occur: for rows where the models disagree the label
    alternates between the two predictions; where they agree, between the prediction and the other class."""
    base, finetuned = (reference[r].argmax(-1).tolist() for r in ("base", "finetuned"))
    out = []
    for i, (b, f) in enumerate(zip(base, finetuned)):
        out.append((b if i % 2 else f) if b != f else (b if i % 2 else 1 - b))
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, texts, labels) -> Path:
    return write_csv(tmp_path_factory.mktemp("scan-data") / "rows.csv", texts, labels)


def scan_args(checkpoints, encoder_dir, dataset, output, *extra: str) -> list[str]:
    return ["scan", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
            "--encoder", str(encoder_dir), "--dataset", str(dataset), "--max-length", str(MAX_LENGTH),
            "--device", "cpu", "--batch-size", "4", "-o", str(output), "-q", *extra]


def invoke(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def expected_rows(reference, labels) -> list[ScanRow]:
    base, finetuned = reference["base"], reference["finetuned"]
    return [ScanRow(index=i, label=labels[i], base_pred=int(base[i].argmax()), base_prob=float(base[i].max()),
                    finetuned_pred=int(finetuned[i].argmax()), finetuned_prob=float(finetuned[i].max()),
                    gap=0.5 * float((base[i] - finetuned[i]).abs().sum()))
            for i in range(len(labels))]


def assert_same_rows(got: list[ScanRow], want: list[ScanRow], tolerance: float = 2e-5) -> None:
    assert [r.index for r in got] == [r.index for r in want]
    for g, w in zip(got, want):
        assert (g.label, g.base_pred, g.finetuned_pred) == (w.label, w.base_pred, w.finetuned_pred), g.index
        for name in ("base_prob", "finetuned_prob", "gap"):
            assert getattr(g, name) == pytest.approx(getattr(w, name), abs=tolerance), (g.index, name)


# ---- outcome counts -------------------------------------------------------------------------

def test_scan_counts_outcomes_of_the_padded_models(checkpoints, encoder_dir, dataset, reference, labels, tmp_path):
    output = tmp_path / "scan.csv"
    result = invoke(scan_args(checkpoints, encoder_dir, dataset, output))
    assert result.exit_code == 0, result.output

    base, finetuned = (reference[r].argmax(-1).tolist() for r in ("base", "finetuned"))
    cells = {"both_right": 0, "both_wrong": 0, "base_wrong_finetuned_right": 0, "base_right_finetuned_wrong": 0}
    for b, f, y in zip(base, finetuned, labels):
        key = {(True, True): "both_right", (False, False): "both_wrong", (False, True): "base_wrong_finetuned_right",
               (True, False): "base_right_finetuned_wrong"}[(b == y, f == y)]
        cells[key] += 1
    assert all(cells.values()), f"the built rows should reach all four outcomes: {cells}"

    scan = read_scan(output)
    assert_same_rows(scan.rows, expected_rows(reference, labels))
    outcomes = count_outcomes(scan.rows)
    assert {k: getattr(outcomes, k) for k in cells} == cells
    assert outcomes.disagree == sum(b != f for b, f in zip(base, finetuned))
    assert outcomes.accuracy("base") == pytest.approx(sum(b == y for b, y in zip(base, labels)) / ROWS)

    # the printed summary carries the same numbers
    assert f"{cells['base_wrong_finetuned_right']} (" in result.output
    base_right = cells["both_right"] + cells["base_right_finetuned_wrong"]
    assert f"({base_right}/{ROWS})" in result.output


def test_mean_all_models_see_inputs_padded_to_max_length(encoder_dir, checkpoints, texts, reference, tmp_path):
    """The user's pooling averages over padding too: unpadded inputs would give other probabilities."""
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    unpadded = direct_probabilities(load_user_module(encoder_dir, checkpoints["base"], "mean-all"), tokenizer, texts,
                                    False)
    assert (unpadded - reference["base"]).abs().max() > 1e-3  # so the comparison below can tell them apart

    models = {role: load_model(str(checkpoints[role]), role=role, encoder=str(encoder_dir), pooling="mean-all",
                               device=resolve_device("cpu")) for role in ("base", "finetuned")}
    rows = open_dataset(str(write_csv(tmp_path / "t.csv", texts, None)), None)
    shapes = []
    real = predict_module.predict_logits

    def spy(model, inputs, **kwargs):
        shapes.append(tuple(inputs.input_ids.shape))
        return real(model, inputs, **kwargs)

    predict_module.predict_logits = spy
    try:
        got = [r for batch in predict_rows(models, rows, list(range(ROWS)), max_length=MAX_LENGTH, batch_size=8,
                                           precision="fp32") for r in batch]
    finally:
        predict_module.predict_logits = real
    assert {width for _, width in shapes} == {MAX_LENGTH}  # length-sorted batches, but never trimmed
    assert sorted(r.index for r in got) == list(range(ROWS)) and [r.index for r in got] != list(range(ROWS))
    got.sort(key=lambda r: r.index)
    assert [r.base_prob for r in got] == pytest.approx(reference["base"].amax(-1).tolist(), abs=2e-5)


# ---- bucketing ------------------------------------------------------------------------------

@pytest.mark.parametrize("pair", ["masked-mean+hf", "mean-all+hf"])
def test_bucketing_by_length_keeps_every_prediction(pair, encoder_dir, checkpoints, hf_dir, texts, tmp_path):
    """Sorting rows by length and padding each batch only to its longest text changes no prediction;
    a mean-all model in the pair is still fed max_length inputs."""
    pooling = pair.split("+")[0]
    device = resolve_device("cpu")
    models = {"base": load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling=pooling,
                                 device=device),
              "finetuned": load_model(str(hf_dir), role="finetuned", encoder=str(encoder_dir), pooling=pooling,
                                      device=device)}
    rows = open_dataset(str(write_csv(tmp_path / "t.csv", texts, None)), None)
    widths: dict[str, list[int]] = {"base": [], "finetuned": []}
    real = predict_module.predict_logits

    def spy(model, inputs, **kwargs):
        widths[model.info.role].append(inputs.input_ids.shape[1] * inputs.input_ids.shape[0])
        return real(model, inputs, **kwargs)

    def run(sort_by_length: bool) -> tuple[list[ScanRow], dict[str, int]]:
        for calls in widths.values():
            calls.clear()
        predict_module.predict_logits = spy
        try:
            got = [r for batch in predict_rows(models, rows, list(range(ROWS)), max_length=MAX_LENGTH,
                                               batch_size=6, precision="fp32", sort_by_length=sort_by_length)
                   for r in batch]
        finally:
            predict_module.predict_logits = real
        return sorted(got, key=lambda r: r.index), {role: sum(w) for role, w in widths.items()}

    bucketed, bucketed_work = run(True)
    plain, plain_work = run(False)
    assert_same_rows(bucketed, plain, tolerance=1e-5)
    assert bucketed_work["finetuned"] < 0.8 * plain_work["finetuned"]  # shorter batches: less padding computed
    if pooling == "mean-all":
        assert bucketed_work["base"] == plain_work["base"] == ROWS * MAX_LENGTH

    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    one_by_one = direct_probabilities(AutoModelForSequenceClassification.from_pretrained(hf_dir).eval(), tokenizer,
                                      texts, False)
    assert [r.finetuned_prob for r in bucketed] == pytest.approx(one_by_one.amax(-1).tolist(), abs=1e-5)
    assert [r.finetuned_pred for r in bucketed] == one_by_one.argmax(-1).tolist()


def test_a_bucketed_scan_is_finalised_in_index_order(checkpoints, encoder_dir, dataset, tmp_path):
    output = tmp_path / "masked.json"
    assert invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--pooling", "masked-mean")).exit_code == 0
    rows = read_scan(output).rows
    assert [r.index for r in rows] == list(range(ROWS))  # written in length order, finalised in index order


# ---- file formats ---------------------------------------------------------------------------

ROWS_BY_HAND = [
    ScanRow(0, 1, 0, 0.9, 1, 0.8, 0.7),
    ScanRow(1, 0, 0, 0.6, 0, 0.7, 0.1),
    ScanRow(2, None, 1, 0.55, 0, 0.95, 0.5),
    ScanRow(3, 1, 1, 0.99, 0, 0.51, 0.5),
    ScanRow(4, 1, 1, 0.7, 0, 0.9, 0.6),
    ScanRow(5, 1, 0, 0.95, 1, 0.6, 0.55),
    ScanRow(6, 0, 1, 0.8, 1, 0.8, 0.0),
]


def meta_for(dataset: Path, rows: int) -> dict:
    return {"format": "reportgen-scan", "version": 1, "class_names": ["neg", "pos"], "models": [],
            "settings": {"dataset": str(dataset), "split": None, "text_column": "text", "label_column": "label",
                         "label_names": None, "dataset_rows": rows, "max_length": MAX_LENGTH}}


def write_scan(path: Path, meta: dict, rows: list[ScanRow] = ROWS_BY_HAND, finish: bool = True) -> ScanLog:
    """A scan of `rows` written through ScanLog, in two batches, the first out of index order."""
    log = ScanLog(path, meta, overwrite=False)
    log.append(list(reversed(rows[:4])))
    log.append(rows[4:])
    if finish:
        log.finalise({"rows": len(rows)})
    else:
        log.close()
    return log


def legacy_csv(path: Path, meta: dict, rows: list[ScanRow]) -> Path:
    """A CSV as the first version of reportgen wrote it: the header as a `# reportgen-scan {...}` line 1."""
    lines = ["# reportgen-scan " + json.dumps(meta), ",".join(COLUMNS)]
    lines += [",".join("" if value is None else str(value) for value in vars(row).values()) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_scan_files_round_trip(tmp_path, suffix):
    path = tmp_path / f"scan{suffix}"
    meta = meta_for(tmp_path / "data.csv", len(ROWS_BY_HAND))
    write_scan(path, meta)
    back = read_scan(path)
    assert back.rows == ROWS_BY_HAND  # sorted by index, None labels and floats intact
    assert back.settings == meta["settings"] and back.finished
    assert not partial_path(path).exists()
    assert sidecar_path(path).exists() == (suffix == ".csv")
    if suffix == ".csv":
        lines = path.read_text().splitlines()
        assert lines[0] == "index,label,base_pred,base_prob,finetuned_pred,finetuned_prob,gap"
        assert lines[3] == "2,,1,0.55,0,0.95,0.5"
    elif suffix == ".json":
        assert json.loads(path.read_text())["summary"] == {"rows": len(ROWS_BY_HAND)}


@pytest.mark.parametrize("finish", [True, False])
def test_a_csv_scan_is_a_plain_csv_with_its_settings_beside_it(tmp_path, finish):
    """pandas, the csv module (and so spreadsheets, DuckDB) read the rows and nothing else, even
    while the scan runs; what produced them is in scan.csv.meta.json."""
    import pandas

    path = tmp_path / "scan.csv"
    meta = meta_for(tmp_path / "data.csv", len(ROWS_BY_HAND))
    write_scan(path, meta, finish=finish)
    rows = ROWS_BY_HAND if finish else list(reversed(ROWS_BY_HAND[:4])) + ROWS_BY_HAND[4:]

    frame = pandas.read_csv(path)
    assert list(frame.columns) == COLUMNS
    assert frame["index"].tolist() == [r.index for r in rows]
    assert frame["label"].isna().tolist() == [r.label is None for r in rows]
    assert frame["label"].dropna().astype(int).tolist() == [r.label for r in rows if r.label is not None]
    for name in ("base_pred", "finetuned_pred"):
        assert frame[name].dtype.kind == "i" and frame[name].tolist() == [getattr(r, name) for r in rows]
    for name in ("base_prob", "finetuned_prob", "gap"):
        assert frame[name].tolist() == [getattr(r, name) for r in rows]

    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        assert list(reader) == [{name: "" if value is None else str(value) for name, value in vars(r).items()}
                                for r in rows]

    assert json.loads(sidecar_path(path).read_text()) == meta
    assert sidecar_path(path).name == "scan.csv.meta.json"


def test_parquet_scans_have_typed_columns_and_their_header_in_the_metadata(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "scan.parquet"
    meta = meta_for(tmp_path / "data.csv", len(ROWS_BY_HAND))
    log = write_scan(path, meta, finish=False)
    assert not path.exists() and partial_path(path).is_file()  # rows are collected until the scan finishes
    assert read_scan(path).rows == log.rows and not read_scan(path).finished
    log.finalise({})
    assert not partial_path(path).exists() and not list(tmp_path.glob(".*.tmp"))

    table = pq.read_table(path)
    assert table.column_names == COLUMNS
    assert {name: str(table.schema.field(name).type) for name in COLUMNS} == {
        "index": "int64", "label": "int64", "base_pred": "int64", "base_prob": "double", "finetuned_pred": "int64",
        "finetuned_prob": "double", "gap": "double"}
    assert table.column("label").to_pylist() == [r.label for r in ROWS_BY_HAND]  # None stays null, not NaN
    assert table.column("label").null_count == 1
    assert json.loads(table.schema.metadata[b"reportgen-scan"]) == meta
    assert table.to_pylist() == [vars(r) for r in ROWS_BY_HAND]

    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "other.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    for foreign in ("other.parquet", "broken.parquet"):
        with pytest.raises(ReportgenError, match="not a reportgen scan file.*--overwrite"):
            read_scan(tmp_path / foreign)


def test_csv_scans_in_the_first_layout_still_read_and_resume(tmp_path):
    """CSVs whose header is a `# reportgen-scan {...}` first line: read as they are, rewritten in the
    current layout (plain CSV + sidecar) when a scan resumes onto them."""
    path = tmp_path / "scan.csv"
    meta = meta_for(tmp_path / "data.csv", len(ROWS_BY_HAND))
    legacy_csv(path, meta, ROWS_BY_HAND[:3])
    old = read_scan(path)
    assert old.rows == ROWS_BY_HAND[:3] and old.settings == meta["settings"]

    log = ScanLog(path, meta, overwrite=False)
    assert log.done() == {0, 1, 2}
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS) and sidecar_path(path).is_file()
    log.append(ROWS_BY_HAND[3:])
    log.finalise({})
    assert read_scan(path).rows == ROWS_BY_HAND
    assert len(path.read_text().splitlines()) == 1 + len(ROWS_BY_HAND)


def test_a_csv_without_its_sidecar_is_refused_clearly(tmp_path):
    path = tmp_path / "scan.csv"
    meta = meta_for(tmp_path / "data.csv", len(ROWS_BY_HAND))
    write_scan(path, meta)
    before = path.read_text()
    sidecar = sidecar_path(path)
    sidecar.unlink()
    for attempt in (lambda: read_scan(path), lambda: ScanLog(path, meta, overwrite=False)):
        with pytest.raises(ReportgenError) as error:
            attempt()
        message = str(error.value)
        assert "\n" not in message and "has no scan.csv.meta.json beside it" in message
        assert "rescan with --overwrite" in message
    sidecar.write_text('{"format": "reportgen-scan", "vers')
    with pytest.raises(ReportgenError, match=r"its settings file scan\.csv\.meta\.json is damaged; rescan with "
                                             r"--overwrite"):
        read_scan(path)
    assert path.read_text() == before  # refused, not replaced
    ScanLog(path, meta, overwrite=True).finalise({})
    assert read_scan(path).rows == [] and json.loads(sidecar.read_text()) == meta


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_a_scan_file_refuses_rows_made_with_other_settings(tmp_path, suffix):
    path = tmp_path / f"scan{suffix}"
    meta = meta_for(tmp_path / "data.csv", len(ROWS_BY_HAND))
    write_scan(path, meta)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    other = json.loads(json.dumps(meta))
    other["settings"]["max_length"] = 32
    with pytest.raises(ReportgenError, match="max_length: 48 in the file, 32 now.*--overwrite"):
        ScanLog(path, other, overwrite=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    log = ScanLog(path, meta, overwrite=False)  # the same settings resume
    assert log.done() == set(range(len(ROWS_BY_HAND)))
    log.close()


def test_unknown_extension_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(ReportgenError, match=r"\.csv, \.json or \.parquet"):
        ScanLog(tmp_path / "scan.txt", meta_for(tmp_path, 1), overwrite=False)
    foreign = tmp_path / "other.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(ReportgenError, match="not a reportgen scan file.*--overwrite"):
        ScanLog(foreign, meta_for(tmp_path, 1), overwrite=False)
    assert foreign.read_text() == "a,b\n1,2\n"


# ---- selection ------------------------------------------------------------------------------

@pytest.mark.parametrize("select, order, expected", [
    ("base-wrong", "confidence", [5, 0]),  # base wrong, fine-tuned right; base's p 0.95 then 0.9
    ("base-wrong", "gap", [0, 5]),
    ("finetuned-wrong", "confidence", [4, 3]),  # fine-tuned's p 0.9 then 0.51
    ("finetuned-wrong", "gap", [4, 3]),
    ("disagree", "confidence", [5, 0, 4, 3, 2]),  # row 2 has no label: after the rows with a known wrong model
    ("disagree", "gap", [0, 4, 5, 3, 2]),  # equal gaps (rows 2, 3): the surer wrong model first
    ("all", "confidence", [5, 0, 4, 6, 3, 2, 1]),  # equal confidence (0, 4): the larger gap first
])
def test_select_orders_rows(select, order, expected):
    assert [r.index for r in select_rows(ROWS_BY_HAND, select, None, order)] == expected
    assert [r.index for r in select_rows(ROWS_BY_HAND, select, 2, order)] == expected[:2]


def test_select_errors():
    with pytest.raises(ReportgenError, match="select= 'nope'"):
        select_rows(ROWS_BY_HAND, "nope")
    with pytest.raises(ReportgenError, match="top= must be at least 1"):
        select_rows(ROWS_BY_HAND, "all", 0)
    unlabelled = [ScanRow(r.index, None, r.base_pred, r.base_prob, r.finetuned_pred, r.finetuned_prob, r.gap)
                  for r in ROWS_BY_HAND]
    with pytest.raises(ReportgenError, match="needs labels.*select= disagree"):
        select_rows(unlabelled, "base-wrong")
    assert [r.index for r in select_rows(unlabelled, "disagree", None)] == [0, 4, 5, 2, 3]


def test_scan_prints_the_selection_for_report(checkpoints, encoder_dir, dataset, reference, labels, tmp_path):
    result = CliRunner().invoke(main, scan_args(checkpoints, encoder_dir, dataset, tmp_path / "s.csv",
                                                "--select", "base-wrong", "--top", "3"))
    assert result.exit_code == 0, result.output
    want = sorted((r for r in expected_rows(reference, labels) if r.base_pred != r.label == r.finetuned_pred),
                  key=lambda r: (-r.base_prob, r.index))[:3]
    indices = ",".join(str(r.index) for r in want)
    assert result.stdout.strip().splitlines()[-1] == indices  # stdout: just what --indices accepts
    assert "Top 3 of" in result.stderr and "--from-scan" in result.stderr


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_report_from_scan_explains_the_selected_rows(suffix, checkpoints, encoder_dir, dataset, reference, labels,
                                                     texts, tmp_path):
    scan_path = tmp_path / f"s{suffix}"
    assert invoke(scan_args(checkpoints, encoder_dir, dataset, scan_path)).exit_code == 0
    want = sorted((r for r in expected_rows(reference, labels) if r.finetuned_pred != r.label == r.base_pred),
                  key=lambda r: (-r.finetuned_prob, r.index))[:2]

    chosen = Selection(from_scan=scan_path, select="finetuned-wrong", top=2).resolve()
    assert chosen.indices == [r.index for r in want]
    assert chosen.texts == [texts[r.index] for r in want]
    assert chosen.labels == [labels[r.index] for r in want]

    html = tmp_path / "r.html"
    result = invoke(["report", "--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
                     "--encoder", str(encoder_dir), "--max-length", str(MAX_LENGTH), "--device", "cpu",
                     "--from-scan", str(scan_path), "--select", "finetuned-wrong", "--top", "2",
                     "--method", "gradient-x-input", "-o", str(html), "--json", str(tmp_path / "r.json"), "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert [s["index"] for s in report["samples"]] == [r.index for r in want]
    assert [s["models"]["finetuned"]["predicted"] for s in report["samples"]] == [r.finetuned_pred for r in want]
    page = html.read_text()
    links = re.findall(r'href="#([^"]+)"', page)
    assert len(links) == 2 and all(f'id="{anchor}"' in page for anchor in links)  # summary links reach samples


def test_report_from_scan_refuses_other_models_and_mixed_options(checkpoints, encoder_dir, dataset, tmp_path):
    scan_path = tmp_path / "s.csv"
    assert invoke(scan_args(checkpoints, encoder_dir, dataset, scan_path, "--limit", "8")).exit_code == 0
    common = ["report", "--encoder", str(encoder_dir), "--max-length", str(MAX_LENGTH), "--device", "cpu",
              "--method", "gradient", "-o", str(tmp_path / "r.html"), "-q"]
    swapped = invoke(common + ["--base", str(checkpoints["finetuned"]), "--finetuned", str(checkpoints["base"]),
                               "--from-scan", str(scan_path), "--select", "all"])
    assert swapped.exit_code == 1 and "base weights" in swapped.output and "or rescan" in swapped.output
    assert not (tmp_path / "r.html").exists()
    models = ["--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"])]
    mixed = invoke(common + models + ["--from-scan", str(scan_path), "--select", "all", "--indices", "1"])
    assert mixed.exit_code == 1 and "leave out" in mixed.output
    no_select = invoke(common + models + ["--from-scan", str(scan_path)])
    assert no_select.exit_code == 1 and "needs --select" in no_select.output
    no_scan = invoke(common + models + ["--dataset", str(dataset), "--indices", "1", "--select", "all"])
    assert no_scan.exit_code == 1 and "give --from-scan" in no_scan.output
    partial = invoke(common + models + ["--from-scan", str(scan_path), "--select", "all", "--top", "1"])
    assert partial.exit_code == 0 and "covers 8 of the dataset's 40 rows" in partial.output
    sidecar_path(scan_path).unlink()
    orphan = invoke(common + models + ["--from-scan", str(scan_path), "--select", "all"])
    assert orphan.exit_code == 1 and "has no s.csv.meta.json beside it" in orphan.output
    assert "rescan with --overwrite" in orphan.output and "Traceback" not in orphan.output


# ---- resume ---------------------------------------------------------------------------------

class Interrupt:
    """Stands in for predict_logits and raises KeyboardInterrupt (Ctrl-C) on its n-th call."""

    def __init__(self, after_calls: int) -> None:
        self.calls = 0
        self.after_calls = after_calls
        self.real = predict_module.predict_logits

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls > self.after_calls:
            raise KeyboardInterrupt
        return self.real(*args, **kwargs)


@pytest.mark.parametrize("suffix, pooling", [(".csv", "mean-all"), (".json", "masked-mean"),
                                             (".parquet", "mean-all")])
def test_interrupted_scan_resumes_without_losing_or_repeating_rows(suffix, pooling, checkpoints, encoder_dir,
                                                                   dataset, tmp_path, monkeypatch):
    def args(output: Path) -> list[str]:
        return scan_args(checkpoints, encoder_dir, dataset, output, "--pooling", pooling)

    assert invoke(args(tmp_path / f"whole{suffix}")).exit_code == 0
    whole = read_scan(tmp_path / f"whole{suffix}").rows

    output = tmp_path / f"scan{suffix}"
    monkeypatch.setattr(predict_module, "predict_logits", Interrupt(after_calls=7))  # 2 calls a batch of 4
    stopped = CliRunner().invoke(main, args(output))
    assert stopped.exit_code == 130
    assert "rows finished so far are saved" in stopped.output and "run the same command again" in stopped.output
    saved = read_scan(output)
    assert len(saved.rows) == 12 and not (suffix != ".csv" and output.exists())
    monkeypatch.undo()

    resumed = invoke(args(output))
    assert resumed.exit_code == 0, resumed.output
    assert "12 rows are already there, 28 to go" in resumed.output
    final = read_scan(output)
    assert final.finished and not partial_path(output).exists()
    assert_same_rows(final.rows, whole, tolerance=1e-6)
    assert final.meta == read_scan(tmp_path / f"whole{suffix}").meta | {"created": final.meta["created"]}


def test_a_scan_resumes_onto_a_csv_of_the_first_layout(checkpoints, encoder_dir, dataset, reference, labels,
                                                       tmp_path):
    """A CSV written before the header moved to the sidecar: resumed, then finished in the current layout."""
    output = tmp_path / "scan.csv"
    assert invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--limit", "5")).exit_code == 0
    meta = json.loads(sidecar_path(output).read_text())
    legacy_csv(output, meta, read_scan(output).rows)
    sidecar_path(output).unlink()
    assert output.read_text().startswith("# reportgen-scan {")

    grown = invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--limit", "9"))
    assert grown.exit_code == 0, grown.output
    assert "5 rows are already there, 4 to go" in grown.output
    assert output.read_text().startswith(",".join(COLUMNS) + "\n")
    assert json.loads(sidecar_path(output).read_text()) == meta  # when and how the scan began, kept
    assert_same_rows(read_scan(output).rows, expected_rows(reference, labels)[:9])


def test_a_line_cut_short_by_a_kill_is_recomputed(checkpoints, encoder_dir, dataset, tmp_path, monkeypatch):
    output = tmp_path / "scan.csv"
    monkeypatch.setattr(predict_module, "predict_logits", Interrupt(after_calls=4))
    assert CliRunner().invoke(main, scan_args(checkpoints, encoder_dir, dataset, output)).exit_code == 130
    monkeypatch.undo()
    with output.open("a") as handle:
        handle.write("8,1,0,0.51")  # a kill in the middle of writing row 8
    assert len(read_scan(output).rows) == 8
    assert invoke(scan_args(checkpoints, encoder_dir, dataset, output)).exit_code == 0
    rows = read_scan(output).rows
    assert [r.index for r in rows] == list(range(ROWS))
    assert rows[8].base_prob != 0.51


def test_resume_refuses_a_file_from_other_settings(checkpoints, encoder_dir, dataset, tmp_path):
    output = tmp_path / "scan.csv"
    assert invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--limit", "5")).exit_code == 0
    before = output.read_text(), sidecar_path(output).read_text()

    other_length = invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--max-length", "32"))
    assert other_length.exit_code == 1
    assert "max_length: 48 in the file, 32 now" in other_length.output and "--overwrite" in other_length.output
    swapped = {"base": checkpoints["finetuned"], "finetuned": checkpoints["base"]}
    other_models = invoke(scan_args(swapped, encoder_dir, dataset, output))
    assert other_models.exit_code == 1 and "base weights: 'sha256:" in other_models.output
    other_precision = invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--precision", "bf16"))
    assert other_precision.exit_code == 1 and "precision: 'fp32' in the file, 'bf16' now" in other_precision.output
    assert (output.read_text(), sidecar_path(output).read_text()) == before  # refused runs leave the files alone

    more = invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--limit", "9"))
    assert more.exit_code == 0 and "5 rows are already there, 4 to go" in more.output
    fresh = invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--max-length", "32", "--limit", "3",
                             "--overwrite"))
    assert fresh.exit_code == 0
    scan = read_scan(output)
    assert scan.settings["max_length"] == 32 and len(scan.rows) == 3


def test_a_finished_json_scan_grows_with_a_larger_limit(checkpoints, encoder_dir, dataset, reference, labels,
                                                        tmp_path):
    output = tmp_path / "scan.json"
    assert invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--limit", "5")).exit_code == 0
    started = json.loads(output.read_text())["meta"]["created"]
    grown = invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--limit", "9"))
    assert grown.exit_code == 0 and "5 rows are already there, 4 to go" in grown.output
    data = json.loads(output.read_text())
    assert data["meta"]["created"] == started and data["summary"]["rows"] == 9
    assert not partial_path(output).exists()
    assert_same_rows(read_scan(output).rows, expected_rows(reference, labels)[:9])
    again = invoke(scan_args(checkpoints, encoder_dir, dataset, output, "--limit", "9"))
    assert again.exit_code == 0 and "already holds all 9 rows" in again.output


# ---- command-line errors --------------------------------------------------------------------

def test_scan_command_errors(checkpoints, encoder_dir, dataset, texts, tmp_path):
    bad_select = CliRunner().invoke(main, scan_args(checkpoints, encoder_dir, dataset, tmp_path / "a.csv",
                                                    "--select", "wrong"))
    assert bad_select.exit_code == 2 and "base-wrong" in bad_select.output

    top_zero = invoke(scan_args(checkpoints, encoder_dir, dataset, tmp_path / "a.csv", "--select", "all",
                                "--top", "0"))
    assert top_zero.exit_code == 1 and "--top must be at least 1" in top_zero.output

    extension = invoke(scan_args(checkpoints, encoder_dir, dataset, tmp_path / "a.txt"))
    assert extension.exit_code == 1 and ".csv, .json or .parquet" in extension.output

    limit = invoke(scan_args(checkpoints, encoder_dir, dataset, tmp_path / "a.csv", "--limit", "0"))
    assert limit.exit_code == 1 and "--limit must be at least 1" in limit.output
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "a.txt").exists()

    top_alone = invoke(scan_args(checkpoints, encoder_dir, dataset, tmp_path / "a.csv", "--top", "3"))
    assert top_alone.exit_code == 1 and "give --select too" in top_alone.output

    unlabelled = write_csv(tmp_path / "unlabelled.csv", texts[:6], None)
    no_labels = invoke(scan_args(checkpoints, encoder_dir, unlabelled, tmp_path / "u.csv", "--select", "base-wrong"))
    assert no_labels.exit_code == 1 and "needs labels" in no_labels.output and "--select disagree" in no_labels.output
    assert not (tmp_path / "u.csv").exists()  # refused before scanning
    disagree = invoke(scan_args(checkpoints, encoder_dir, unlabelled, tmp_path / "u.csv", "--select", "disagree"))
    assert disagree.exit_code == 0 and "No labels, so no accuracy" in disagree.output
    assert len(read_scan(tmp_path / "u.csv").rows) == 6

    bad_labels = write_csv(tmp_path / "bad.csv", texts[:3], [0, 1, 7])
    wrong_labels = invoke(scan_args(checkpoints, encoder_dir, bad_labels, tmp_path / "b.csv"))
    assert wrong_labels.exit_code == 1 and "row 2 has label 7" in wrong_labels.output


def test_scan_refuses_max_length_beyond_position_embeddings(checkpoints, encoder_dir, dataset, tmp_path):
    output = tmp_path / "scan.csv"
    args = scan_args(checkpoints, encoder_dir, dataset, output)
    args[args.index("--max-length") + 1] = "600"  # the tiny encoder has 128 positions
    result = invoke(args)
    assert result.exit_code == 1
    assert "--max-length 600 is longer than the base model's position embeddings allow (128 tokens)" in result.output
    assert "Traceback" not in result.output and not output.exists()
