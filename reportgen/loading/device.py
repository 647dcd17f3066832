"""Choose where the maths runs: a GPU when there is one, unless the user says otherwise."""

from __future__ import annotations

import re

import torch

from reportgen.errors import ReportgenError


def resolve_device(spec: str) -> torch.device:
    """`auto`, `cpu`, `cuda` or `cuda:N`; asking for a GPU that is not there is an error."""
    spec = spec.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", spec)
    if not match:
        raise ReportgenError(f"unknown device '{spec}'; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise ReportgenError(f"--device {spec}: no CUDA GPU is available to PyTorch here; "
                             "use --device cpu (or auto)")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise ReportgenError(f"--device {spec}: only {torch.cuda.device_count()} GPU(s), "
                             f"numbered 0 to {torch.cuda.device_count() - 1}")
    return torch.device("cuda", index)
