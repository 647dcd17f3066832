"""Several processes, one job: ranks launched by `torchrun`, each on its own device and rows.

`torchrun --nproc-per-node N -m reportgen …` starts N copies of the command and tells each its
place in environment variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, …). `start` reads them
and joins the process group; without them it is a group of one, so every command runs the same
code with or without torchrun. Each rank takes a disjoint share of the rows (`shard`), works on
`cuda:LOCAL_RANK` (or the CPU, with the gloo backend), writes its own results, and rank 0 waits
for the others (`SharedProgress.wait_for_others`) before it merges them.

Nothing here moves tensors between ranks: the ranks only agree on who does what, count finished
rows in the rendezvous store (so rank 0's progress bar covers every rank, across nodes), and
exchange small Python objects at the start.
"""

from __future__ import annotations

import os
import platform
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
from tqdm.auto import tqdm

from reportgen.errors import ReportgenError
from reportgen.loading.device import resolve_device

T = TypeVar("T")
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
GROUP_TIMEOUT = timedelta(hours=6)
"""How long a collective may wait: rank 0 may merge a large earlier run before the others start."""
POLL_SECONDS = 0.5


@dataclass
class Ranks:
    """This process's place in the job: rank, world size, its device, and whether it joined a group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    joined: bool = False  # True when init_process_group was called here (and must be undone)

    @property
    def is_main(self) -> bool:
        """Rank 0 merges, aggregates, writes the outputs and shows the progress bar."""
        return self.rank == 0

    def describe(self) -> str:
        return f"rank {self.rank} of {self.world_size}"


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank_device(spec: str, local_rank: int, world_size: int) -> torch.device:
    """One process per GPU: rank k of a node takes cuda:k; `--device cpu` keeps every rank on the CPU."""
    spec = spec.strip().lower()
    if world_size == 1:
        return resolve_device(spec)
    if spec == "cpu" or (spec == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if spec not in ("auto", "cuda"):
        raise ReportgenError(f"--device {spec}: under torchrun each process takes the GPU of its local rank; "
                             "use --device auto, cuda or cpu")
    if not torch.cuda.is_available():
        raise ReportgenError("--device cuda: no CUDA GPU is available to PyTorch here; use --device cpu (or auto)")
    if local_rank >= torch.cuda.device_count():
        raise ReportgenError(f"local rank {local_rank} has no GPU: this node has {torch.cuda.device_count()}; "
                             "start at most that many processes per node (--nproc-per-node)")
    return torch.device("cuda", local_rank)


def start(device: str = "auto") -> Ranks:
    """Join torchrun's process group when launched by it; otherwise a group of one on `device`."""
    if not launched_by_torchrun():
        return Ranks(device=resolve_device(device))
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise ReportgenError(f"WORLD_SIZE is set but {', '.join(missing)} not: launch several processes with "
                             "torchrun (e.g. torchrun --nproc-per-node 2 -m reportgen …)")
    import torch.distributed as dist

    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ["LOCAL_RANK"])
    where = rank_device(device, local_rank, world_size)
    if where.type == "cuda":
        torch.cuda.set_device(where)
    # Small objects and waits go through gloo on the CPU; NCCL is there for tensors on GPUs.
    backend = "cpu:gloo,cuda:nccl" if where.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend=backend, timeout=GROUP_TIMEOUT)
    except (RuntimeError, ValueError) as exc:
        raise ReportgenError(f"rank {rank} could not join the process group: {str(exc).splitlines()[0]}; "
                             "check --rdzv-endpoint / --master-addr and that the port is free") from None
    return Ranks(rank, world_size, local_rank, where, joined=True)


@contextmanager
def session(device: str = "auto") -> Iterator[Ranks]:
    """`start`, and leave the group however the work ends."""
    ranks = start(device)
    try:
        yield ranks
    finally:
        stop(ranks)


def stop(ranks: Ranks) -> None:
    """Leave the process group (once every rank is done with it)."""
    if ranks.joined:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
        ranks.joined = False


def shard(items: Sequence[T], ranks: Ranks) -> list[T]:
    """This rank's share: every world_size-th item from position rank, so shares differ by at most one
    item and each spans the whole range (long and short texts alike when rows are ordered)."""
    return list(items[ranks.rank::ranks.world_size])


def barrier(ranks: Ranks) -> None:
    if ranks.world_size > 1:
        import torch.distributed as dist

        dist.barrier()


def gather(value: Any, ranks: Ranks) -> list[Any]:
    """Every rank's `value`, in rank order, on every rank (small picklable objects only)."""
    if ranks.world_size == 1:
        return [value]
    import torch.distributed as dist

    out: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(out, value)
    return out


def share_from_main(value: Any, ranks: Ranks) -> Any:
    """Rank 0's `value` on every rank (e.g. what rank 0 found on disk before the others look)."""
    return gather(value if ranks.is_main else None, ranks)[0]


def where_am_i(ranks: Ranks) -> dict[str, str]:
    """This rank's device and host, for the report's header (hosts are counted, never named)."""
    name = torch.cuda.get_device_name(ranks.device) if ranks.device.type == "cuda" else f"cpu ({platform.machine()})"
    return {"device": name, "host": socket.gethostname()}


def describe_devices(places: list[dict[str, str]]) -> str:
    """'cpu (x86_64)' alone, '2 × cpu (x86_64)', or '16 × NVIDIA H100 80GB HBM3 on 2 nodes'."""
    counts: dict[str, int] = {}
    for place in places:
        counts[place["device"]] = counts.get(place["device"], 0) + 1
    if len(places) == 1:
        return places[0]["device"]
    text = ", ".join(f"{n} × {name}" for name, n in counts.items())
    nodes = len({place["host"] for place in places})
    return text + (f" on {nodes} nodes" if nodes > 1 else "")


def _store(ranks: Ranks):
    """The rendezvous key-value store every rank reaches (the agent's, under torchrun); None alone."""
    if ranks.world_size == 1:
        return None
    from torch.distributed import distributed_c10d

    try:
        return distributed_c10d._get_default_store()
    except (AttributeError, ValueError, RuntimeError):
        return None


class SharedProgress:
    """A progress bar on rank 0 that counts every rank's finished rows (rows/s and ETA from tqdm).

    Each rank adds its finished rows to a counter in the rendezvous store; rank 0 reads the sum
    whenever it finishes a batch itself and, at the end, while it waits for the others, which is
    the barrier before the merge: store counters need no collective call, so ranks with unequal
    work never block each other, and the wait has no timeout of its own (torchrun stops the job
    if a rank dies).
    """

    def __init__(self, ranks: Ranks, name: str, *, total: int, initial: int, enabled: bool, unit: str = "row") -> None:
        self.ranks = ranks
        self.store = _store(ranks)
        self.key = f"reportgen/{name}"
        self.done_key = f"{self.key}/finished-ranks"
        self.local = 0
        self.bar = tqdm(total=total, initial=initial, unit=unit, desc=name, dynamic_ncols=True,
                        disable=not (enabled and ranks.is_main))
        self.initial = initial

    def advance(self, rows: int) -> None:
        """This rank finished `rows` more rows."""
        self.local += rows
        if self.store is None:
            self.bar.update(rows)
            return
        total = self.store.add(self.key, rows)
        if self.ranks.is_main:
            self._show(total)

    def _show(self, finished: int) -> None:
        self.bar.update(self.initial + finished - self.bar.n)

    def wait_for_others(self) -> None:
        """Mark this rank done; rank 0 returns only when every rank is (the barrier before merging)."""
        if self.ranks.world_size == 1:
            return
        if self.store is None:  # no store to poll: a plain barrier
            barrier(self.ranks)
            return
        self.store.add(self.done_key, 1)
        if not self.ranks.is_main:
            return
        while self.store.add(self.done_key, 0) < self.ranks.world_size:
            self._show(self.store.add(self.key, 0))
            time.sleep(POLL_SECONDS)
        self._show(self.store.add(self.key, 0))

    def close(self) -> None:
        self.bar.close()
