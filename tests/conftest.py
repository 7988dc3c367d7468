from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
PENGUIN = REPO / "pipelines" / "penguin"


@pytest.fixture(scope="session")
def penguin_data() -> Path:
    """The penguin example's data folder, written from the palmerpenguins package."""
    from tfxd.examples import write_example_data

    return write_example_data("penguin", REPO / "pipelines")


@pytest.fixture
def penguin_copy(tmp_path: Path, penguin_data: Path) -> Path:
    """A private copy of the penguin example (its runs/ go under tmp_path)."""
    dest = tmp_path / "penguin"
    shutil.copytree(PENGUIN, dest, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    return dest / "pipeline.yaml"


def tfxd(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The ``tfxd`` command run in this process: the ``main()`` the console script calls, with its
    output captured 250 columns wide, ``cwd`` as the working folder and ``env`` added to the
    environment for the call. TensorFlow and TFX stay imported between calls (a fresh process
    pays ~12 s importing them); tests that kill a run start a real process instead."""
    import contextlib
    import io
    import traceback

    from rich.console import Console

    from tfxd import cli

    out, err = io.StringIO(), io.StringIO()
    saved = (cli.console, os.getcwd(), dict(os.environ))
    cli.console = Console(file=out, width=250, highlight=False)
    os.environ.update(env or {})
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(args))
            except SystemExit as exit_:  # argparse
                code = exit_.code if isinstance(exit_.code, int) else 1
            except Exception:  # what the interpreter would print before exiting with 1
                traceback.print_exc()
                code = 1
    finally:
        cli.console = saved[0]
        os.chdir(saved[1])
        os.environ.clear()
        os.environ.update(saved[2])
    return subprocess.CompletedProcess(["tfxd", *args], code, out.getvalue(), err.getvalue())


def kill_run_in(path: Path, node: str, *args: str, after: float = 1.0) -> str:
    """``tfxd run`` of the pipeline file ``path`` in a process of its own (``args`` added),
    SIGKILLed with its process group ``after`` seconds into ``node`` (once the node's log is
    there); what it printed until then."""
    import signal
    import sys
    import time

    runs = path.parent / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tfxd.cli", "run", str(path), *args],
        cwd=path.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while not list(runs.glob(f".logs/*/{node}.log")):
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, f"{node} never started"
        time.sleep(0.2)
    time.sleep(after)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc.stdout.read()


def statuses(stdout: str) -> dict[str, str]:
    """What a run did, node by node, from its progress lines, in the plan's words (done: run)."""
    found = re.findall(r"^\s+\S\s+(\S+)\s+(done|cached|failed)\b", stdout, re.M)
    return {node: "run" if status == "done" else status for node, status in found}


# ---------------------------------------------------------------- two lanes
# scripts/test.sh runs the suite in two pytest-xdist workers (--dist loadgroup, groups queued in
# collection order, heavy first). Tests marked ``heavy`` (they train a model or run a whole
# pipeline with Transform) form one group, so they run one at a time on one worker; every other
# module is a group of its own (its module fixtures start once) and runs beside them. Without -n
# everything runs in one process, heavy tests first.
LANE = "heavy"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not item.get_closest_marker(LANE))  # the long lane starts first
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        group = LANE if item.get_closest_marker(LANE) else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


def plain_nodeid(nodeid: str) -> str:
    """A node id without the ``@group`` suffix xdist's loadgroup adds."""
    head, at, tail = nodeid.rpartition("@")
    return head if at and "]" not in tail and "::" in head else nodeid


# ---------------------------------------------------------------- the suite's own timing
# Every session writes its tests' durations (setup + call + teardown) to .test-durations.json;
# scripts/test-durations.py turns the file of a whole-suite run into docs/testing.md's table.
_DURATIONS: dict[str, float] = {}
_OUTCOMES: dict[str, str] = {}


def pytest_sessionstart(session):
    import time

    session.config._tfxd_started = time.time()


def pytest_runtest_logreport(report):
    nodeid = plain_nodeid(report.nodeid)
    _DURATIONS[nodeid] = _DURATIONS.get(nodeid, 0.0) + report.duration
    if report.when == "call" or report.outcome != "passed":
        _OUTCOMES[nodeid] = report.outcome


def pytest_sessionfinish(session, exitstatus):
    import datetime as dt
    import json
    import time

    if not _DURATIONS or hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller writes the file for the whole session
    started = getattr(session.config, "_tfxd_started", time.time())
    report = {
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cores": len(os.sched_getaffinity(0)),
        "workers": int(getattr(session.config.option, "numprocesses", 0) or 0) or 1,
        "wall_seconds": round(time.time() - started, 1),
        "exit": int(exitstatus),
        "tests": {
            nodeid: {"seconds": round(seconds, 2), "outcome": _OUTCOMES.get(nodeid, "passed")}
            for nodeid, seconds in sorted(_DURATIONS.items())
        },
    }
    path = Path(session.config.rootpath) / ".test-durations.json"
    path.write_text(json.dumps(report, indent=1), encoding="utf-8")
