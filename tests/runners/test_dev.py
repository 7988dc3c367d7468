"""``tfxd dev``: a pass on start, another on each change that moves the plan (data, the pipeline
file, a module's local import), none for a file touched but unchanged, an error shown while the
file is broken, one more pass for a change made during a pass, Ctrl-C ends it; killed mid-pass,
the pass dies too and the next run repairs and finishes."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import statuses, tfxd
from tfxd.pipelines.pipeline import validate_file
from tfxd.runners.dev import signature, watched_paths

# two `tfxd dev` processes, a 3-node pipeline (~40 s)
pytestmark = [pytest.mark.slow, pytest.mark.heavy]

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: dev}
spec:
  root: runs
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema:
      type: SchemaGen
      inputs: {statistics: stats.statistics}
      with: {infer_feature_shape: false}
"""


def make(folder: Path) -> Path:
    (folder / "data").mkdir()
    rows = "".join(f"{i},{(i * 7) % 5},{'ab'[i % 2]}\n" for i in range(40))
    (folder / "data" / "d.csv").write_text("x,y,z\n" + rows)
    (folder / "pipeline.yaml").write_text(PIPELINE)
    return folder / "pipeline.yaml"


def test_watched_paths_follow_module_imports_not_outputs(tmp_path):
    path = make(tmp_path)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "model.py").write_text("from helpers import f\n")
    (tmp_path / "code" / "helpers.py").write_text("def f():\n    return 1\n")
    path.write_text(
        PIPELINE
        + "    train:\n      type: Trainer\n"
        + "      inputs: {examples: examples.examples, schema: schema.schema}\n"
        + "      with: {module_file: code/model.py}\n"
        + "    push: {type: Pusher, inputs: {model: train.model}, with: {destination: serving}}\n"
    )
    paths = watched_paths(validate_file(path))
    assert set(paths) == {
        path,
        tmp_path / "data",
        tmp_path / "code" / "model.py",
        tmp_path / "code" / "helpers.py",
    }
    before = signature(paths)
    assert str(tmp_path / "data" / "d.csv") in before
    (tmp_path / "code" / "helpers.py").write_text("def f():\n    return 22\n")
    assert signature(paths) != before


class Lines:
    """The lines a process writes, read as they come."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._queue.put(line)

    def until(self, pattern: str, timeout: float = 120) -> str:
        """The output since the last call, up to the first line matching ``pattern``."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            got.append(line)
            self.seen.append(line)
            if re.search(pattern, line):
                return "".join(got)
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.seen)}")


def test_dev_runs_again_on_each_change_that_moves_the_plan(tmp_path):
    path = make(tmp_path)
    proc = start(path)
    lines = Lines(proc)
    try:
        first = lines.until(r"pass 1 ended \(ok\)")
        assert statuses(first) == {"examples": "run", "stats": "run", "schema": "run"}

        with (tmp_path / "data" / "d.csv").open("a") as csv:
            csv.write("100,1,a\n")
        second = lines.until(r"pass 2 ended")
        assert statuses(second) == {"examples": "run", "stats": "run", "schema": "run"}

        path.write_text(PIPELINE.replace("infer_feature_shape: false", "infer_feature_shape: ["))
        broken = lines.until(r"pipeline\.yaml:\d+")
        assert "pass 3" not in broken and "error" in broken

        (tmp_path / "data" / "d.csv").touch()  # its content, so the plan, unchanged: no pass
        time.sleep(2.5)
        path.write_text(PIPELINE.replace("infer_feature_shape: false", "infer_feature_shape: true"))
        third = lines.until(r"pass 3 ended \(ok\)")
        assert statuses(third) == {"examples": "cached", "stats": "cached", "schema": "run"}

        # Changed while a pass runs: that pass may have read either version, so one more runs.
        with (tmp_path / "data" / "d.csv").open("a") as csv:
            csv.write("101,2,b\n")
        lines.until(r"examples\s+done")
        with (tmp_path / "data" / "d.csv").open("a") as csv:
            csv.write("102,3,a\n")
        assert "running again" in lines.until(r"pass 4 ended")
        fifth = lines.until(r"pass 5 ended \(ok\)")
        assert statuses(fifth) == {"examples": "run", "stats": "run", "schema": "run"}

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "pass 6" not in "".join(lines.seen)

    # Killed in the middle of a pass: the pass dies with it, and the next run repairs and finishes.
    with (tmp_path / "data" / "d.csv").open("a") as csv:
        csv.write("103,4,b\n")
    proc = start(path)
    lines = Lines(proc)
    try:
        lines.until(r"examples\s+done")
        deadline = time.monotonic() + 60
        while not running(tmp_path):  # the StatisticsGen's execution, registered and RUNNING
            assert time.monotonic() < deadline, "".join(lines.seen)
            time.sleep(0.05)
        [pass_pid] = children(proc.pid)
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while Path(f"/proc/{pass_pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{pass_pid}").exists() or "Z" in state(pass_pid)
    finally:
        if proc.poll() is None:
            proc.kill()
    rerun = tfxd("run", str(path), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "repaired 1 execution(s)" in rerun.stdout
    assert statuses(rerun.stdout) == {"examples": "cached", "stats": "run", "schema": "run"}


def start(path: Path) -> subprocess.Popen:
    """`tfxd dev` as from a terminal: SIGINT at its default even where this process ignores it
    (started in the background by a shell without job control), so Python turns it into Ctrl-C."""
    return subprocess.Popen(
        [sys.executable, "-m", "tfxd.cli", "dev", str(path)],
        cwd=path.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def running(folder: Path) -> bool:
    """Whether the pipeline's ML Metadata has an execution RUNNING."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(folder / "runs" / "metadata.db")
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READONLY
    executions = metadata_store.MetadataStore(config).get_executions()
    return any(e.last_known_state == mlmd.Execution.RUNNING for e in executions)


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out
