"""Helpers for the servers tests start on 127.0.0.1: a free port, and a server process that is
waited for, logged to a temporary folder, and killed afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn


def missing(what: str, fix: str) -> NoReturn:
    """A server or tool the test needs is not here: locally a skip whose reason is printed,
    under CI (``CI=true``) a failure, since the project's scripts install everything."""
    import sys

    import pytest

    reason = f"{what} is not installed: {fix}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must have it: {reason}")
    print(f"skipped: {reason}", file=sys.stderr)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server_process(
    command: Callable[[str], list[str]],
    ready: Callable[[str], bool],
    what: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Iterator[str]:
    """Start ``command(folder)`` (its output in ``<folder>/log``); wait until ``ready(folder)``;
    yield the folder; kill the process and remove the folder at the end."""
    folder = tempfile.mkdtemp(prefix="tfxd-server-")
    log_path = os.path.join(folder, "log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command(folder),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not ready(folder):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start: see {log_path}")
            time.sleep(0.1)
        yield folder
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def answers(url: str) -> bool:
    """Whether an HTTP server answers at ``url`` (any status)."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=2)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set ``values`` in os.environ for the block, then restore what was there."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
