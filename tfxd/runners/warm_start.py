"""Start ``python -m MODULE ARGS`` task commands without paying TensorFlow's import each time.

A cold start imports TensorFlow and TFX anew (~10 s on a 2-core machine) for every task and
driver. :class:`WarmStarter` instead keeps one helper interpreter that imported them once, before it
ran any TensorFlow op, and forks it per command: the child takes the command's argv, environment
and log file, runs the module as ``__main__`` and exits with its status, like a fresh process
whose imports were already done. Only modules of TFX and tfxd (which import TensorFlow anyway) are
forked; any other command starts cold, as does every command with ``cold=True`` (a fresh
interpreter each, as a container starts).

The helper says ``ready`` once its imports are done (a helper that cannot import them is not used:
commands start cold and show why), then speaks JSON lines on stdin/stdout: ``{"argv", "env",
"log"}`` in, ``{"code"}`` out. A helper that dies while a command runs fails that command (never
run a second time). It exits when its stdin closes (the launcher closed, or its starter died).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from tfxd.processes import die_with_parent

# Imported once by the helper; the modules that tasks run as __main__ are not among them.
WARM_IMPORTS = (
    "tensorflow",
    "apache_beam",
    "tfx.components",
    "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor",
)


WARM_MODULES = ("tfx.", "tfxd.")
READY = "ready"  # the helper's first line, once its imports are done


class WarmStarter:
    """Runs task commands, forked from one warm helper unless ``cold``."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        cold: bool = False,
        warm_modules: tuple[str, ...] = WARM_MODULES,
        imports: tuple[str, ...] = WARM_IMPORTS,
    ):
        self.env = env
        self.cold = cold
        self.warm_modules = warm_modules
        self.imports = imports
        self._helper: subprocess.Popen[str] | None = None

    def run(self, argv: list[str], env: dict[str, str], log: Path) -> int:
        """Run ``argv`` with ``env``, stdout and stderr appended to ``log``; its exit status."""
        warm = len(argv) > 2 and argv[1] == "-m" and argv[2].startswith(self.warm_modules)
        if self.cold or not warm:
            with open(log, "ab") as out:
                return subprocess.run(
                    argv, stdout=out, stderr=subprocess.STDOUT, env=env, check=False
                ).returncode
        helper = self._start()
        if helper is None:  # it could not import what it preloads: a fresh interpreter says why
            self.cold = True
            return self.run(argv, env, log)
        assert helper.stdin is not None and helper.stdout is not None
        request = {"argv": argv[2:], "env": env, "log": str(log)}
        try:
            helper.stdin.write(json.dumps(request) + "\n")
            helper.stdin.flush()
            line = helper.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:  # the helper died with the command: a failure, never a silent second run
            self._helper = None
            with open(log, "a", encoding="utf-8") as out:
                out.write("tfxd: the launcher's helper process died while this command ran\n")
            return 1
        return int(json.loads(line)["code"])

    def close(self) -> None:
        if self._helper is not None:
            assert self._helper.stdin is not None
            self._helper.stdin.close()
            self._helper.wait()
            self._helper = None

    def __enter__(self) -> WarmStarter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[str] | None:
        """The running helper, started when there is none; None when it cannot start."""
        if self._helper is None or self._helper.poll() is not None:
            self._helper = subprocess.Popen(
                [sys.executable, "-m", "tfxd.runners.warm_start", *self.imports],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**self.env, "TFXD_LAUNCHER_PARENT": str(os.getpid())},
                text=True,
            )
            assert self._helper.stdout is not None
            if self._helper.stdout.readline().strip() != READY:
                self._helper.wait()
                self._helper = None
        return self._helper


def _child(request: dict[str, Any]) -> int:
    """In the forked child: become the command and run it; its exit status."""
    import runpy
    import traceback

    fd = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    os.environ.clear()
    os.environ.update(request["env"])
    paths = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = [p for p in paths if p not in sys.path]
    module, *args = request["argv"]
    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(done.code, file=sys.stderr)
        return 1
    except BaseException:  # the command's crash is its exit status
        traceback.print_exc()
        return 1


def _serve(imports: list[str], requests: IO[str], replies: IO[str]) -> None:
    import importlib

    for name in imports:
        importlib.import_module(name)
    replies.write(READY + "\n")
    replies.flush()
    helper = os.getpid()
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                die_with_parent(helper)
                code = _child(request)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        replies.write(json.dumps({"code": code}) + "\n")
        replies.flush()


if __name__ == "__main__":
    # Replies go to a private copy of stdout; whatever an import prints goes to stderr.
    die_with_parent(int(os.environ.get("TFXD_LAUNCHER_PARENT", os.getppid())))
    _replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    _serve(sys.argv[1:], sys.stdin, _replies)
