"""TFLitePusher on a small real Keras model and real TFRecord examples."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tfxd.infra.versions import (
    PushError,
    push_version,
    serving_version,
    versions,
)

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
CONFIG = {
    "model_name": "tiny",
    "label": "y",
    "variants": ["float32", "dynamic_range", "float16", "int8"],
    "max_drop": 0.05,
    "eval_split": "eval",
    "eval_examples": 200,
    "representative_examples": 100,
    "span": 3,
    "signature": "serving_default",
}


def write_examples(folder: Path, split: str, n: int, seed: int, raw: bool = False) -> None:
    """Transformed examples (x_xf, c_xf, label y), or ``raw`` ones as TFX modules read them (x,
    c: the label is made by the model's transform_features signature)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    out = folder / f"Split-{split}"
    out.mkdir(parents=True)
    path = out / "data_tfrecord-00000-of-00001.gz"
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for _ in range(n):
            x = float(rng.normal())
            c = int(rng.integers(0, 3))
            y = int(x > 0.3) + int(x > 1.0)
            feature = {
                "x_xf": tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
                "c_xf": tf.train.Feature(int64_list=tf.train.Int64List(value=[c])),
                "y": tf.train.Feature(int64_list=tf.train.Int64List(value=[y])),
            }
            if raw:
                feature = {"x": feature["x_xf"], "c": feature["c_xf"]}
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())
    assert gzip.open(path).read(1)  # really gzipped


def train_model(uri: Path, *, convertible: bool = True) -> None:
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(1)
    x = tf_keras.layers.Input(shape=(1,), name="x_xf")
    c = tf_keras.layers.Input(shape=(1,), name="c_xf", dtype=tf.int64)
    if convertible:
        cat = tf_keras.layers.Flatten()(tf_keras.layers.Embedding(4, 2)(c))
    else:  # CategoryEncoding becomes DenseBincount, which TFLite has no kernel for
        cat = tf_keras.layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")(c)
    h = tf_keras.layers.Dense(64, activation="relu")(tf_keras.layers.concatenate([x, cat]))
    model = tf_keras.Model([x, c], tf_keras.layers.Dense(3, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(400, 1)).astype(np.float32)
    cs = rng.integers(0, 3, (400, 1))
    ys = (xs[:, 0] > 0.3).astype(int) + (xs[:, 0] > 1.0).astype(int)
    model.fit([xs, cs], ys, epochs=40, verbose=0)
    model.save(str(uri / "Format-Serving"), save_format="tf")


def tfx_style(keras_uri: Path, uri: Path) -> None:
    """The Keras model saved as TFX's modules save theirs: ``tf.saved_model.save`` with a
    serving signature over serialized tf.Examples and a transform_features signature."""
    import tensorflow as tf
    import tf_keras

    model = tf_keras.models.load_model(str(keras_uri / "Format-Serving"), compile=False)
    spec = {"x": tf.io.FixedLenFeature([1], tf.float32), "c": tf.io.FixedLenFeature([1], tf.int64)}

    def transform(raw: dict) -> dict:
        label = tf.cast(raw["x"] > 0.3, tf.int64) + tf.cast(raw["x"] > 1.0, tf.int64)
        return {"x_xf": raw["x"], "c_xf": raw["c"], "y_xf": label}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(serialized):
        features = transform(tf.io.parse_example(serialized, spec))
        return {"outputs": model([features["x_xf"], features["c_xf"]])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(serialized):
        return transform(tf.io.parse_example(serialized, spec))

    signatures = {"serving_default": serve, "transform_features": transform_features}
    tf.saved_model.save(model, str(uri / "Format-Serving"), signatures=signatures)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tflite")
    train_model(root / "model")
    train_model(root / "model_bincount", convertible=False)
    write_examples(root / "examples", "train", 300, 1)
    write_examples(root / "examples", "eval", 200, 2)
    tfx_style(root / "model", root / "model_tfx")
    write_examples(root / "raw", "train", 300, 1, raw=True)
    write_examples(root / "raw", "eval", 200, 2, raw=True)
    (root / "empty").mkdir()
    write_examples(root / "empty", "eval", 50, 3)
    (root / "empty" / "Split-train").mkdir()
    return {"root": root}


def push(tmp_path: Path, trained, *, model="model", examples="examples", blessing=None, **over):
    from tfx.types import standard_artifacts

    from tfxd.components.tflite_pusher.executor import Executor

    root = trained["root"]
    model_artifact = standard_artifacts.Model()
    model_artifact.uri = str(root / model)
    ex = standard_artifacts.Examples()
    ex.uri = str(root / examples)
    ex.split_names = '["train", "eval"]'
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed")
    inputs = {"model": [model_artifact], "examples": [ex]}
    if blessing is not None:
        inputs["model_blessing"] = [blessing]
    Executor().Do(
        inputs,
        {"pushed_model": [pushed]},
        {
            "destination": str(over.pop("destination", tmp_path / "serving")),
            "config": json.dumps({**CONFIG, **over}),
        },
    )
    return pushed


@pytest.mark.slow  # the variants convert in a child process (~7 s)
def test_push_measures_every_variant_and_serves_the_version(tmp_path, trained):
    pushed = push(tmp_path, trained)
    manifest = json.loads(pushed.get_string_custom_property("tfxd_manifest"))
    version = int(pushed.get_string_custom_property("pushed_version"))
    folder = tmp_path / "serving" / "tiny" / str(version)
    assert (folder / "saved_model.pb").is_file() and (folder / "variables").is_dir()
    assert json.loads((folder / "manifest.json").read_text()) == manifest
    assert manifest["span"] == 3 and manifest["eval"]["examples"] == 200
    reference = manifest["saved_model"]["accuracy"]
    assert reference > 0.85
    by_variant = {v["variant"]: v for v in manifest["variants"]}
    assert set(by_variant) == {"float32", "dynamic_range", "float16", "int8"}
    for name, v in by_variant.items():
        assert v["pushed"], v
        assert (folder / "tflite" / f"{name}.tflite").stat().st_size == v["bytes"]
        assert v["metric"] >= reference - 0.05 and v["latency_ms"] > 0
    assert by_variant["float32"]["metric"] == pytest.approx(reference, abs=1e-9)
    assert by_variant["int8"]["bytes"] < by_variant["float32"]["bytes"]
    assert serving_version(tmp_path / "serving", "tiny") == version
    # The same trained model again (e.g. re-evaluated against a new baseline): no second version.
    again = push(tmp_path / "again", trained, destination=tmp_path / "serving")
    assert again.get_int_custom_property("pushed") == 0
    assert f"already version {version}" in again.get_string_custom_property("tfxd_not_pushed")
    assert versions(tmp_path / "serving" / "tiny") == [version]


@pytest.mark.slow  # the variants convert in a child process (~7 s)
def test_a_tfx_style_serving_signature_converts_with_its_parsing_as_a_tf_op(tmp_path, trained):
    pushed = push(tmp_path, trained, model="model_tfx", examples="raw", label="y_xf")
    manifest = json.loads(pushed.get_string_custom_property("tfxd_manifest"))
    assert manifest["signature"] == "serving_default"
    assert manifest["saved_model"]["accuracy"] > 0.85  # labels made by transform_features
    by_variant = {v["variant"]: v for v in manifest["variants"]}
    for name in ("float32", "dynamic_range", "float16"):
        assert by_variant[name]["pushed"], by_variant[name]
        assert by_variant[name]["tf_ops"] == ["ParseExampleV2"]
        assert by_variant[name]["metric"] >= manifest["saved_model"]["accuracy"] - 0.05
    assert not by_variant["int8"]["pushed"]
    assert (
        "convert signature 'model' (the model's own inputs) for int8"
        in (by_variant["int8"]["reason"])
    )
    assert pushed.get_int_custom_property("pushed") == 1

    # TFLite builtins only: no variant converts (no kernel for the parsing), the SavedModel
    # is still pushed.
    builtins = push(
        tmp_path / "b",
        trained,
        model="model_tfx",
        examples="raw",
        label="y_xf",
        select_tf_ops=False,
        variants=["float32"],
    )
    [only] = json.loads(builtins.get_string_custom_property("tfxd_manifest"))["variants"]
    assert not only["pushed"] and "ParseExampleV2" in only["reason"]


@pytest.mark.slow  # the variants convert in a child process (~7 s)
def test_a_vocabulary_lookup_in_the_signature_is_recorded_with_the_way_out(tmp_path, trained):
    """As in TFX's taxi module: Transform's vocabularies are tables initialized from asset files,
    which TFLite does not initialize."""
    import tensorflow as tf

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\n")

    class Lookup(tf.Module):
        def __init__(self):
            init = tf.lookup.TextFileInitializer(
                str(vocab),
                tf.string,
                tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
            )
            self.table = tf.lookup.StaticHashTable(init, -1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, serialized):
            spec = {"x": tf.io.FixedLenFeature([1], tf.float32)}
            x = tf.io.parse_example(serialized, spec)["x"]
            known = tf.cast(self.table.lookup(tf.constant(["b"])), tf.float32)
            return {"outputs": tf.sigmoid(x + known)}

    module = Lookup()
    root = trained["root"] / "model_vocab" / "Format-Serving"
    tf.saved_model.save(module, str(root), signatures={"serving_default": module.serve})
    pushed = push(
        tmp_path, trained, model="model_vocab", examples="raw", label="c", variants=["float32"]
    )
    [float32] = json.loads(pushed.get_string_custom_property("tfxd_manifest"))["variants"]
    assert not float32["pushed"]
    assert "hashtable need to be initialized" in float32["reason"]
    assert "tensorflow/tensorflow#52206): convert signature 'model'" in float32["reason"]
    assert pushed.get_int_custom_property("pushed") == 1  # the SavedModel is pushed


@pytest.mark.slow  # the variants convert in a child process (~7 s)
def test_the_keras_model_on_its_own_inputs_and_bad_signatures(tmp_path, trained):
    from tfxd.infra.versions import PushError as Error

    pushed = push(tmp_path, trained, signature="model", variants=["int8"])
    [int8] = json.loads(pushed.get_string_custom_property("tfxd_manifest"))["variants"]
    assert int8["pushed"] and int8["tf_ops"] == []
    # The same for a model written by tf.saved_model.save, as TFX's modules write theirs: its
    # own call, traced at save time, on transformed examples.
    tfx = push(tmp_path / "t", trained, model="model_tfx", signature="model", variants=["int8"])
    [int8] = json.loads(tfx.get_string_custom_property("tfxd_manifest"))["variants"]
    assert int8["pushed"] and int8["metric"] > 0.85
    with pytest.raises(Error, match="has no signature 'serve' \\(it has: serving_default, "):
        push(tmp_path / "b", trained, model="model_tfx", signature="serve")
    with pytest.raises(Error, match="label 'tips' is neither an integer feature of the examples"):
        push(tmp_path / "c", trained, model="model_tfx", examples="raw", label="tips")


@pytest.mark.slow  # the variants convert in a child process (~7 s)
def test_variant_over_max_drop_is_not_pushed_with_the_reason(tmp_path, trained):
    pushed = push(tmp_path, trained, max_drop=-1.0, variants=["float16"])
    manifest = json.loads(pushed.get_string_custom_property("tfxd_manifest"))
    for v in manifest["variants"]:
        assert not v["pushed"] and "below the SavedModel's" in v["reason"]
    version = pushed.get_string_custom_property("pushed_version")
    assert list((tmp_path / "serving" / "tiny" / version / "tflite").iterdir()) == []


@pytest.mark.slow  # the variants convert in a child process (~7 s)
def test_unconvertible_ops_and_int8_without_examples_fail_per_variant(tmp_path, trained):
    # int8 first: the converter segfaults on it, and float32 still converts in a new child.
    pushed = push(
        tmp_path,
        trained,
        model="model_bincount",
        variants=["int8", "float32"],
        select_tf_ops=False,
    )
    manifest = json.loads(pushed.get_string_custom_property("tfxd_manifest"))
    assert all(not v["pushed"] and v["reason"] for v in manifest["variants"])
    by_variant = {v["variant"]: v["reason"] for v in manifest["variants"]}
    assert "converter failed" in by_variant["int8"]
    assert "ops TFLite has no kernel for: tf.DenseBincount" in by_variant["float32"]
    assert pushed.get_int_custom_property("pushed") == 1  # the SavedModel itself is pushed
    # With TensorFlow ops allowed (the default), it converts and says which it needs.
    flex = push(tmp_path / "f", trained, model="model_bincount", variants=["float32"])
    [float32] = json.loads(flex.get_string_custom_property("tfxd_manifest"))["variants"]
    assert float32["pushed"] and float32["tf_ops"] == ["DenseBincount"]

    other = push(tmp_path / "b", trained, examples="empty", variants=["float32", "int8"])
    by_variant = {
        v["variant"]: v
        for v in json.loads(other.get_string_custom_property("tfxd_manifest"))["variants"]
    }
    assert by_variant["float32"]["pushed"]
    assert "full int8 needs representative examples" in by_variant["int8"]["reason"]


@pytest.mark.slow  # the variants convert in a child process (~7 s)
def test_unblessed_model_is_not_pushed(tmp_path, trained):
    from tfx.types import standard_artifacts

    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / "blessing")
    (tmp_path / "blessing").mkdir()
    (tmp_path / "blessing" / "NOT_BLESSED").write_text("")
    pushed = push(tmp_path, trained, blessing=blessing)
    assert pushed.get_int_custom_property("pushed") == 0
    assert "NOT blessed" in pushed.get_string_custom_property("tfxd_not_pushed")
    assert not (tmp_path / "serving").exists()


@pytest.mark.slow  # the variants convert in a child process (~7 s)
def test_unwritable_destination_is_a_clear_error(tmp_path, trained):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PushError, match="cannot write to"):
        push(tmp_path, trained, destination=blocker / "serving", variants=["float32"])


def test_versions_never_collide_and_a_crash_leaves_no_half_version(tmp_path):
    model_dir = tmp_path / "m"

    def fill(folder: Path, version: int) -> None:
        (folder / "saved_model.pb").write_bytes(b"pb")
        (folder / "manifest.json").write_text(json.dumps({"version": version}))

    first, second = push_version(model_dir, fill), push_version(model_dir, fill)
    assert second == first + 1  # same second, next number
    assert versions(model_dir) == [first, second]

    def crash(folder: Path, version: int) -> None:
        (folder / "saved_model.pb").write_bytes(b"half")
        raise KeyboardInterrupt  # the process dies mid-push

    with pytest.raises(KeyboardInterrupt):
        push_version(model_dir, crash)
    assert versions(model_dir) == [first, second]
    assert not list(model_dir.glob(".tmp-*"))
    # A SIGKILL cannot clean up: its temp folder is invisible and the next push removes it.
    stale = model_dir / ".tmp-deadbeef"
    stale.mkdir()
    (stale / "saved_model.pb").write_bytes(b"half")
    third = push_version(model_dir, fill)
    assert versions(model_dir) == [first, second, third] and not stale.exists()
