"""The per-root run lock: a live holder is refused at once; a lock whose holder was killed but
whose children are still exiting (they hold its file open a moment longer) is waited for."""

from __future__ import annotations

import fcntl
import os
import time

import pytest

from tfxd.errors import TfxdError
from tfxd.runners.locks import process_lock


def hold(path, pid_text: str, seconds: float) -> int:
    """A forked process that holds the lock on ``path`` with ``pid_text`` in it for ``seconds``."""
    ready, told = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            with open(path, "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                handle.truncate(0)
                handle.write(pid_text)
                handle.flush()
                os.write(told, b"x")
                time.sleep(seconds)
        finally:
            os._exit(0)
    os.read(ready, 1)
    return child


def test_a_live_holder_is_refused_and_a_dead_ones_children_are_waited_for(tmp_path):
    path = str(tmp_path / "run.lock")
    child = hold(path, str(os.getpid()), 5)  # names a live process: another run
    start = time.monotonic()
    with pytest.raises(TfxdError, match=rf"another run \(pid {os.getpid()}\) holds {path}: wait"):
        with process_lock(path, TfxdError, "another run", "wait"):
            pass
    assert time.monotonic() - start < 1
    os.kill(child, 9)
    os.waitpid(child, 0)

    child = hold(path, "999999999", 1.5)  # a holder that is gone, its child still exiting
    start = time.monotonic()
    with process_lock(path, TfxdError, "another run", "wait"):
        waited = time.monotonic() - start
    os.waitpid(child, 0)
    assert 1.0 < waited < 10
    assert open(path).read() == str(os.getpid())
