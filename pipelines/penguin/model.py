"""Palmer penguins: one module file for Transform, Tuner and (Horovod)Trainer (tf_keras models).

The raw CSV has "NA" for missing numbers and strings for island/sex/species; Transform turns
them into dense, imputed, scaled features and an integer label. The model uses only ops TFLite
converts (categories through embeddings, not one-hot bincounts), and ``run_fn`` trains data-parallel
when HorovodTrainer runs it on several ranks.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import keras_tuner
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from tfxd.components.horovod_trainer import HorovodContext, horovod_context

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["island", "sex"]
LABEL = "species"
LABEL_XF = "species_xf"
VOCAB_SIZE = 8  # islands and sexes are few; OOV bucket catches the rest
EPOCHS = 4  # training is split into epochs so a killed HorovodTrainer resumes from the last one
MISSING = {"", "NA", "nan"}


def _xf(name: str) -> str:
    return f"{name}_xf"


def _dense(value: tf.Tensor | tf.SparseTensor, default: str | float) -> tf.Tensor:
    """A [batch] tensor: the first value of each row, or ``default`` where the row is empty."""
    if isinstance(value, tf.SparseTensor):
        value = tf.sparse.to_dense(
            tf.SparseTensor(value.indices, value.values, [value.dense_shape[0], 1]),
            default_value=default,
        )
    return tf.reshape(value, [-1])


def _to_float(value: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """Numbers may arrive as strings with "NA"; missing becomes NaN (imputed later)."""
    if value.dtype == tf.string:
        text = _dense(value, "")
        missing = tf.reduce_any([tf.equal(text, m) for m in MISSING], axis=0)
        safe = tf.where(missing, tf.fill(tf.shape(text), "0"), text)
        numbers = tf.strings.to_number(safe, out_type=tf.float32)
        return tf.where(missing, tf.fill(tf.shape(numbers), float("nan")), numbers)
    return _dense(tf.cast(value, tf.float32), float("nan"))  # int64 or float, sparse or dense


def preprocessing_fn(inputs: dict) -> dict:
    """tf.Transform: impute and z-score numbers, index categories, index the label."""
    outputs = {}
    for name in NUMERIC:
        raw = _to_float(inputs[name])
        present = tf.math.logical_not(tf.math.is_nan(raw))
        mean = tft.mean(tf.boolean_mask(raw, present))
        filled = tf.where(present, raw, tf.fill(tf.shape(raw), mean))
        outputs[_xf(name)] = tft.scale_to_z_score(filled)
    for name in CATEGORICAL:
        text = _dense(inputs[name], "NA")
        outputs[_xf(name)] = tft.compute_and_apply_vocabulary(
            text, top_k=VOCAB_SIZE, num_oov_buckets=1, vocab_filename=name
        )
    if LABEL in inputs:
        outputs[LABEL_XF] = tft.compute_and_apply_vocabulary(
            _dense(inputs[LABEL], "NA"), vocab_filename=LABEL
        )
    return outputs


def _input_fn(files, data_accessor, tf_transform_output, batch_size: int) -> tf.data.Dataset:
    return data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=LABEL_XF),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()


def build_model(
    hparams: keras_tuner.HyperParameters, ctx: HorovodContext | None = None
) -> tf_keras.Model:
    """A small MLP over the transformed features; with ``ctx``, its optimizer averages gradients
    over the Horovod ranks (learning rate scaled by their number)."""
    inputs = [tf_keras.layers.Input(shape=(1,), name=_xf(n)) for n in NUMERIC]
    cats = [tf_keras.layers.Input(shape=(1,), name=_xf(n), dtype=tf.int64) for n in CATEGORICAL]
    encoded = [
        tf_keras.layers.Flatten()(tf_keras.layers.Embedding(VOCAB_SIZE + 1, 3)(c)) for c in cats
    ]
    x = tf_keras.layers.concatenate([*inputs, *encoded])
    for _ in range(int(hparams.get("layers"))):
        x = tf_keras.layers.Dense(int(hparams.get("units")), activation="relu")(x)
    out = tf_keras.layers.Dense(3, activation="softmax")(x)
    model = tf_keras.Model(inputs=[*inputs, *cats], outputs=out)
    ctx = ctx or HorovodContext()
    optimizer = tf_keras.optimizers.Adam(float(hparams.get("learning_rate")) * ctx.size)
    model.compile(
        optimizer=ctx.optimizer(optimizer),
        loss="sparse_categorical_crossentropy",
        metrics=[tf_keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def search_space() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    hp.Choice("learning_rate", [1e-2, 3e-3], default=1e-2)
    hp.Int("layers", 1, 2, default=1)
    hp.Choice("units", [8, 16], default=8)
    return hp


def tuner_fn(fn_args: tfx.components.FnArgs) -> tfx.components.TunerFnResult:
    """Keras Tuner random search over a tiny space (max_trials from custom_config)."""
    config = fn_args.custom_config or {}
    tuner = keras_tuner.RandomSearch(
        build_model,
        max_trials=int(config.get("max_trials", 2)),
        hyperparameters=search_space(),
        allow_new_entries=False,
        objective=keras_tuner.Objective("val_accuracy", "max"),
        directory=fn_args.working_dir,
        project_name="penguin",
        seed=int(config.get("seed", 1)),
    )
    transform = tft.TFTransformOutput(fn_args.transform_graph_path)
    train = _input_fn(fn_args.train_files, fn_args.data_accessor, transform, 16)
    evaluation = _input_fn(fn_args.eval_files, fn_args.data_accessor, transform, 16)
    return tfx.components.TunerFnResult(
        tuner=tuner,
        fit_kwargs={
            "x": train,
            "validation_data": evaluation,
            "steps_per_epoch": fn_args.train_steps,
            "validation_steps": fn_args.eval_steps,
        },
    )


def _serving_fn(model: tf_keras.Model, transform: tft.TFTransformOutput):
    model.tft_layer = transform.transform_features_layer()
    raw_spec = transform.raw_feature_spec()
    raw_spec.pop(LABEL, None)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(serialized: tf.Tensor) -> dict:
        features = tf.io.parse_example(serialized, raw_spec)
        transformed = model.tft_layer(features)
        return {"probabilities": model(transformed)}

    return serve


def _transform_features_fn(model: tf_keras.Model, transform: tft.TFTransformOutput):
    model.tft_layer_eval = transform.transform_features_layer()
    raw_spec = transform.raw_feature_spec()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(serialized: tf.Tensor) -> dict:
        return model.tft_layer_eval(tf.io.parse_example(serialized, raw_spec))

    return transform_features


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """Train with the tuned (or default) hyperparameters and save a serving model. Under
    HorovodTrainer each rank takes train_steps / ranks steps on its own shard."""
    config = fn_args.custom_config or {}
    ctx = horovod_context()
    tf_keras.utils.set_random_seed(int(config.get("seed", 1)))
    hparams = search_space()
    if fn_args.hyperparameters:
        hparams = keras_tuner.HyperParameters.from_config(fn_args.hyperparameters)
    transform = tft.TFTransformOutput(fn_args.transform_output)
    train = _input_fn(fn_args.train_files, fn_args.data_accessor, transform, 16)
    evaluation = _input_fn(fn_args.eval_files, fn_args.data_accessor, transform, 16)
    model = build_model(hparams, ctx)
    steps = max(1, fn_args.train_steps // (ctx.size * EPOCHS))
    model.fit(
        train,
        epochs=EPOCHS,
        steps_per_epoch=steps,
        validation_data=evaluation,
        validation_steps=max(1, fn_args.eval_steps // ctx.size),
        callbacks=ctx.callbacks(),
        verbose=0,
    )
    model = ctx.exportable(model)  # a copy without Horovod's optimizer graph
    signatures = {
        "serving_default": _serving_fn(model, transform),
        "transform_features": _transform_features_fn(model, transform),
    }
    # serving needs no optimizer state
    model.save(
        fn_args.serving_model_dir,
        save_format="tf",
        signatures=signatures,
        include_optimizer=False,
    )
