"""Small SavedModels shaped as TFX's serving signatures are: one string input of serialized
tf.Examples, parsed with ``tf.io.parse_example`` (a required float, an int with a default, a
variable-length string), and the model's output computed from the parsed features."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfxd.infra.versions import Destination, push_saved_model


def write_model(path: Path, scale: float) -> Path:
    """``score = scale * a + b`` (+1 when any ``c`` is "yes")."""
    import tensorflow as tf

    spec = {
        "a": tf.io.FixedLenFeature([], tf.float32),
        "b": tf.io.FixedLenFeature([1], tf.int64, default_value=[0]),
        "c": tf.io.VarLenFeature(tf.string),
    }

    class Toy(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples: Any) -> dict[str, Any]:
            parsed = tf.io.parse_example(examples, spec)
            words = tf.sparse.to_dense(parsed["c"], default_value="")
            yes = tf.cast(tf.reduce_any(tf.equal(words, "yes"), axis=1), tf.float32)
            score = scale * parsed["a"] + tf.cast(parsed["b"][:, 0], tf.float32) + yes
            return {"score": tf.reshape(score, [-1, 1])}

    toy = Toy()
    tf.saved_model.save(toy, str(path), signatures={"serving_default": toy.serve})
    return path


def push(dest: Destination, model: Path) -> int:
    """Push ``model`` as a new blessed version, as the pushers do; it serves."""
    return push_saved_model(dest, str(model), {"source_model": str(model), "blessed": True})
