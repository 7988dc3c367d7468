"""One run at a time per pipeline root, for every runner that writes under a root."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from tfxd.errors import TfxdError


@contextmanager
def pipeline_lock(root: str, name: str) -> Iterator[None]:
    """One run at a time per pipeline root. The OS drops the lock when the process dies."""
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, ".tfxd-run.lock")
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise TfxdError(
                f"another run of pipeline '{name}' holds {path} (pid {holder}): wait for it to "
                "finish, or stop it"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
