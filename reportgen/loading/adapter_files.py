"""A PEFT adapter folder's files as the command line judges them before torch loads: which folders are adapters
(`adapter_config.json`), where their weights are, and whether --adapter-base fits the models given. Torch-free:
`model_options.ModelOptions.check` asks it first; `adapters` loads the folders it judged."""

from __future__ import annotations

from pathlib import Path

from reportgen.choices import role_word
from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.hub import check_model_exists

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


def is_adapter_dir(path: Path) -> bool:
    """A folder that PEFT saved an adapter in (`adapter_config.json`)."""
    return path.is_dir() and (path / ADAPTER_CONFIG).is_file()


def adapter_weights(folder: Path) -> list[Path]:
    """The adapter's weight files in `folder` that are there, in ADAPTER_WEIGHTS's order."""
    return [folder / name for name in ADAPTER_WEIGHTS if (folder / name).is_file()]


def check_adapter_weights(folder: Path, role: str) -> None:
    """ReportgenError in one line for an adapter folder without its weights file: PEFT would look for it on the
    hub and fail with a network error that does not say what is missing."""
    if not adapter_weights(folder):
        raise ReportgenError(f"{folder} has no {ADAPTER_WEIGHTS[0]} (or {ADAPTER_WEIGHTS[1]}): the "
                             f"{role_word(role)} adapter's weights are missing; copy the whole folder that PEFT's "
                             f"save_pretrained wrote, {ADAPTER_CONFIG} and its weights together")


def check_adapters(specs: dict[str, str | None], adapter_base: str | None) -> None:
    """Torch-free checks of the adapter folders among `specs` (role: local path or hub id; None for a module in
    memory, never an adapter folder) and of `adapter_base`.

    ReportgenError in one line: an adapter folder without its weights; OptionError: `adapter_base` given when no
    model is an adapter folder (it would be ignored), or a local path that is not there."""
    folders = {role: Path(spec).expanduser() for role, spec in specs.items() if spec is not None}
    adapters = [role for role, path in folders.items() if is_adapter_dir(path)]
    for role in adapters:
        check_adapter_weights(folders[role], role)
    if adapter_base is None:
        return
    if not adapters:
        raise OptionError("{adapter_base} is the base model of a PEFT adapter folder (one with " + ADAPTER_CONFIG
                          + "), but neither {base} nor {finetuned} is one; leave {adapter_base} out",
                          "adapter_base", "base", "finetuned")
    check_model_exists(str(adapter_base), "adapter_base")
