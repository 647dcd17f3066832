"""--steps auto: nested grids that reuse every gradient, each sample refined alone until its delta is
within the tolerance, and the steps each sample took in the JSON and the HTML. (Mistakes in --steps,
--tolerance and --max-steps are among tests/test_cli_report.py's ERRORS.)

Speed and the choice of the nested rule are measured by benchmarks/adaptive_steps.py
(docs/benchmarks.md, "Adaptive steps"), not here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from reportgen.attribution import AttributionSettings, PathSteps, TokenScores, make_attributor
from reportgen.attribution.integrated_gradients import GRID, _Path
from reportgen.choices import allowed_delta
from reportgen.errors import ReportgenError
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel, load_model
from reportgen.rendering.view_model import build_view
from reportgen.results import Report
from tests.builders import REVIEWS
from tests.test_cli_report import files, invoke, report_args  # noqa: F401 (files: fixture)
from tests.tolerances import assert_close_fp32, delta_magnitude, row_magnitude

CPU = torch.device("cpu")
MAX_LENGTH = 48
TARGETS = torch.tensor([label for _, label in REVIEWS])
TOLERANCE = 0.01


def load(checkpoints, encoder_dir, head: str) -> LoadedModel:
    """The user's model; `smooth` swaps the head's ReLU for a GELU (as Hugging Face heads are smooth)."""
    model = load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling="mean-all", device=CPU)
    if head == "smooth":
        model.module.classifier[1] = torch.nn.GELU()
    return model


@pytest.fixture(scope="module", params=["relu", "smooth"])
def model(request, checkpoints, encoder_dir) -> LoadedModel:
    return load(checkpoints, encoder_dir, request.param)


@pytest.fixture(scope="module")
def relu_model(checkpoints, encoder_dir) -> LoadedModel:
    return load(checkpoints, encoder_dir, "relu")


def encoded(model: LoadedModel) -> EncodedTexts:
    return encode(model.tokenizer, [text for text, _ in REVIEWS], MAX_LENGTH, pad_to_max_length=True)


def auto(model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor = TARGETS, *, batch_size: int = 8,
         tolerance: float = TOLERANCE, max_steps: int = 257, progress: list[int] | None = None,
         planned: list[int] | None = None) -> TokenScores:
    settings = AttributionSettings(batch_size=batch_size, on_progress=None if progress is None else progress.append,
                                   on_planned=None if planned is None else planned.append)
    attributor = make_attributor("integrated-gradients", settings,
                                 PathSteps(steps="auto", tolerance=tolerance, max_steps=max_steps))
    return attributor.attribute(model, inputs, targets)


def fixed(model: LoadedModel, inputs: EncodedTexts, steps: int, quadrature: str) -> TokenScores:
    attributor = make_attributor("integrated-gradients", AttributionSettings(batch_size=256),
                                 PathSteps(steps=steps, quadrature=quadrature))
    return attributor.attribute(model, inputs, TARGETS)


def within_tolerance(result: TokenScores, tolerance: float = TOLERANCE) -> list[bool]:
    return [abs(float(d)) <= allowed_delta(float(c), tolerance)
            for d, c in zip(result.convergence_delta, result.logit_change)]


# ---------------------------------------------------------------- the nested grid

def test_each_level_keeps_every_node_of_the_one_before():
    for level in range(6):
        coarse, fine = np.array(GRID.alphas(level)), np.array(GRID.alphas(level + 1))
        assert len(fine) == GRID.size(level + 1) == 2 * GRID.size(level) - 1
        np.testing.assert_array_equal(fine[::2], coarse)  # exactly the same numbers: the same gradients
        new = GRID.new_nodes(level + 1)
        assert sorted(set(range(len(fine))) - set(range(0, len(fine), 2))) == new
        assert sum(GRID.weights(level)) == pytest.approx(1.0, abs=1e-12)
    assert GRID.new_nodes(0) == list(range(GRID.size(0))) and GRID.alphas(0)[0] == 0.0 and GRID.alphas(0)[-1] == 1.0
    assert [GRID.size(level) for level in range(7)] == [5, 9, 17, 33, 65, 129, 257]
    assert GRID.last_level(257) == 6 and GRID.last_level(300) == 6 and GRID.last_level(5) == 0


def test_rows_computed_are_the_distinct_nodes_never_more(relu_model, monkeypatch):
    """Every gradient computed is used: rows = Σ steps, and no (text, α) is computed twice."""
    inputs = encoded(relu_model)
    rows, passes = [], []
    original = _Path.contributions

    def recording(path, text, alpha):
        rows.extend(zip(text.tolist(), alpha.tolist()))
        passes.append(len(text))
        return original(path, text, alpha)

    monkeypatch.setattr(_Path, "contributions", recording)
    progress, planned = [], []
    result = auto(relu_model, inputs, batch_size=7, progress=progress, planned=planned)
    steps = result.steps.tolist()
    assert sum(progress) == len(rows) == sum(steps) and len(set(rows)) == len(rows)
    for i, taken in enumerate(steps):  # each text's rows are exactly the nodes of the grid it stopped on
        level = [GRID.size(j) for j in range(7)].index(taken)
        assert sorted(alpha for text, alpha in rows if text == i) == pytest.approx(GRID.alphas(level), abs=1e-7)
    assert len(inputs) * GRID.size(0) + sum(planned) == sum(steps)  # the progress bar's total comes out right
    assert max(passes) == 7  # passes of the batch size, whichever texts the rows belong to


def test_auto_reaches_the_tolerance_and_agrees_with_a_fine_reference(model):
    """On the ReLU head and a smooth one: every sample within tolerance (or stopped at the cap), and
    its scores as close to a 513-step trapezoid reference as the tolerance asks."""
    inputs = encoded(model)
    result = auto(model, inputs)
    reference = fixed(model, inputs, 513, "riemann-trapezoid")
    assert all(within_tolerance(result)), (result.convergence_delta, result.logit_change, result.steps)
    assert all(within_tolerance(reference, TOLERANCE / 2))
    error = (result.scores - reference.scores).abs().sum(dim=1) / reference.scores.abs().sum(dim=1)
    assert (error <= TOLERANCE).all(), error
    torch.testing.assert_close(result.logit_change, reference.logit_change, rtol=1e-4, atol=1e-5)


def test_a_sample_that_needs_more_steps_does_not_make_the_others_compute_more(relu_model):
    inputs = encoded(relu_model)
    together = auto(relu_model, inputs)
    steps = together.steps.tolist()
    assert len(set(steps)) > 1, steps  # the integrands differ, and so do the steps
    for i in range(len(inputs)):
        alone = auto(relu_model, inputs.select([i]), TARGETS[i:i + 1])
        assert int(alone.steps[0]) == steps[i]
        assert_close_fp32(alone.scores[0], together.scores[i], row_magnitude(together.scores[i]))


def test_results_do_not_depend_on_the_batch_size(relu_model):
    inputs = encoded(relu_model)
    results = [auto(relu_model, inputs, batch_size=size) for size in (2, 5, 1000)]
    for other in results[1:]:
        assert torch.equal(other.steps, results[0].steps)
        assert_close_fp32(other.scores, results[0].scores, row_magnitude(results[0].scores))
        assert_close_fp32(other.convergence_delta, results[0].convergence_delta,
                          delta_magnitude(results[0].scores, results[0].logit_change))


def test_max_steps_caps_the_refinement(relu_model):
    inputs = encoded(relu_model)
    result = auto(relu_model, inputs, tolerance=1e-6, max_steps=16)
    assert result.steps.tolist() == [9] * len(inputs)  # 17 would exceed 16
    assert not all(within_tolerance(result, 1e-6))  # stopped above tolerance: the report flags these


def test_an_empty_text_settles_at_once(relu_model):
    """[CLS] [SEP] only: x = x′, nothing to attribute, F(x) − F(x′) = 0 (the absolute floor applies)."""
    inputs = encode(relu_model.tokenizer, ["", "a wonderful film"], MAX_LENGTH, pad_to_max_length=True)
    result = auto(relu_model, inputs, torch.tensor([0, 1]))
    assert int(result.steps[0]) == GRID.size(1) and (result.scores[0] == 0).all()


def test_non_finite_scores_stop_at_the_first_grid(checkpoints, encoder_dir):
    broken = load(checkpoints, encoder_dir, "relu")
    broken.module.classifier[-1].register_forward_hook(lambda module, args, output: output * float("nan"))
    progress: list[int] = []
    with pytest.raises(ReportgenError, match="non-finite scores"):
        auto(broken, encoded(broken), progress=progress)
    assert sum(progress) <= len(REVIEWS) * GRID.size(0)  # not refined to --max-steps first


# ---------------------------------------------------------------- through the CLI: JSON, HTML, errors

def test_cli_auto_steps_are_in_the_json_and_the_html(checkpoints, encoder_dir, files, tmp_path):  # noqa: F811
    html_path, json_path = tmp_path / "r.html", tmp_path / "r.json"
    result = invoke(report_args(checkpoints, encoder_dir, files, html_path,
                                {"--steps": "auto", "--json": str(json_path), "--indices": "0,1,2,3,5"})
                    + ["--no-faithfulness"])
    assert result.exit_code == 0, result.output
    data = json.loads(json_path.read_text(encoding="utf-8"))
    meta = data["meta"]
    assert (meta["steps"], meta["tolerance"], meta["max_steps"], meta["quadrature"]) == \
        ("auto", 0.01, 257, "riemann-trapezoid")
    html = html_path.read_text(encoding="utf-8")
    taken = []
    for sample in data["samples"]:
        for model in sample["models"].values():
            ig = model["methods"]["integrated-gradients"]
            assert ig["steps"] in {GRID.size(level) for level in range(7)}
            assert abs(ig["convergence_delta"]) <= allowed_delta(ig["target_logit_change"], 0.01) \
                or ig["steps"] == 257
            assert f"after {ig['steps']} path steps" in html
            assert model["methods"]["attention-gradient"]["steps"] is None
            taken.append(ig["steps"])
    assert f"integrated gradients with {min(taken)}–{max(taken)} steps per sample" in html or len(set(taken)) == 1
    assert Report.from_json(json_path.read_text(encoding="utf-8")).to_dict() == data


def test_cli_flags_samples_that_stop_at_max_steps_above_tolerance(checkpoints, encoder_dir, files, tmp_path):  # noqa: F811
    json_path = tmp_path / "r.json"
    result = invoke(report_args(checkpoints, encoder_dir, files, tmp_path / "r.html",
                                {"--steps": "auto", "--tolerance": "1e-7", "--max-steps": "9",
                                 "--method": "integrated-gradients", "--json": str(json_path),
                                 }) + ["--no-faithfulness"])
    assert result.exit_code == 0, result.output
    report = Report.from_json(json_path.read_text(encoding="utf-8"))
    assert {m.methods["integrated-gradients"].steps for s in report.samples for m in s.models.values()} == {9}
    view = build_view(report)
    assert all("IG delta high" in row.flags for row in view.summary)
    warning = view.samples[0].methods[0].columns[0].delta_warning
    assert "tolerance after 9 steps" in warning and "Raise --max-steps" in warning


def test_fixed_steps_keep_the_old_rule_and_old_files_still_load(checkpoints, encoder_dir, files, tmp_path):  # noqa: F811
    json_path = tmp_path / "r.json"
    result = invoke(report_args(checkpoints, encoder_dir, files, tmp_path / "r.html",
                                {"--steps": "8", "--json": str(json_path), "--method": "integrated-gradients"})
                    + ["--no-faithfulness"])
    assert result.exit_code == 0, result.output
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert (data["meta"]["steps"], data["meta"]["quadrature"], data["meta"]["tolerance"]) == (8, "gauss-legendre", None)
    assert {s["models"]["base"]["methods"]["integrated-gradients"]["steps"] for s in data["samples"]} == {8}
    for key in ("tolerance", "max_steps"):  # a schema-2 file written before these fields existed
        del data["meta"][key]
    for sample in data["samples"]:
        for model in sample["models"].values():
            del model["methods"]["integrated-gradients"]["steps"]
    old = Report.from_dict(data)
    assert old.meta.tolerance is None and old.samples[0].models["base"].methods["integrated-gradients"].steps is None
    assert "integrated gradients with 8 steps (gauss-legendre)" in dict(build_view(old).header)["Methods"]
