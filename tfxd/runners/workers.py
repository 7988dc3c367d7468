"""Nodes side by side (`tfxd run --jobs N`): each ready node in a process forked from the runner.

The runner imports TensorFlow, TFX and every node's executor module once, runs no TensorFlow op
itself, and forks one worker per node: a worker starts with all of it imported, runs the node with
TFX's launcher, writes one JSON line (its execution id, or the error) to a pipe and exits. Workers
die with the runner (Linux ``PR_SET_PDEATHSIG``), so a killed run leaves executions RUNNING in MLMD
and no process behind; the next run repairs them as it does after a sequential run.

ML Metadata stays one writer at a time: every connection the runner and its workers open holds an
exclusive lock on a file beside the SQLite database for as long as it is open (TFX's launcher opens
one for resolving inputs and registering the execution, and one for publishing, never while the
executor runs)."""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfxd.processes import die_with_parent, node_output


def default_jobs() -> int:
    """Nodes at once by default: one per two cores this process may use. A TensorFlow or Beam
    node keeps about two cores busy (on 2 cores, two nodes at once ran 1.08× slower than one
    after another: docs/benchmarks.md)."""
    return max(1, len(os.sched_getaffinity(0)) // 2)


def lock_path(connection: Any) -> str | None:
    """The lock file that serializes writers of a SQLite store; None for a server (MySQL)."""
    filename = getattr(connection, "filename_uri", "")
    return f"{filename}.lock" if filename else None


def serialized_metadata(connection: Any) -> Any:
    """TFX's ``Metadata`` handle on ``connection`` that holds the store's writer lock while open."""
    from tfx.orchestration import metadata

    class Serialized(metadata.Metadata):  # type: ignore[misc]
        def __init__(self, config: Any, path: str | None):
            super().__init__(config)
            self._lock_path = path
            self._lock_fd: int | None = None
            self._depth = 0

        def __enter__(self) -> Any:
            if self._depth == 0 and self._lock_path:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._lock_fd = fd
            self._depth += 1
            try:
                return super().__enter__()
            except BaseException:
                self._release()
                raise

        def __exit__(self, *exc: Any) -> None:
            try:
                super().__exit__(*exc)
            finally:
                self._release()

        def _release(self) -> None:
            self._depth -= 1
            if self._depth == 0 and self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None

    return Serialized(connection, lock_path(connection))


def preload_executors(ir: Any, deployment: Any) -> None:
    """Import every node's executor class here, once, so that forked workers start with them."""
    from tfx.orchestration.local import runner_utils
    from tfx.utils import import_utils

    for node in ir.nodes:
        spec = runner_utils.extract_executor_spec(deployment, node.pipeline_node.node_info.id)
        python = getattr(spec, "python_executor_spec", spec)  # a Beam executor's spec wraps one
        path = getattr(python, "class_path", "")
        if path:
            try:
                import_utils.import_class_by_path(path)
            except Exception:  # the worker imports it again and reports the error as the node's
                pass


@dataclass
class Finished:
    node: str
    execution_id: int | None = None
    error: str = ""


@dataclass
class _Worker:
    node: str
    pid: int
    reply: int  # read end of the worker's pipe


class Workers:
    """Forked workers, one per running node."""

    def __init__(self) -> None:
        self.running: dict[int, _Worker] = {}

    def __len__(self) -> int:
        return len(self.running)

    @property
    def nodes(self) -> list[str]:
        return [w.node for w in self.running.values()]

    def start(self, node: str, log: Path, work: Callable[[], int | None]) -> None:
        """Fork a worker that sends the output of fds 1 and 2 to ``log`` and runs ``work`` (the
        node; it returns the execution id)."""
        log.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            code = 1
            try:
                os.close(read)
                die_with_parent(parent)
                fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.close(fd)
                node_output()
                try:
                    reply: dict[str, Any] = {"execution_id": work()}
                except BaseException as err:  # the node's failure, reported by the runner
                    text = "".join(traceback.format_exception_only(type(err), err))
                    # At most 6 bytes a character in JSON: the reply fits the pipe's buffer.
                    reply = {"error": text[:8_000]}
                    traceback.print_exc()
                os.write(write, (json.dumps(reply) + "\n").encode())
                code = 0
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write)
        self.running[pid] = _Worker(node, pid, read)

    def wait(self) -> Finished:
        """The next worker to end, and what it reported."""
        pid, status = self._ended()
        worker = self.running.pop(pid)
        chunks = []
        while chunk := os.read(worker.reply, 65536):
            chunks.append(chunk)
        os.close(worker.reply)
        text = b"".join(chunks).decode(errors="replace").strip()
        if not text:
            code = os.waitstatus_to_exitcode(status)
            how = f"signal {-code}" if code < 0 else f"exit {code}"
            return Finished(worker.node, error=f"the worker process died ({how})")
        reply = json.loads(text)
        return Finished(worker.node, reply.get("execution_id"), reply.get("error", ""))

    def _ended(self) -> tuple[int, int]:
        """A worker that ended and its wait status; only workers are collected (another child's
        status is for whoever started it)."""
        while True:
            for pid in self.running:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return pid, status
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill the workers still running (the runner was interrupted)."""
        import signal

        for pid, worker in list(self.running.items()):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(worker.reply)
        self.running.clear()
