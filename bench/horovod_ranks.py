"""Horovod data parallelism: training examples per second with 2 ranks against 1 rank, through the
HorovodTrainer executor (Gloo) on the same TFRecords and the same Keras model (20 features, two
hidden layers of 256, batch 64 per rank by default). Each rank takes the same number of steps; the
clock starts after a few warm-up steps and stops at the slowest rank. Prints, asserts nothing.

    .venv/bin/python bench/horovod_ranks.py [--steps 300] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FEATURES = 20
WARMUP = 10

MODULE = """
import json, os, time
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import tf_keras
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.public import tfxio
from tfxd.components.horovod_trainer import horovod_context

FEATURES = {features}
WARMUP = {warmup}
BATCH = {batch}


class Clock(tf_keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if batch == WARMUP:
            self.start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.start


def run_fn(fn_args):
    ctx = horovod_context()
    schema = schema_pb2.Schema()
    for name in [f"x{{i}}" for i in range(FEATURES)] + ["y"]:
        kind = schema_pb2.INT if name == "y" else schema_pb2.FLOAT
        feature = schema.feature.add(name=name, type=kind)
        feature.shape.dim.add(size=1)
        feature.presence.min_fraction = 1.0
    options = tfxio.TensorFlowDatasetOptions(batch_size=BATCH, label_key="y")
    data = fn_args.data_accessor.tf_dataset_factory(fn_args.train_files, options, schema)
    data = data.map(lambda f, y: (tf_keras.layers.concatenate(
        [f[f"x{{i}}"] for i in range(FEATURES)]), y))
    inputs = tf_keras.layers.Input(shape=(FEATURES,))
    hidden = tf_keras.layers.Dense(256, activation="relu")(inputs)
    hidden = tf_keras.layers.Dense(256, activation="relu")(hidden)
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(3, activation="softmax")(hidden))
    model.compile(ctx.optimizer(tf_keras.optimizers.Adam(1e-3 * ctx.size)),
                  "sparse_categorical_crossentropy")
    clock = Clock()
    model.fit(data, steps_per_epoch=fn_args.train_steps, callbacks=[*ctx.callbacks(), clock],
              verbose=0)
    examples = (fn_args.train_steps - WARMUP) * BATCH
    report = {{"rank": ctx.rank, "seconds": clock.seconds, "examples": examples}}
    path = os.path.join(fn_args.custom_config["report_dir"], f"rank-{{ctx.rank}}.json")
    with open(path, "w") as handle:
        json.dump(report, handle)
    ctx.exportable(model).save(fn_args.serving_model_dir, save_format="tf", include_optimizer=False)
"""


def write_examples(folder: Path, n: int, files: int) -> None:
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, FEATURES)).astype("float32")
    y = (x @ np.linspace(-1, 1, FEATURES) > 0).astype("int64")
    for split in ("train", "eval"):
        (folder / f"Split-{split}").mkdir(parents=True)
        writers = [
            tf.io.TFRecordWriter(
                str(folder / f"Split-{split}" / f"data-{i:05d}-of-{files:05d}.gz"), options="GZIP"
            )
            for i in range(files)
        ]
        for i, (row, label) in enumerate(zip(x, y, strict=True)):
            feature = {
                f"x{j}": tf.train.Feature(float_list=tf.train.FloatList(value=[v]))
                for j, v in enumerate(row)
            }
            feature["y"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writers[i % files].write(example.SerializeToString())
        for writer in writers:
            writer.close()


def train(root: Path, examples: Path, module: Path, workers: int, steps: int) -> float:
    """Examples per second over all ranks (slowest rank's clock)."""
    from tfx.types import standard_artifacts

    from tfxd.components.horovod_trainer.executor import Executor

    reports = root / f"reports-{workers}"
    reports.mkdir()
    ex = standard_artifacts.Examples()
    ex.uri, ex.split_names = str(examples), '["train", "eval"]'
    model, run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    model.uri = str(root / f"w{workers}" / "train" / "model" / "1")
    run.uri = str(root / f"w{workers}" / "train" / "model_run" / "1")
    Executor().Do(
        {"examples": [ex]},
        {"model": [model], "model_run": [run]},
        {
            "workers": workers,
            "module_file": str(module),
            "train_args": json.dumps({"num_steps": steps}),
            "eval_args": json.dumps({"num_steps": 1}),
            "custom_config": json.dumps({"report_dir": str(reports)}),
        },
    )
    ranks = [json.loads(p.read_text()) for p in reports.glob("rank-*.json")]
    return sum(r["examples"] for r in ranks) / max(r["seconds"] for r in ranks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per rank")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=64, help="examples per step per rank")
    parser.add_argument(
        "--files", type=int, default=2, help="TFRecord files (ranks shard by file when >= ranks)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_examples(root / "examples", args.examples, args.files)
        module = root / "bench_module.py"
        module.write_text(MODULE.format(features=FEATURES, warmup=WARMUP, batch=args.batch))
        rates = {w: train(root, root / "examples", module, w, args.steps) for w in args.workers}
    base = rates[args.workers[0]]
    cores = len(os.sched_getaffinity(0))
    print(
        f"cores available: {cores}; {args.steps} steps of {args.batch} per rank; "
        f"{args.files} training files"
    )
    print(f"{'workers':>8} {'examples/s':>12} {'vs ' + str(args.workers[0]) + ' rank':>12}")
    for workers, rate in rates.items():
        print(f"{workers:>8} {rate:>12.0f} {rate / base:>12.2f}")


if __name__ == "__main__":
    main()
