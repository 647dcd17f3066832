"""Write output files so that an interrupted or failed run never leaves a half-written one.

Two promises: every file is complete or untouched (temporary sibling, then rename), and files
written together (the HTML, its JSON, its Markdown) change together or not at all. And because a
report can take an hour to compute, `check_writable` proves every output can be created *before*
the work starts, and that none of them would replace an input or another output of the same run.
A disk that refuses a write later (full, over quota, failing; at the write, the flush or the close)
is one line, `cannot_write`, and the cleanup after it cannot itself fail (`close_quietly`,
`remove_quietly`, `remove_folders`), so a failed run leaves no file or folder it made.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from reportgen.errors import ReportgenError

# What to do when the disk, rather than the path, refuses a write (while writing, flushing or closing).
_ADVICE = {
    errno.ENOSPC: "free some space on that disk, or write the output elsewhere",
    getattr(errno, "EDQUOT", errno.ENOSPC): "free some space within the disk quota, or write the output elsewhere",
    errno.EFBIG: "write the output to another file system",
    errno.EIO: "check that disk, or write the output elsewhere",
}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def cannot_write(exc: OSError, path: Path | None, output: Path | None = None) -> ReportgenError:
    """The one line for an OSError met while creating, writing, flushing or closing the file `path`.

    `output`: the output that was asked for (as given), when `path` is a file reportgen keeps for it
    (a scan's `.partial` or settings file, a corpus's parts in its --scores folder). The line names
    the output, never the temporary sibling the error happened on; a working file is named beside it
    only where that file is what to fix (a permission, not a full disk). For a full disk, a quota or
    an I/O error it says what to do.
    """
    advice = _ADVICE.get(exc.errno)
    where = output if output is not None else path if path is not None else exc.filename or "the output"
    if output is not None and path is not None and path != output and advice is None:
        where = f"{output} (its working file {path})"
    return ReportgenError(f"cannot write {where}: {exc.strerror or exc}" + (f"; {advice}" if advice else ""))


@contextmanager
def writing(path: Path, output: Path | None = None) -> Iterator[None]:
    """Turn an OSError raised in the block (writing, flushing, closing `path`, a working file of the asked-for
    `output` when given) into `cannot_write`'s line."""
    try:
        yield
    except OSError as exc:
        raise cannot_write(exc, path, output) from None


def close_quietly(handle: IO | None) -> None:
    """Close a file during cleanup, after a failure: what its buffer could not write (a full disk fails
    again on close) is dropped, never raised over the error that matters."""
    if handle is None:
        return
    try:
        handle.close()
    except OSError:
        pass


def remove_quietly(paths: Iterable[Path]) -> None:
    """Delete files during cleanup; one that cannot be deleted is left, never raised over the first error."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


class AppendedFile:
    """A UTF-8 text file that grows batch by batch, each batch on disk (flushed, fsync'ed) before
    `append` returns, so a kill loses at most the batch in flight.

    Errors: every OSError (a full disk, a quota, an I/O error) is `cannot_write`'s one line, naming
    `output` (the output asked for, when `path` is a working file kept for it) rather than `path`.
    """

    def __init__(self, path: Path, output: Path | None = None) -> None:
        self.path = path
        self.output = output
        with writing(path, output):
            self._handle: IO[str] | None = path.open("a", encoding="utf-8", newline="")

    def append(self, text: str) -> None:
        with writing(self.path, self.output):
            self._handle.write(text)
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close after success; a buffer that cannot be written is an error."""
        handle, self._handle = self._handle, None
        if handle is not None:
            with writing(self.path, self.output):
                handle.close()

    def abandon(self) -> None:
        """Close after a failure or an interrupt; cannot fail (see `close_quietly`)."""
        handle, self._handle = self._handle, None
        close_quietly(handle)


def _identity(path: Path) -> object:
    """One file however it is named (relative, through a symlink, a hard link): its device and inode,
    or its resolved path while it does not exist."""
    path = path.expanduser().resolve()
    try:
        status = path.stat()
    except OSError:
        return path
    return status.st_dev, status.st_ino


def check_writable(paths: Iterable[Path | None], inputs: Iterable[object] = ()) -> None:
    """Fail now, in one line, if an output could not be written at the end of a long run, or would
    replace one of the run's `inputs` (paths; other inputs, such as hub ids or modules, are ignored)
    or another of its outputs. Every command checks its outputs here, before any work.

    Creates (and removes) a temporary file beside each output: the only test that really knows,
    since permissions, read-only mounts and /proc all answer differently to `os.access`. Folders it
    has to create for that are removed again, so a run refused later leaves nothing behind; the
    writers create them when they write.
    """
    given = {_identity(Path(str(i))): str(i) for i in inputs
             if isinstance(i, (str, Path)) and Path(str(i)).expanduser().is_file()}
    seen: dict[object, Path] = {}
    for path in paths:
        if path is None:
            continue
        path = Path(path)
        identity = _identity(path)
        if identity in given:
            raise ReportgenError(f"{path} would overwrite an input ({given[identity]}); choose another output "
                                 "file name")
        if identity in seen:
            raise ReportgenError(f"{path} is named as two different outputs ({seen[identity]} and {path}); give "
                                 "each its own file name")
        seen[identity] = path
        if path.is_dir():
            raise ReportgenError(f"cannot write {path}: it is a directory; give a file name")
        created: list[Path] = []
        try:
            make_folders(path.parent, created)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".check"):
                pass
            if path.exists() and not os.access(path, os.W_OK):
                raise PermissionError(13, "Permission denied", str(path))
        except OSError as exc:
            raise cannot_write(exc, path) from None
        finally:
            remove_folders(created)


def make_folders(folder: Path, created: list[Path]) -> None:
    """Create `folder` and its missing parents, outermost first, adding each to `created` as it is made
    (so a failure halfway still knows what to remove)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(exist_ok=True)
        created.append(made)


def remove_folders(created: list[Path]) -> None:
    """Remove folders `make_folders` created, innermost first, if they are still empty (cannot fail)."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return  # something else put a file there meanwhile: it is not ours to remove


def _backup(path: Path) -> Path:
    """A hidden sibling holding `path`'s current content, to put back if a later rename fails."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".bak")
    os.close(handle)
    backup = Path(name)
    try:
        backup.unlink()
        os.link(path, backup)  # instant, and the original stays in place
    except OSError:
        try:
            shutil.copy2(path, backup)  # file systems without hard links
        except BaseException:
            remove_quietly([backup])  # a copy cut short by a full disk is not left behind
            raise
    return backup


def _write_temporary(path: Path, content: str | bytes) -> Path:
    """`content` in a new hidden sibling of `path`, flushed and fsync'ed; on failure none is left."""
    binary = isinstance(content, bytes)
    handle = tempfile.NamedTemporaryFile("wb" if binary else "w", encoding=None if binary else "utf-8",
                                         dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    temporary = Path(handle.name)
    try:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()  # a full disk can fail here too: what the buffer still held is written now
        os.chmod(temporary, 0o666 & ~_umask())  # temp files are private; reports are not
    except BaseException:
        close_quietly(handle)
        remove_quietly([temporary])
        raise
    return temporary


def write_atomically(files: dict[Path, str | bytes], output: Path | None = None) -> None:
    """Write every file (text as UTF-8, or bytes) to a temporary sibling first, then rename them all
    into place.

    With several files, each existing one is backed up first; if any rename fails (or the run is
    interrupted between them), the files already replaced get their old content back (or are
    removed if they did not exist), so the HTML and its JSON never disagree. On failure no
    temporary file, backup or folder made for the files is left.

    Errors: an OSError anywhere (a full disk while writing, flushing or closing included) is
    `cannot_write`'s one line, naming the output concerned, or `output` when the files are working
    files kept for that asked-for output.
    """
    staged: list[tuple[Path, Path]] = []
    backups: dict[Path, Path] = {}
    replaced: list[Path] = []
    created: list[Path] = []
    current: Path | None = None
    done = False
    try:
        for path, content in files.items():
            current = path
            make_folders(path.parent, created)
            staged.append((_write_temporary(path, content), path))
        if len(staged) > 1:
            for _, path in staged:
                current = path
                if path.exists():
                    backups[path] = _backup(path)
        for temporary, path in staged:
            current = path
            os.replace(temporary, path)
            replaced.append(path)
        done = True
    except BaseException as exc:
        _restore(replaced, backups)
        if isinstance(exc, OSError):
            raise cannot_write(exc, current, output) from None
        raise
    finally:
        remove_quietly([temporary for temporary, _ in staged])
        remove_quietly(backups.values())
        if not done:
            remove_folders(created)


@contextmanager
def atomic_file(path: Path, output: Path | None = None) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces `path` only once the block finishes without error.

    For files written piece by piece (Parquet row groups): a temporary sibling, fsync'ed and
    renamed into place, so a kill never leaves a half-written file under the real name. On
    failure no temporary file or folder made for it is left.

    Errors: an OSError in the block or while flushing, closing or renaming is `cannot_write`'s line
    (naming `output`, the output asked for, when `path` is a working file kept for it).
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    created: list[Path] = []
    handle = None
    done = False
    try:  # os.open applies the umask, as for any new file
        make_folders(path.parent, created)
        handle = open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666), "wb")
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temporary, path)
        done = True
    except OSError as exc:
        raise cannot_write(exc, path, output) from None
    finally:
        close_quietly(handle)
        remove_quietly([temporary])
        if not done:
            remove_folders(created)


def _restore(replaced: list[Path], backups: dict[Path, Path]) -> None:
    """Undo the renames that succeeded: old content back, new files gone."""
    for path in reversed(replaced):
        try:
            if path in backups:
                os.replace(backups[path], path)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass  # nothing better to do; the error about the first failure is what the user needs
