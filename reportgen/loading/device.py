"""Choose where the maths runs: a GPU when there is one, unless the user says otherwise."""

from __future__ import annotations

import torch

from reportgen.errors import OptionError
from reportgen.loading.model_options import DEVICE_FORM, unknown_device


def resolve_device(spec: str) -> torch.device:
    """`auto`, `cpu`, `cuda` or `cuda:N`; asking for a GPU that is not there is an error."""
    spec = spec.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if (error := unknown_device(spec)) is not None:
        raise error
    match = DEVICE_FORM.fullmatch(spec)
    if not torch.cuda.is_available():
        raise OptionError(f"{{device}} {spec}: no CUDA GPU is available to PyTorch here; use {{device}} cpu (or auto)",
                          "device")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise OptionError(f"{{device}} {spec}: only {torch.cuda.device_count()} GPU(s), "
                          f"numbered 0 to {torch.cuda.device_count() - 1}", "device")
    return torch.device("cuda", index)
