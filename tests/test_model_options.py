"""loading/model_options: the two models and how they run, as report, scan and corpus take them; checked once,
torch-free, naming each option as the caller gave it."""

from __future__ import annotations

import pytest

from reportgen.errors import OptionError
from reportgen.loading.model_options import BATCH_HELP, ModelOptions, batch_size_from_text
from reportgen.option_spec import declared


@pytest.mark.parametrize("changes, keyword, flag", [
    ({"base": "missing/base.pth"}, "base=: no such file: missing/base.pth", "--base: no such file"),
    ({"finetuned": "gone.safetensors"}, "finetuned=: no such file", "--finetuned: no such file"),
    ({"pooling": "max"}, "pooling=: unknown pooling 'max'", "--pooling: unknown pooling 'max'"),
    ({"precision": "fp8"}, "precision=: unknown precision 'fp8'", "--precision: unknown precision 'fp8'"),
    ({"batch_size": 0}, "batch_size= must be 'auto' or a positive whole number (got '0')", "--batch-size must be"),
    ({"batch_size": "many"}, "batch_size= must be 'auto'", "--batch-size must be 'auto'"),
    ({"max_length": 0}, "max_length= must be at least 2 (got 0)", "--max-length must be at least 2 (got 0)"),
    ({"max_length": 1}, "max_length= must be at least 2 (got 1)", "--max-length must be at least 2 (got 1)"),
    ({"device": "tpu"}, "device=: unknown device 'tpu'; use auto, cpu, cuda or cuda:N", "--device: unknown device"),
    ({"device": "cuda:x"}, "device=: unknown device 'cuda:x'", "--device: unknown device 'cuda:x'"),
])
def test_each_mistake_names_the_option_as_the_caller_gave_it(changes, keyword, flag, checkpoints):
    models = ModelOptions(**{"base": str(checkpoints["base"]), "finetuned": str(checkpoints["finetuned"]), **changes})
    with pytest.raises(OptionError) as caught:
        models.check()
    assert keyword in str(caught.value)
    assert caught.value.for_cli().startswith(flag)


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", " CUDA:0 "])
def test_every_device_form_passes_before_torch_knows_whether_it_is_there(device, checkpoints):
    ModelOptions(str(checkpoints["base"]), str(checkpoints["finetuned"]), device=device).check()


def test_batch_size_as_written_and_as_a_number(checkpoints):
    assert batch_size_from_text("32") == 32 and batch_size_from_text("auto") == "auto"
    given = {"base": str(checkpoints["base"]), "finetuned": str(checkpoints["finetuned"])}
    assert ModelOptions(**given).rows_per_batch is None
    assert ModelOptions(**given, batch_size=8).rows_per_batch == 8
    ModelOptions(**given, batch_size=8).check()


def test_every_command_that_loads_models_has_its_batch_help():
    assert set(BATCH_HELP) == {"report", "scan", "corpus"}
    assert [d.keyword for d in declared(ModelOptions)] == ["base", "finetuned", "encoder", "adapter_base", "pooling",
                                                           "max_length", "device", "batch_size", "precision"]
