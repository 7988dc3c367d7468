"""A pipeline that trains a small Keras model and pushes it with TFLitePusher, twice; then the
model history, a rollback through the CLI, and an unchanged re-run that is a no-op."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from tests.conftest import tfxd

pytestmark = pytest.mark.slow

MODULE = """
import os
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import tensorflow as tf
import tf_keras

SPEC = {
    "x1": tf.io.FixedLenFeature([1], tf.float32),
    "x2": tf.io.FixedLenFeature([1], tf.float32),
    "y": tf.io.FixedLenFeature([1], tf.int64),
}


def _data(patterns):
    files = [f for p in patterns for f in tf.io.gfile.glob(p)]
    data = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(32)
    data = data.map(lambda b: tf.io.parse_example(b, SPEC))
    return data.map(lambda f: ((f["x1"], f["x2"]), f["y"])).repeat()


def run_fn(fn_args):
    tf_keras.utils.set_random_seed(1)
    x1 = tf_keras.layers.Input(shape=(1,), name="x1")
    x2 = tf_keras.layers.Input(shape=(1,), name="x2")
    h = tf_keras.layers.Dense(32, activation="relu")(tf_keras.layers.concatenate([x1, x2]))
    model = tf_keras.Model([x1, x2], tf_keras.layers.Dense(2, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(_data(fn_args.train_files), steps_per_epoch=fn_args.train_steps, verbose=0)
    model.save(fn_args.serving_model_dir, save_format="tf")
"""

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: edge}
spec:
  root: runs
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    train:
      type: Trainer
      inputs: {examples: examples.examples}
      with: {module_file: edge_model.py, train_steps: 150}
    baseline: {type: BaselineModel, with: {source: serving}}
    push:
      type: TFLitePusher
      inputs: {model: train.model, examples: examples.examples}
      with: {destination: serving, label: y, variants: [float32, int8], max_drop: 0.05}
      after: [baseline]
"""


def test_tflite_push_history_and_rollback(tmp_path: Path):
    folder = tmp_path / "edge"
    (folder / "data").mkdir(parents=True)
    rng = random.Random(0)
    with (folder / "data" / "points.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "y"])
        for _ in range(600):
            x1, x2 = rng.gauss(0, 1), rng.gauss(0, 1)
            writer.writerow([f"{x1:.4f}", f"{x2:.4f}", int(x1 + x2 > 0)])
    (folder / "edge_model.py").write_text(MODULE)
    (folder / "pipeline.yaml").write_text(PIPELINE)
    spec = str(folder / "pipeline.yaml")

    first = tfxd("run", spec, cwd=folder)
    assert first.returncode == 0, first.stdout + first.stderr
    second = tfxd("run", spec, "--from", "train", "--no-cache", cwd=folder)
    assert second.returncode == 0, second.stdout + second.stderr

    model_dir = folder / "serving" / "edge"
    versions = sorted(int(p.name) for p in model_dir.iterdir() if p.name.isdigit())
    assert len(versions) == 2 and versions[0] < versions[1]
    manifest = json.loads((model_dir / str(versions[1]) / "manifest.json").read_text())
    by_variant = {v["variant"]: v for v in manifest["variants"]}
    assert manifest["saved_model"]["accuracy"] > 0.9
    assert by_variant["float32"]["pushed"] and by_variant["int8"]["pushed"]
    assert (model_dir / str(versions[1]) / "tflite" / "int8.tflite").is_file()
    assert (
        f"specific {{ versions: {versions[1]} }}"
        in (folder / "serving" / "models.config").read_text()
    )

    listed = tfxd("models", "edge", "-f", spec, cwd=folder)
    assert listed.returncode == 0 and f"{versions[1]} *" in listed.stdout
    rolled = tfxd("rollback", "edge", "-f", spec, "--reason", "canary failed", cwd=folder)
    assert rolled.returncode == 0, rolled.stderr
    assert f"serving version {versions[0]} (was {versions[1]})" in rolled.stdout
    assert f"versions: {versions[0]} }}" in (folder / "serving" / "models.config").read_text()
    missing = tfxd("rollback", "edge", "-f", spec, "--to", "1", cwd=folder)
    assert missing.returncode == 1 and "no complete version 1" in missing.stderr

    # Serving moved since BaselineModel last ran (it saw no version yet): it runs again, and
    # nothing downstream of the model changes, so nothing is pushed.
    moved = tfxd("run", spec, cwd=folder)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert f"{'baseline':<12} done" in moved.stdout, moved.stdout
    for node in ("examples", "train", "push"):
        assert f"{node:<12} cached" in moved.stdout, moved.stdout
    # Unchanged re-run: BaselineModel is cached while serving is unchanged, so every node
    # comes from the cache and nothing is pushed.
    again = tfxd("run", spec, cwd=folder)
    assert again.returncode == 0, again.stdout + again.stderr
    for node in ("examples", "train", "baseline", "push"):
        assert f"{node:<12} cached" in again.stdout, again.stdout
    assert "nothing ran: every node came from the cache" in again.stdout
    assert sorted(int(p.name) for p in model_dir.iterdir() if p.name.isdigit()) == versions
    assert f"versions: {versions[0]} }}" in (folder / "serving" / "models.config").read_text()
