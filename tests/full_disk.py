"""A full disk without root: files opened for writing under one folder run out of room after a budget.

`FullDisk(folder, room).install(monkeypatch)` replaces `open` (builtins and `io`, so `Path.open` and
`tempfile` too) by one that, for files under `folder`, builds the usual buffered stack on a raw file
whose writes fail with ENOSPC once `room` bytes have been written there in all (the write that
crosses the line is cut short, as the kernel does). Everything above the raw file is the real
thing: text and buffered layers hold what they could not write, so `flush()` and `close()` fail
again, as they do on a real full disk. Other files (models, data, caches) are untouched.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path


class FullDisk:
    def __init__(self, folder: Path, room: int | None, fault: type[BaseException] | None = None) -> None:
        """`room`: bytes that fit under `folder` before ENOSPC (None: unlimited, to measure a run);
        `fault`: raised once instead of ENOSPC, e.g. KeyboardInterrupt for a Ctrl-C in the middle of a write
        (after it the disk has room again, as after a real Ctrl-C)."""
        self.folder = folder.resolve()
        self.room = room
        self.fault = fault
        self.written = 0
        self.failures = 0
        self.files: list[list[int]] = []  # per file opened for writing: [bytes under folder before it, its bytes]
        self._open = builtins.open

    def install(self, monkeypatch) -> FullDisk:
        monkeypatch.setattr(builtins, "open", self.open)
        monkeypatch.setattr(io, "open", self.open)
        return self

    def rooms(self) -> list[int]:
        """After an unlimited run: a room that runs out halfway through each file it wrote, in order."""
        return [start + max(1, size // 2) for start, size in self.files if size]

    def _covers(self, file) -> bool:
        if isinstance(file, int):
            try:
                file = os.readlink(f"/proc/self/fd/{file}")
            except OSError:
                return False
        try:
            return Path(os.fsdecode(file)).resolve().is_relative_to(self.folder)
        except (TypeError, ValueError):
            return False

    def open(self, file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True,
             opener=None):
        if not any(c in mode for c in "wax+") or not self._covers(file):
            return self._open(file, mode, buffering, encoding, errors, newline, closefd, opener)
        raw = _Raw(self, file, mode.replace("b", "").replace("t", ""), closefd=closefd, opener=opener)
        if buffering == 0:
            return raw
        buffered = io.BufferedRandom(raw) if "+" in mode else io.BufferedWriter(raw)
        if "b" in mode:
            return buffered
        return io.TextIOWrapper(buffered, encoding=encoding or "utf-8", errors=errors, newline=newline)


class _Raw(io.FileIO):
    def __init__(self, disk: FullDisk, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.disk = disk
        self.record = [disk.written, 0]
        disk.files.append(self.record)

    def write(self, data) -> int:
        size = memoryview(data).nbytes
        room = size if self.disk.room is None else max(0, self.disk.room - self.disk.written)
        if room == 0 and size:
            self.disk.failures += 1
            if self.disk.fault is not None:
                self.disk.room = None
                raise self.disk.fault
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = super().write(memoryview(data).cast("B")[:min(size, room)])
        self.disk.written += written
        self.record[1] += written
        return written
