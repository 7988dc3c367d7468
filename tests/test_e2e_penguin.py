"""The penguin pipeline end to end through the CLI: killed mid-node, re-run, lineage, push,
predict."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import tfxd

pytestmark = pytest.mark.slow


def open_store(db: Path):
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(db)
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def test_killed_run_resumes_then_lineage_push_and_predict(penguin_copy: Path):
    folder = penguin_copy.parent
    runs = folder / "runs"
    # 1. Start a run and SIGKILL it while the trainer is running.
    proc = subprocess.Popen(
        [sys.executable, "-m", "tfxd.cli", "run", str(penguin_copy), "--param", "train_steps=150"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while not list(runs.glob(".logs/*/train.log")):
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "trainer never started"
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (runs / "serving").exists() or not any((runs / "serving").iterdir())

    from ml_metadata.proto import metadata_store_pb2 as mlmd

    store = open_store(runs / "metadata.db")
    running = [e for e in store.get_executions() if e.last_known_state == mlmd.Execution.RUNNING]
    assert len(running) == 1 and running[0].type.endswith("Trainer")

    # 2. Run again: finished nodes come from the cache, the trainer's leftover is repaired.
    again = tfxd("run", str(penguin_copy), "--param", "train_steps=150", cwd=folder)
    assert again.returncode == 0, again.stdout + again.stderr
    out = again.stdout
    assert "repaired 1 execution(s) left running" in out
    for node in ("examples", "stats", "schema", "validate", "transform", "tune"):
        assert f"{node:<12} cached" in out, out
    for node in ("train", "evaluate", "push"):
        assert f"{node:<12} done" in out, out
    store = open_store(runs / "metadata.db")
    states = {e.last_known_state for e in store.get_executions()}
    assert mlmd.Execution.RUNNING not in states

    # 3. Runs: the interrupted one and the one that finished.
    listed = tfxd("runs", "penguin", "-f", str(penguin_copy), cwd=folder)
    assert listed.returncode == 0, listed.stderr
    assert "interrupted" in listed.stdout and "succeeded" in listed.stdout
    from tfxd.metadata.views import latest_artifact, list_runs, trace

    newest, killed = list_runs(store, "penguin")[:2]
    assert newest.status == "succeeded" and len(newest.cached) == 6
    assert killed.status == "interrupted"

    # 4. Lineage: model ← train ← transform ← examples ← input files.
    model = latest_artifact(store, "penguin", "Model")
    root = trace(store, "penguin", model)
    assert root.producer == "train"
    producers = {c.producer for c in root.inputs}
    assert {"transform", "tune"} <= producers
    transform = next(c for c in root.inputs if c.producer == "transform")
    examples = next(c for c in transform.inputs if c.producer == "examples")
    assert any(str(folder / "data") in d for d in examples.details)
    shown = tfxd("lineage", "penguin", "--model", "latest", "-f", str(penguin_copy), cwd=folder)
    assert shown.returncode == 0 and "input files" in shown.stdout

    # 5. The pushed model loads and predicts on raw CSV rows.
    [version] = list((runs / "serving").iterdir())
    assert (version / "saved_model.pb").is_file()
    import csv

    import tensorflow as tf

    rows = list(csv.DictReader((folder / "data" / "penguins.csv").open()))[:40]

    def example(row: dict) -> bytes:
        feature = {}
        for key, value in row.items():
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
        if row["year"]:
            feature["year"] = tf.train.Feature(
                int64_list=tf.train.Int64List(value=[int(row["year"])])
            )
        return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()

    loaded = tf.saved_model.load(str(version))
    batch = tf.constant([example(r) for r in rows])
    probs = loaded.signatures["serving_default"](examples=batch)["probabilities"].numpy()
    assert probs.shape == (40, 3)
    assert abs(probs.sum(axis=1) - 1).max() < 1e-4
    labels = loaded.signatures["transform_features"](examples=batch)["species_xf"].numpy()
    accuracy = float((probs.argmax(axis=1) == labels.reshape(-1)).mean())
    assert accuracy > 0.7, accuracy

    # 6. A partial run from the baseline: the Evaluator now compares with the serving model.
    partial = tfxd("run", str(penguin_copy), "--from", "baseline", cwd=folder)
    assert partial.returncode == 0, partial.stdout + partial.stderr
    assert f"{'evaluate':<12} done" in partial.stdout
    assert f"{'train':<12} skipped" in partial.stdout
    reports = sorted(
        (runs / "evaluate" / "report").glob("*/value"), key=lambda p: int(p.parent.name)
    )
    first, latest = reports[0].read_text(), reports[-1].read_text()
    assert "Baseline: none yet" in first
    assert f"Baseline: version {version.name} from {version}" in latest
    assert "| Overall | sparse_categorical_accuracy |" in latest and "| change |" in latest
