"""Every report `reportgen report` writes renders again from its JSON byte for byte — single texts,
sentence pairs, multi-label models, every method — and so does every committed sample: `render` must
never refuse, or draw differently, what reportgen itself wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.methods import METHODS
from tests.builders import make_hf_dir, write_csv

SAMPLES = Path(__file__).resolve().parent.parent / "sample_reports"
SHAPES = ("single", "pair", "multi-label")


def write_report(shape: str, checkpoints: dict[str, Path], encoder_dir: Path, folder: Path) -> tuple[Path, Path]:
    """`reportgen report` on tiny models with every method, faithfulness and NAOPC: (its HTML, its JSON).
    A sentence pair's second text is longer than its first; the multi-label models predict several labels."""
    if shape == "single":  # labelled rows of a dataset, one cut at --max-length
        models = ["--base", str(checkpoints["base"]), "--finetuned", str(checkpoints["finetuned"]),
                  "--encoder", str(encoder_dir)]
        rows = write_csv(folder / "rows.csv", ["the acting was great", "awful plot, boring " * 12], [1, 0])
        texts = ["--dataset", str(rows), "--indices", "0,1"]
    elif shape == "pair":
        models = [x for role, seed in (("base", 11), ("finetuned", 12)) for x in (
            f"--{role}", str(make_hf_dir(encoder_dir, folder / role, seed=seed, num_labels=3, second_segment_scale=20,
                                         head_scale=60)))]
        texts = ["--text", "good", "--text-pair", "the film was great and i loved the music",
                 "--text", "fine", "--text-pair", "the film was great and i loved the music " * 4]
    else:
        kind = "multi_label_classification"
        models = [x for role, seed, bias in (("base", 31, [3.0, 2.0, -3.0]), ("finetuned", 32, [3.0, -3.0, 2.5]))
                  for x in (f"--{role}", str(make_hf_dir(encoder_dir, folder / role, seed=seed, num_labels=3,
                                                         problem_type=kind, bias=bias)))]
        texts = ["--text", "this movie was great", "--label-names", "toxic,insult,spam"]
    html, data = folder / "report.html", folder / "report.json"
    result = CliRunner().invoke(main, ["report", "-q", *models, *texts, "--method", ",".join(METHODS),
                                       "--device", "cpu", "--max-length", "32", "-o", str(html), "--json", str(data),
                                       "--markdown", str(folder / "report.md")])
    assert result.exit_code == 0, result.output
    return html, data


@pytest.fixture(scope="session")
def written(checkpoints, encoder_dir, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """shape → (HTML, JSON) of a report `reportgen report` wrote (shared with the validation tests)."""
    return {shape: write_report(shape, checkpoints, encoder_dir, tmp_path_factory.mktemp(shape.replace("-", "_")))
            for shape in SHAPES}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_report_that_report_writes_renders_again_byte_identically(shape, written, tmp_path):
    html, data = written[shape]
    report_data = json.loads(data.read_text(encoding="utf-8"))
    assert sorted(report_data["meta"]["methods"]) == sorted(METHODS)
    if shape == "pair":  # the case that was refused: words of a second text longer than the first
        sample_data = report_data["samples"][0]
        assert len(sample_data["text_pair"]) > len(sample_data["text"])
        assert any(w["segment"] == 1 and w["end"] > len(sample_data["text"]) for w in sample_data["words"])
        assert report_data["samples"][1]["truncated_segments"] == [1]
    if shape == "single":
        assert report_data["samples"][1]["truncated"] and report_data["samples"][1]["label"] == 0
    if shape == "multi-label":
        assert report_data["meta"]["multi_label"] and len(report_data["samples"]) > 1
    result = CliRunner().invoke(main, ["render", str(data), "-o", str(tmp_path / "again.html"), "--markdown",
                                       str(tmp_path / "again.md")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "again.html").read_bytes() == html.read_bytes()
    assert (tmp_path / "again.md").read_bytes() == html.with_suffix(".md").read_bytes()


@pytest.mark.parametrize("source", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_committed_sample_renders_again_byte_identically(source, tmp_path):
    outputs = ["-o", str(tmp_path / "page.html")]
    if source.with_suffix(".md").exists():
        outputs += ["--markdown", str(tmp_path / "page.md")]
    result = CliRunner().invoke(main, ["render", str(source), *outputs])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "page.html").read_bytes() == source.with_suffix(".html").read_bytes()
    if source.with_suffix(".md").exists():
        assert (tmp_path / "page.md").read_bytes() == source.with_suffix(".md").read_bytes()
