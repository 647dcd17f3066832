"""Decide once per process, in at most two seconds, whether the Hugging Face hub can be used.

Without network, the hub libraries retry a look-up for about half a minute before they fail.
reportgen asks first: an offline variable the user set (`HF_HUB_OFFLINE`, `TRANSFORMERS_OFFLINE`,
`HF_DATASETS_OFFLINE`) or one short HEAD request to the hub endpoint that gets no answer means
"offline", and the loaders then read only local copies or fail at once with a message that says
to pass a local path. With network the probe costs one round trip per process.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

from reportgen.choices import CHECKPOINT_SUFFIXES
from reportgen.errors import OptionError

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
PROBE_TIMEOUT_S = 2.0
"""How long the hub endpoint has to answer; a look-up on a machine without network then fails this fast."""


def looks_like_path(spec: str) -> bool:
    """A spec that names a local file or folder (existing or not), never a hub id."""
    return spec.startswith((".", "/", "~")) or Path(spec).expanduser().exists()


def check_model_exists(spec: str, role: str) -> None:
    """A model named by a local path (or a checkpoint ending) that is not there: one line, torch-free, so the
    command line says it before the heavy imports. Hub ids pass (they are looked up when loading)."""
    path = Path(spec).expanduser()
    if not path.exists() and (path.suffix in CHECKPOINT_SUFFIXES or looks_like_path(spec)):
        raise OptionError(f"{{{role}}}: no such file: {spec}", role)


def first_line(exc: BaseException) -> str:
    """The part of a library's (often multi-line) error that fits in a one-line ReportgenError."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_true(value: str | None) -> bool:
    return (value or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _head(endpoint: str) -> bool:
    """Whether the endpoint answers a HEAD request at all (any HTTP status counts as an answer).

    Through huggingface_hub's own HTTP session, so its proxy and certificate settings apply.
    """
    from huggingface_hub.utils import get_session

    try:
        get_session().head(endpoint, timeout=PROBE_TIMEOUT_S)
    except Exception:  # no route, refused, timed out, offline mode: the hub cannot be used
        return False
    return True


@functools.cache
def _answers(endpoint: str) -> bool:
    """`_head` in a daemon thread, so that even a hanging DNS look-up costs at most PROBE_TIMEOUT_S."""
    result: list[bool] = []
    probe = threading.Thread(target=lambda: result.append(_head(endpoint)), daemon=True,
                             name="reportgen-hub-probe")
    probe.start()
    probe.join(PROBE_TIMEOUT_S)
    return bool(result) and result[0]


def offline_variable() -> str | None:
    """The offline variable the user set, if any: the hub libraries then read only their caches, and fail fast."""
    return next((variable for variable in OFFLINE_VARIABLES if _is_true(os.environ.get(variable))), None)


def hub_unavailable() -> str | None:
    """Why hub look-ups cannot succeed now (an offline variable, or no answer), or None if they can."""
    variable = offline_variable()
    if variable:
        return f"{variable} is set"
    from huggingface_hub import constants

    if not _answers(constants.ENDPOINT):
        return f"no answer from {constants.ENDPOINT} within {PROBE_TIMEOUT_S:g} s"
    return None
