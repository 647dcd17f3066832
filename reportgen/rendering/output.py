"""Write output files so that an interrupted or failed run never leaves a half-written one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from reportgen.errors import ReportgenError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(files: dict[Path, str]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                                 prefix=f".{path.name}.", suffix=".tmp", delete=False)
            staged.append((Path(handle.name), path))
            with handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(handle.name, 0o666 & ~_umask())  # temp files are private; reports are not
        for temporary, path in staged:
            os.replace(temporary, path)
    except OSError as exc:
        raise ReportgenError(f"cannot write {exc.filename or 'the output'}: {exc.strerror or exc}") from None
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
