"""One run at a time per pipeline root, for every runner that writes under a root."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from tfxd.errors import TfxdError

EXITING_SECONDS = 30.0


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def process_lock(path: str, busy: type[TfxdError], what: str, fix: str) -> Iterator[None]:
    """An exclusive OS lock on ``path`` holding our pid; ``busy(message)`` if another process has
    it. The OS drops the lock when the process dies, so a crash leaves no stale lock."""
    import time

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + EXITING_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                # A killed holder's children release the lock as they finish exiting (a large
                # process takes a moment to unmap its memory): wait for them, not for a live one.
                if _alive(holder) or time.monotonic() > deadline:
                    raise busy(f"{what} (pid {holder}) holds {path}: {fix}") from None
                time.sleep(0.2)
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
