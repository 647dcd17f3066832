"""Run work in chunks of rows, shrinking the chunk when the GPU runs out of memory."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch

from reportgen.choices import PRECISIONS as PRECISION_NAMES
from reportgen.errors import OptionError, ReportgenError

PRECISIONS = dict(zip(PRECISION_NAMES, (None, torch.bfloat16, torch.float16)))  # name → autocast dtype


def default_batch_size(device: torch.device) -> int:
    """Rows (sample × path step) per forward/backward pass when the user gives no --batch-size.

    CPU: 16, measured (docs/benchmarks.md, "Rows per pass on the CPU"): from 8 to 64 rows the rate
    is within a few per cent at 128–512 tokens, 16 the fastest at 512, and memory grows with the
    rows. CUDA: 256, halved by `ChunkRunner` on out-of-memory.
    """
    return 256 if device.type == "cuda" else 16


def autocast(device: torch.device, precision: str) -> AbstractContextManager:
    """Mixed precision for the forward pass; gradients w.r.t. fp32 embeddings stay fp32."""
    if precision not in PRECISIONS:
        raise ReportgenError(f"unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}")
    dtype = PRECISIONS[precision]
    return nullcontext() if dtype is None else torch.autocast(device_type=device.type, dtype=dtype)


class ChunkRunner:
    """Calls `work(start, stop)` over [0, total) in chunks; halves the chunk on out-of-memory.

    The chunk size that worked is kept for later calls, so a too-large `auto` guess costs one
    failed pass, not one per chunk.
    """

    def __init__(self, batch_size: int, on_progress: Callable[[int], None] | None = None) -> None:
        if batch_size < 1:
            raise OptionError(f"{{batch_size}} must be at least 1 (got {batch_size})", "batch_size")
        self.batch_size = batch_size
        self.on_progress = on_progress

    def run(self, total: int, work: Callable[[int, int], None]) -> None:
        start = 0
        while start < total:
            stop = min(start + self.batch_size, total)
            try:
                work(start, stop)
            except torch.OutOfMemoryError:
                if self.batch_size == 1:
                    raise OptionError("out of GPU memory even one row at a time; lower {max_length} "
                                      "or use {device} cpu", "max_length", "device") from None
                self.batch_size = max(1, self.batch_size // 2)
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            if self.on_progress is not None:
                self.on_progress(stop - start)
            start = stop
