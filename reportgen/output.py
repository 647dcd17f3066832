"""Write output files so that an interrupted or failed run never leaves a half-written one.

Two promises: every file is complete or untouched (temporary sibling, then rename), and files
written together (the HTML, its JSON, its Markdown) change together or not at all. And because a
report can take an hour to compute, `check_writable` proves every output can be created *before*
the work starts, and that none of them would replace an input or another output of the same run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from reportgen.errors import ReportgenError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _cannot_write(exc: OSError, path: Path | None) -> ReportgenError:
    """Name the output the user gave, not the temporary sibling the error happened on."""
    where = path if path is not None else exc.filename or "the output"
    return ReportgenError(f"cannot write {where}: {exc.strerror or exc}")


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
            _make_folders(path.parent, created)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".check"):
                pass
            if path.exists() and not os.access(path, os.W_OK):
                raise PermissionError(13, "Permission denied", str(path))
        except OSError as exc:
            raise _cannot_write(exc, path) from None
        finally:
            _remove_folders(created)


def _make_folders(folder: Path, created: list[Path]) -> None:
    """Create `folder` and its missing parents, outermost first, adding each to `created` as it is made
    (so a failure halfway still knows what to remove)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(exist_ok=True)
        created.append(made)


def _remove_folders(created: list[Path]) -> None:
    """Remove folders `_make_folders` created, innermost first, if they are still empty."""
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
        shutil.copy2(path, backup)  # file systems without hard links
    return backup


def write_atomically(files: dict[Path, str]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place.

    With several files, each existing one is backed up first; if any rename fails, the files
    already replaced get their old content back (or are removed if they did not exist), so the
    HTML and its JSON never disagree.
    """
    staged: list[tuple[Path, Path]] = []
    backups: dict[Path, Path] = {}
    replaced: list[Path] = []
    current: Path | None = None
    try:
        for path, text in files.items():
            current = path
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                                 prefix=f".{path.name}.", suffix=".tmp", delete=False)
            staged.append((Path(handle.name), path))
            with handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(handle.name, 0o666 & ~_umask())  # temp files are private; reports are not
        if len(staged) > 1:
            for _, path in staged:
                current = path
                if path.exists():
                    backups[path] = _backup(path)
        for temporary, path in staged:
            current = path
            os.replace(temporary, path)
            replaced.append(path)
    except OSError as exc:
        _restore(replaced, backups)
        raise _cannot_write(exc, current) from None
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        for backup in backups.values():
            backup.unlink(missing_ok=True)


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces `path` only once the block finishes without error.

    For files written piece by piece (Parquet row groups): a temporary sibling, fsync'ed and
    renamed into place, so a kill never leaves a half-written file under the real name.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:  # os.open applies the umask, as for any new file
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666), "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise _cannot_write(exc, path) from None
    finally:
        temporary.unlink(missing_ok=True)


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
