"""Taxi module file: does a trip end with a tip over 20% of the fare? A small tf_keras model on
raw numeric features (no Transform), enough to train and push per span."""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf
import tf_keras as keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

FEATURES = ["fare", "trip_miles", "trip_seconds", "trip_start_hour"]
BATCH = 64


def _dense(value: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """A column as float32 of shape [batch]: missing values (sparse) become 0."""
    if isinstance(value, tf.SparseTensor):
        value = tf.sparse.to_dense(value)
    value = tf.cast(value, tf.float32)
    return tf.reshape(value[:, :1] if value.shape.rank == 2 else value, [-1])


def _dataset(fn_args: tfx.components.FnArgs, files: list[str], schema) -> tf.data.Dataset:
    data = fn_args.data_accessor.tf_dataset_factory(
        files, tfxio.TensorFlowDatasetOptions(batch_size=BATCH), schema
    )

    def split(row: dict) -> tuple:
        fare, tips = _dense(row["fare"]), _dense(row["tips"])
        label = tf.cast(tips > 0.2 * fare, tf.float32)
        x = tf.stack([_dense(row[name]) for name in FEATURES], axis=1)
        return tf.math.log1p(tf.maximum(x, 0.0)), label

    return data.map(split)


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    schema = tfx.utils.parse_pbtxt_file(fn_args.schema_path, _schema_proto())
    train = _dataset(fn_args, fn_args.train_files, schema)
    evaluate = _dataset(fn_args, fn_args.eval_files, schema)
    model = keras.Sequential(
        [
            keras.layers.Input(shape=(len(FEATURES),)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(
        train,
        steps_per_epoch=fn_args.train_steps,
        validation_data=evaluate,
        validation_steps=fn_args.eval_steps,
        verbose=0,
    )
    model.save(fn_args.serving_model_dir, save_format="tf")


def _schema_proto():
    from tensorflow_metadata.proto.v0 import schema_pb2

    return schema_pb2.Schema()
