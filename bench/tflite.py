"""TFLite variants against the SavedModel: bytes, accuracy and CPU latency per example, through the
TFLitePusher executor on a trained Keras classifier (20 features, two hidden layers of 256).
Goal: int8 at most 30% of the SavedModel's bytes with at most 1 point of accuracy
lost. Prints, asserts nothing.

    .venv/bin/python bench/tflite.py
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FEATURES = 20


def data(n: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype("float32")
    w = np.linspace(-1, 1, FEATURES)
    y = (x @ w > 0).astype("int64") + (x @ w > 1.5).astype("int64")
    return x, y


def write_examples(folder: Path, split: str, n: int, seed: int) -> None:
    import tensorflow as tf

    x, y = data(n, seed)
    (folder / f"Split-{split}").mkdir(parents=True)
    path = folder / f"Split-{split}" / "data.gz"
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for row, label in zip(x, y, strict=True):
            feature = {
                "x": tf.train.Feature(float_list=tf.train.FloatList(value=row.tolist())),
                "y": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
            }
            writer.write(
                tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
            )


def main() -> None:
    import tf_keras
    from tfx.types import standard_artifacts

    from tfxd.components.tflite_pusher.executor import Executor

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tf_keras.utils.set_random_seed(0)
        inputs = tf_keras.layers.Input(shape=(FEATURES,), name="x")
        h = tf_keras.layers.Dense(256, activation="relu")(inputs)
        h = tf_keras.layers.Dense(256, activation="relu")(h)
        model = tf_keras.Model(inputs, tf_keras.layers.Dense(3, activation="softmax")(h))
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(*data(4000, 1), epochs=8, verbose=0)
        model.save(str(root / "model" / "Format-Serving"), save_format="tf")
        write_examples(root / "examples", "train", 1000, 2)
        write_examples(root / "examples", "eval", 1000, 3)
        model_artifact, examples = standard_artifacts.Model(), standard_artifacts.Examples()
        model_artifact.uri, examples.uri = str(root / "model"), str(root / "examples")
        examples.split_names = '["train", "eval"]'
        pushed = standard_artifacts.PushedModel()
        pushed.uri = str(root / "pushed")
        config = {
            "model_name": "bench",
            "label": "y",
            "variants": ["float32", "dynamic_range", "float16", "int8"],
            "max_drop": 0.01,
            "eval_split": "eval",
            "eval_examples": 1000,
            "representative_examples": 200,
        }
        Executor().Do(
            {"model": [model_artifact], "examples": [examples]},
            {"pushed_model": [pushed]},
            {"destination": str(root / "serving"), "config": json.dumps(config)},
        )
        manifest = json.loads(pushed.get_string_custom_property("tfxd_manifest"))
    saved = manifest["saved_model"]
    print(f"SavedModel: {saved['bytes']} bytes, accuracy {saved['accuracy']:.4f} (1000 examples)")
    print(
        "variant        bytes  vs SavedModel  accuracy  change (points)  latency ms/example  pushed"
    )
    for v in manifest["variants"]:
        if v["metric"] is None:
            print(f"{v['variant']:<13} failed: {v['reason']}")
            continue
        print(
            f"{v['variant']:<13} {v['bytes']:6d}  {v['bytes'] / saved['bytes']:12.1%}"
            f"  {v['metric']:8.4f}  {100 * (v['metric'] - saved['accuracy']):+15.2f}"
            f"  {v['latency_ms']:18.4f}  {v['pushed']}"
        )


if __name__ == "__main__":
    main()
