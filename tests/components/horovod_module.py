"""A module file for HorovodTrainer's tests: trains on TFRecords through ``fn_args.data_accessor``
and reports, per rank, the example ids of its shard and the ranks' weight difference.

``custom_config``: ``report_dir`` (required); ``distributed`` (false: plain optimizer, the negative
control); ``epochs``; ``crash_marker`` (SIGKILL this rank after epoch ``crash_after`` once, while
that file does not exist).
"""

import json
import os
import signal

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf
import tf_keras
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.public import tfxio

from tfxd.components.horovod_trainer import horovod_context


def _schema():
    schema = schema_pb2.Schema()
    for name, kind in [
        ("id", schema_pb2.INT),
        ("x1", schema_pb2.FLOAT),
        ("x2", schema_pb2.FLOAT),
        ("y", schema_pb2.INT),
    ]:
        feature = schema.feature.add(name=name, type=kind)
        feature.shape.dim.add(size=1)
        feature.presence.min_fraction = 1.0
    return schema


def _dataset(fn_args, files, batch):
    options = tfxio.TensorFlowDatasetOptions(batch_size=batch, label_key="y")
    return fn_args.data_accessor.tf_dataset_factory(files, options, _schema())


class _Crash(tf_keras.callbacks.Callback):
    def __init__(self, marker, after):
        super().__init__()
        self.marker, self.after = marker, after

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)


class _FirstEpoch(tf_keras.callbacks.Callback):
    first = None

    def on_epoch_begin(self, epoch, logs=None):
        if _FirstEpoch.first is None:
            _FirstEpoch.first = epoch


def run_fn(fn_args):
    config = fn_args.custom_config
    ctx = horovod_context()
    tf_keras.utils.set_random_seed(ctx.rank + 1)  # different initial weights per rank
    seen = [
        int(i)
        for features, _ in _dataset(fn_args, fn_args.train_files, 8).take(6)
        for i in features["id"].numpy().reshape(-1)
    ]
    inputs = [tf_keras.layers.Input(shape=(1,), name=n) for n in ("x1", "x2")]
    hidden = tf_keras.layers.Dense(16, activation="relu")(tf_keras.layers.concatenate(inputs))
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(2, activation="softmax")(hidden))
    optimizer = tf_keras.optimizers.Adam(0.01)
    if config.get("distributed", True):
        optimizer = ctx.optimizer(optimizer)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    train = _dataset(fn_args, fn_args.train_files, 16).map(lambda f, y: ((f["x1"], f["x2"]), y))
    callbacks = [*ctx.callbacks(), _FirstEpoch()]
    if "crash_marker" in config and ctx.is_chief:
        callbacks.append(_Crash(config["crash_marker"], int(config.get("crash_after", 1))))
    epochs = int(config.get("epochs", 1))
    model.fit(
        train,
        epochs=epochs,
        steps_per_epoch=max(1, fn_args.train_steps // epochs),
        callbacks=callbacks,
        verbose=0,
    )
    flat = tf.concat([tf.reshape(w, [-1]) for w in model.weights], 0)
    if ctx.distributed:
        import horovod.tensorflow as hvd

        every = hvd.allgather(flat[None, :]).numpy()
        diff = float(abs(every - every[0]).max())
    else:
        diff = 0.0
    report = {
        "rank": ctx.rank,
        "size": ctx.size,
        "ids": seen,
        "max_diff": diff,
        "first_epoch": _FirstEpoch.first,
        "checkpoint_dir": ctx.checkpoint_dir,
    }
    with open(os.path.join(config["report_dir"], f"rank-{ctx.rank}.json"), "w") as handle:
        json.dump(report, handle)
    model.save(
        fn_args.serving_model_dir, save_format="tf", include_optimizer=not config.get("clean", True)
    )
