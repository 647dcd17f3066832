"""The rooms that next features build on: the method registry, attributors with their own options,
one verdict function, and encoded inputs that carry what sentence pairs need."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest
import torch
from click.testing import CliRunner

from reportgen.attribution import (
    AttributionSettings,
    Attributor,
    MethodOptions,
    PathSteps,
    ShapleyOptions,
    make_attributor,
)
from reportgen.attribution.integrated_gradients import IntegratedGradients
from reportgen.attribution.options import TAKEN_BY
from reportgen.attribution.surrogate_options import SurrogateOptions
from reportgen.cli import main
from reportgen.corpus.run import CorpusOptions
from reportgen.errors import ReportgenError
from reportgen.loading.inputs import encode
from reportgen.loading.models import LoadedModel, load_model
from reportgen.methods import REGISTRY, is_signed, method_title
from reportgen.pipeline import ExplainOptions


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_record_names_its_class_and_the_class_reads_the_record(name):
    info = REGISTRY[name]
    module, _, class_name = info.attributor.partition(":")
    cls = getattr(importlib.import_module(module), class_name)
    assert issubclass(cls, Attributor) and cls.name == name
    attributor = make_attributor(name, AttributionSettings(batch_size=1), MethodOptions(path=PathSteps(steps=3)))
    assert (attributor.signed, attributor.class_specific) == (info.signed, info.class_specific)
    assert is_signed(name) == info.signed and method_title(name) == info.title
    assert info.needs in ("gradients", "attention", "forward") and info.description


def test_each_method_takes_only_its_own_part_of_the_composed_options():
    """`MethodOptions` is composed of each method's own options (no inheritance between them); a class picks its
    part in `from_options`: integrated gradients the path, Shapley value sampling its orders, the others none. Each
    part names the methods that take it (`part`, the rule for an option of a method not chosen), and those are the
    methods whose record says they take it."""
    assert {f.name: f.type for f in MethodOptions.parts()} == {"path": "PathSteps", "shapley": "ShapleyOptions",
                                                               "surrogate": "SurrogateOptions"}
    assert {f.name for f in dataclasses.fields(MethodOptions)} - {f.name for f in MethodOptions.parts()} == {"given"}
    takers = {f.name: set(f.metadata[TAKEN_BY]) for f in MethodOptions.parts()}
    assert MethodOptions.__mro__[1:] == (object,)
    assert not {f.name for f in dataclasses.fields(ExplainOptions)} & {f.name for f in dataclasses.fields(PathSteps)}
    assert not {f.name for f in dataclasses.fields(CorpusOptions)} & {f.name for f in dataclasses.fields(PathSteps)}
    own = {"path": (PathSteps(steps=7), "steps", 7), "shapley": (ShapleyOptions(samples=5), "samples", 5),
           "surrogate": (SurrogateOptions(samples=9), "samples", 9)}
    for name, info in REGISTRY.items():
        module, _, class_name = info.attributor.partition(":")
        cls = getattr(importlib.import_module(module), class_name)
        parameters = list(inspect.signature(cls).parameters.values())[1:]
        wanted = {"path": info.walks_path, "shapley": bool(info.samples), "surrogate": info.surrogate}
        taken = [part for part, wants in wanted.items() if wants]
        assert [part for part, names in takers.items() if name in names] == taken, name
        assert [p.annotation for p in parameters] == [f"{type(own[part][0]).__name__} | None" for part in taken], name
        for part in taken:  # its part of the options, and nothing else, decides the attributor
            options, attribute, value = own[part]
            built = make_attributor(name, AttributionSettings(batch_size=1), MethodOptions(**{part: options}))
            assert getattr(built, attribute) == value, name


def test_method_help_is_read_from_the_registry():
    text = "".join(CliRunner().invoke(main, ["report", "--help"]).output.split())  # Click wraps at hyphens too
    for info in REGISTRY.values():
        assert "".join(f"{info.name} ({info.description})".split()) in text


def test_options_are_checked_without_building_an_attributor(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("an attributor was built just to check options or read metadata")

    monkeypatch.setattr(IntegratedGradients, "__init__", never)
    ExplainOptions(methods=("integrated-gradients", "gradient"),
                   method_options=MethodOptions(PathSteps(steps=8))).check()
    corpus = CorpusOptions(method="integrated-gradients", method_options=MethodOptions(PathSteps(steps="auto")))
    corpus.check()
    assert corpus.path_settings()["quadrature"] == PathSteps(steps="auto").rule
    with pytest.raises(ReportgenError, match="unknown method 'nope'"):
        ExplainOptions(methods=("nope",)).check()
    with pytest.raises(ReportgenError, match="needs a fixed steps= N"):
        ExplainOptions(methods=("integrated-gradients",),
                       method_options=MethodOptions(PathSteps(steps="auto", quadrature="riemann-left"))).check()
    with pytest.raises(ReportgenError):
        ExplainOptions(methods=("integrated-gradients",),
                       method_options=MethodOptions(PathSteps(steps=4, quadrature="simpson"))).check()


@pytest.fixture(scope="module")
def model(checkpoints, encoder_dir) -> LoadedModel:
    return load_model(str(checkpoints["base"]), role="base", encoder=str(encoder_dir), pooling="mean-all",
                      device=torch.device("cpu"))


def test_one_verdict_function_gives_probabilities_and_the_predicted_class(model):
    logits = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    verdicts = model.verdicts(logits)
    torch.testing.assert_close(verdicts.probabilities, logits.softmax(dim=-1))
    assert verdicts.predicted.tolist() == [0, 1]


def test_encoded_inputs_carry_token_type_and_sequence_ids(model):
    inputs = encode(model.tokenizer, ["the film was great", "awful"], 16, pad_to_max_length=True)
    assert inputs.token_type_ids is not None and inputs.token_type_ids.shape == inputs.input_ids.shape
    assert (inputs.token_type_ids == 0).all()  # one text each: one segment
    for ids, length in zip(inputs.sequence_ids, inputs.lengths()):
        assert len(ids) == length and ids[0] is None and ids[-1] is None and set(ids[1:-1]) == {0}
    second = inputs.select([1])
    assert second.sequence_ids == inputs.sequence_ids[1:] and torch.equal(second.token_type_ids,
                                                                         inputs.token_type_ids[1:])
