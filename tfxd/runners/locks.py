"""One run at a time per pipeline root, for every runner that writes under a root."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from tfxd.errors import TfxdError


@contextmanager
def process_lock(path: str, busy: type[TfxdError], what: str, fix: str) -> Iterator[None]:
    """An exclusive OS lock on ``path`` holding our pid; ``busy(message)`` if another process has
    it. The OS drops the lock when the process dies, so a crash leaves no stale lock."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise busy(f"{what} (pid {holder}) holds {path}: {fix}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def pipeline_lock(root: str, name: str) -> Iterator[None]:
    """One run at a time per pipeline root."""
    path = os.path.join(root, ".tfxd-run.lock")
    with process_lock(
        path, TfxdError, f"another run of pipeline '{name}'", "wait for it to finish, or stop it"
    ):
        yield
