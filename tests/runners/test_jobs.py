"""`tfxd run --jobs 2` on a pipeline with two branches: both run at once in forked workers, a kill
while both run leaves both RUNNING in MLMD and no process behind, a failure lets the other branch
finish and stops what depends on it, and every re-run does what `tfxd plan` predicts."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import statuses, tfxd

GATED = Path(__file__).parent / "gated" / "gated_trainer.py"


def write_pipeline(folder: Path, data: Path) -> Path:
    shutil.copytree(data, folder / "data")
    shutil.copy(GATED, folder)

    def trainer(name: str, extra: str = "") -> str:
        return (
            f"    {name}:\n      type: Trainer\n"
            f"      inputs: {{examples: examples.examples{extra}}}\n"
            f"      with: {{module_file: gated_trainer.py, train_steps: 1, "
            f'custom_config: {{name: {name}, folder: "{folder}"}}}}\n'
        )

    path = folder / "pipeline.yaml"
    path.write_text(
        "apiVersion: tfxd/v1\nkind: Pipeline\nmetadata: {name: branches}\nspec:\n"
        "  root: runs\n  components:\n"
        "    examples: {type: CsvExampleGen, with: {input_base: data}}\n"
        + trainer("left")
        + trainer("right")
        + trainer("after", ", base_model: right.model")
    )
    return path


def store(folder: Path):
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(folder / "runs" / "metadata.db")
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def node_of(store, execution) -> str:
    names = [c.name for c in store.get_contexts_by_execution(execution.id)]
    return next(n.split(".", 1)[1] for n in names if n.startswith("branches."))


def planned(path: Path) -> dict[str, str]:
    shown = tfxd("plan", str(path), cwd=path.parent)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return {line.split()[0]: line.split()[1] for line in shown.stdout.splitlines()[:-1]}


def left_behind(path: Path) -> list[int]:
    import psutil

    return [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if str(path) in " ".join(p.info["cmdline"] or []) and p.pid != os.getpid()
    ]


@pytest.mark.slow
@pytest.mark.heavy
def test_two_branches_run_at_once_survive_a_kill_and_a_failure(tmp_path: Path, penguin_data: Path):
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    path = write_pipeline(tmp_path, penguin_data)
    # 1. Both branches start while neither can end: they run at once. Kill the run there.
    proc = subprocess.Popen(
        [sys.executable, "-m", "tfxd.cli", "run", str(path), "--jobs", "2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not all((tmp_path / f"started-{n}").exists() for n in ("left", "right")):
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the branches never ran at once"
        time.sleep(0.1)
    pids = {int((tmp_path / f"started-{n}").read_text()) for n in ("left", "right")}
    assert len(pids) == 2 and proc.pid not in pids  # two workers, not the runner
    os.kill(proc.pid, signal.SIGKILL)  # the runner alone: its workers must die with it
    proc.wait()
    deadline = time.monotonic() + 15
    while left_behind(path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left_behind(path), "workers outlived the killed runner"
    db = store(tmp_path)
    running = [e for e in db.get_executions() if e.last_known_state == mlmd.Execution.RUNNING]
    assert sorted(node_of(db, e) for e in running) == ["left", "right"]

    # 2. Re-run with the right branch failing: the left one finishes, `after` never starts.
    (tmp_path / "gate").touch()
    (tmp_path / "fail-right").touch()
    failing = tfxd("run", str(path), "--jobs", "2", cwd=tmp_path)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    out = failing.stdout
    assert "repaired 2 execution(s) left running" in out, out + failing.stderr
    assert statuses(out) == {"examples": "cached", "left": "run", "right": "failed"}, out
    assert "node 'right' failed" in out and "right fails on purpose" in out, out
    assert "after" not in statuses(out)

    # 3. Fixed: what the plan predicts is what the run does; `after` takes the right model.
    (tmp_path / "fail-right").unlink()
    predicted = planned(path)
    assert predicted == {"examples": "cached", "left": "cached", "right": "run", "after": "run"}
    fixed = tfxd("run", str(path), "--jobs", "2", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert statuses(fixed.stdout) == predicted, fixed.stdout
    db = store(tmp_path)
    states = [e.last_known_state for e in db.get_executions()]
    assert mlmd.Execution.RUNNING not in states
    assert states.count(mlmd.Execution.FAILED) == 3  # two killed, one failed on purpose

    # 4. One after another in the runner's own process (--jobs 1), without the cache: all run.
    again = tfxd("run", str(path), "--jobs", "1", "--no-cache", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert set(statuses(again.stdout).values()) == {"run"}
