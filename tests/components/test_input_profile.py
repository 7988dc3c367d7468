"""A training run's input profile: a slow input pipeline reads as input bound, a slow step as
compute bound, from the module's own datasets and Keras fit (the Trainer's executor and every
Horovod rank wrap ``run_fn`` this way)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from tfxd.components.standard.input_profile import INPUT_PROFILE, watching
from tfxd.mlmd.records import INPUT_PROFILE as RECORDED


def accessor(delay: float):
    """A data accessor whose factory makes batches of 8, each ``delay`` seconds late."""
    import tensorflow as tf

    def slow(x):
        time.sleep(delay)
        return x

    def factory(file_pattern, options, schema):
        x = tf.data.Dataset.from_tensor_slices(tf.random.normal([4096, 4], seed=1)).batch(8)
        if delay:
            x = x.map(lambda b: tf.py_function(slow, [b], tf.float32))
            x = x.map(lambda b: tf.ensure_shape(b, [8, 4]))
        return x.map(lambda b: (b, tf.reduce_sum(b, axis=1, keepdims=True))).repeat()

    return SimpleNamespace(tf_dataset_factory=factory, _replace=lambda **kw: SimpleNamespace(**kw))


def run_fn(fn_args, step_delay: float) -> None:
    import tensorflow as tf

    def slow(x):
        time.sleep(step_delay)
        return x

    inputs = tf.keras.Input([4])
    hidden = tf.keras.layers.Lambda(
        lambda t: tf.ensure_shape(tf.py_function(slow, [t], tf.float32), t.shape)
    )(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(hidden))
    model.compile("sgd", "mse")
    data = fn_args.data_accessor.tf_dataset_factory(fn_args.train_files, None, None)
    model.fit(data, steps_per_epoch=30, epochs=1, verbose=0)


@pytest.mark.parametrize(
    ("input_delay", "step_delay", "bound"), [(0.02, 0.0, "input"), (0.0, 0.02, "compute")]
)
def test_a_slow_input_is_input_bound_and_a_slow_step_compute_bound(input_delay, step_delay, bound):
    fn_args = SimpleNamespace(data_accessor=accessor(input_delay), train_files="train/*")
    with watching(fn_args) as watch:
        run_fn(fn_args, step_delay)
        profile = watch.profile()
    assert profile is not None and profile.steps == 30
    assert profile.bound == bound, profile
    assert profile.step_ms >= 15  # either way a step waited ~20 ms
    share = profile.as_dict()["share"]
    assert (share >= 0.8) if bound == "input" else (share < 0.3), profile


def test_fit_is_given_back_and_a_run_without_fit_has_no_profile():
    import tensorflow as tf

    fit = tf.keras.Model.fit
    fn_args = SimpleNamespace(data_accessor=accessor(0.0), train_files="train/*")
    with watching(fn_args) as watch:
        assert tf.keras.Model.fit is not fit
    assert tf.keras.Model.fit is fit and watch.profile() is None
    assert INPUT_PROFILE == RECORDED  # what the executor writes is what the run record reads
