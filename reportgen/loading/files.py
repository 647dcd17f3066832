"""Reading a model's files: a short content hash, a state dict read as tensors only, DataParallel's key prefix,
and a Hugging Face load (directory or hub id) whose failure is one line that says what to pass instead."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import torch

from reportgen.errors import OptionError, ReportgenError
from reportgen.loading.hub import first_line, hub_unavailable, looks_like_path

T = TypeVar("T")


def short_sha256(paths: list[Path]) -> str:
    """A short content hash, so two reports can tell whether they used the same weights."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:12]


def read_state_dict(path: Path) -> Mapping[str, torch.Tensor]:
    """Read tensors only: `weights_only=True` means a checkpoint can never run code."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, pickled code, not a checkpoint at all
        raise ReportgenError(f"cannot read checkpoint {path}: {first_line(exc)}") from None
    if isinstance(state, Mapping):
        for wrapper in ("state_dict", "model_state_dict"):
            if isinstance(state.get(wrapper), Mapping):
                state = state[wrapper]
    if not isinstance(state, Mapping) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ReportgenError(
            f"{path} is not a state dict (a mapping of parameter names to tensors); save it with "
            "torch.save(model.state_dict(), path)")
    return state


DATA_PARALLEL_PREFIX = "module."


def without_data_parallel_prefix(state: Mapping[str, torch.Tensor]) -> tuple[Mapping[str, torch.Tensor], str | None]:
    """A state dict saved from `nn.DataParallel` or `DistributedDataParallel` (every key under `module.`)
    read without the prefix, and a note saying so for the report's header; any other state dict as it is."""
    if not all(key.startswith(DATA_PARALLEL_PREFIX) for key in state):
        return state, None
    stripped = {key[len(DATA_PARALLEL_PREFIX):]: tensor for key, tensor in state.items()}
    return stripped, f"saved from DataParallel: the '{DATA_PARALLEL_PREFIX}' prefix of its keys was stripped"


def from_hub_or_disk(spec: str, what: str, local_hint: str, load: Callable[[bool], T],
                      option: str | None = None) -> T:
    """`load(local_files_only)` for a model directory or hub id, errors as one line ending in `local_hint`.

    option: the option `local_hint` names as "{option}" (`OptionError`: `base=` from the API, `--base` on the
    command line); None for a hint that names none.

    A hub id while the hub is unavailable is read from the local cache only: it fails at once
    instead of after half a minute of retries, and the message says why and to pass a local path.
    """
    local = looks_like_path(spec)
    if local and not Path(spec).expanduser().exists():  # else transformers takes it for a malformed hub id
        raise load_error(f"cannot load {what} '{spec}': no such file or directory; {local_hint}", option)
    offline = None if local else hub_unavailable()
    try:
        return load(offline is not None)
    except ReportgenError:
        raise
    except Exception as exc:  # whatever transformers or torch raise: its cause, in one line
        cause = first_line(exc)
        if not isinstance(exc, (OSError, ValueError)):
            cause = f"{type(exc).__name__}: {cause}"
        if offline:
            advice = f"; the Hugging Face hub is unavailable ({offline}), so {local_hint}"
        elif not local:
            advice = f"; check the hub id, or {local_hint}"
        else:  # the folder is there: the cause above is the whole story, not the path
            advice = "" if Path(spec).expanduser().exists() else f"; check the path, or {local_hint}"
        raise load_error(f"cannot load {what} '{spec}': {cause}{advice}", option) from None


def load_error(message: str, option: str | None) -> ReportgenError:
    return ReportgenError(message) if option is None else OptionError(message, option)
