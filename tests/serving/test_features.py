"""The parse spec read from a served model's own graph, and JSON rows turned into the tf.Examples
it takes, each bad row named with its fix."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.serving.toy import write_model
from tfxd.errors import TfxdError
from tfxd.serving.features import (
    BadRequest,
    Feature,
    check_examples,
    examples_of,
    read_signature,
)


@pytest.fixture(scope="module")
def signature(tmp_path_factory: pytest.TempPathFactory):
    import tensorflow as tf

    path = write_model(tmp_path_factory.mktemp("toy") / "1", scale=2.0)
    loaded = tf.saved_model.load(str(path))
    return read_signature(loaded.signatures["serving_default"]), loaded


def test_the_signature_says_what_it_parses(signature):
    sig, _ = signature
    assert sig.input_key == "examples" and sig.outputs == ["score"]
    assert sig.features == {
        "a": Feature("a", "float", True, 1),
        "b": Feature("b", "int", False, 1),
        "c": Feature("c", "bytes", False, None),
    }
    assert sig.required == ["a"]


def test_rows_become_the_examples_the_model_scores(signature):
    import tensorflow as tf

    sig, loaded = signature
    rows = [{"a": 1.5, "b": 2, "c": ["no", "yes"]}, {"a": 3, "c": None, "extra": "kept"}]
    serialized = examples_of(rows, sig, max_rows=10)
    scores = loaded.signatures["serving_default"](examples=tf.constant(serialized))["score"]
    assert scores.numpy().reshape(-1).tolist() == [6.0, 6.0]
    parsed = tf.train.Example.FromString(serialized[1])
    assert parsed.features.feature["extra"].bytes_list.value == [b"kept"]
    b64 = [{"b64": base64.b64encode(s).decode()} for s in serialized]
    assert examples_of(b64, sig, max_rows=10) == serialized
    named = [{"examples": {"b64": base64.b64encode(serialized[0]).decode()}}]
    assert examples_of(named, sig, max_rows=10) == serialized[:1]


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        ([{"b": 1}], r"instances\[0\]: 'a' is missing; the model requires it .*add 'a'"),
        ([{"a": "x"}], r"instances\[0\]: 'a' is 'x'; it is a float feature: send a number"),
        ([{"a": 1, "b": 1.5}], r"'b' is 1.5; it is an integer feature: send an integer"),
        ([{"a": True}], r"'a' is True; it is a float feature"),
        ([{"a": [1.0, 2.0]}], r"'a' holds 2 values; the model takes exactly 1 per instance"),
        ([{"a": 1, "c": [1]}], r"'c' is 1; it is a string feature: send a string"),
        ([{"b64": "!!"}], r"instances\[0\]\.b64: not valid base64"),
        ([[1.0]], r"instances\[0\] is \[1.0\]: each instance is an object"),
        ([], r'"instances" must be a non-empty list'),
        ([{"a": 1}] * 3, r"3 instances in one request; this server takes at most 2 .*split"),
    ],
)
def test_each_bad_row_is_named_with_its_fix(signature, instances, message):
    sig, _ = signature
    with pytest.raises(BadRequest, match=message):
        check_examples(examples_of(instances, sig, max_rows=2), sig)


def test_serialized_examples_are_checked_too(signature):
    import tensorflow as tf

    sig, _ = signature
    with pytest.raises(BadRequest, match=r"not a serialized tf.Example"):
        check_examples([b"\xff\xff"], sig)
    no_a = tf.train.Example()
    no_a.features.feature["b"].int64_list.value.append(1)
    with pytest.raises(BadRequest, match=r"the tf.Example has no 'a'; the model requires it"):
        check_examples([no_a.SerializeToString()], sig)
    wrong = tf.train.Example()
    wrong.features.feature["a"].bytes_list.value.append(b"1")
    with pytest.raises(BadRequest, match=r"'a' is a bytes_list .* parses a float_list"):
        check_examples([wrong.SerializeToString()], sig)


def test_a_signature_without_tf_examples_is_refused(tmp_path: Path):
    import tensorflow as tf

    class Plain(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def serve(self, x):
            return {"y": x * 2}

    plain = Plain()
    tf.saved_model.save(plain, str(tmp_path / "m"), signatures={"serving_default": plain.serve})
    fn = tf.saved_model.load(str(tmp_path / "m")).signatures["serving_default"]
    with pytest.raises(TfxdError, match=r"not one string tensor of serialized tf.Examples"):
        read_signature(fn)
