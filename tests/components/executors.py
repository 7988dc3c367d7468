"""Running a component's executor in-process, as a launcher would: its exec properties as the
component made them, one Examples output at a folder the test picks."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def execute(executor: type, component: Any, uri: Path) -> Any:
    """One execution of ``executor`` with ``component``'s exec properties; its Examples artifact
    (for ExampleGens whose driver has nothing to resolve: no span patterns)."""
    from tfx.types import standard_artifacts
    from tfx.utils import proto_utils

    props = {
        k: proto_utils.proto_to_json(v) if hasattr(v, "DESCRIPTOR") else v
        for k, v in component.exec_properties.items()
    }
    examples = standard_artifacts.Examples()
    examples.uri = str(uri)
    executor().Do({}, {"examples": [examples]}, props)
    return examples


def stream_settings(tmp_path: Path, model: type, **overrides: Any) -> Any:
    """A stream ExampleGen's settings (``model``) for tests: JSON, short timeouts, journal and
    MLMD under ``tmp_path``."""
    return model.read(
        {
            "format": "json",
            "columns": {},
            "max_messages": 1000,
            "idle_timeout_seconds": 2,
            "window_seconds": 60,
            "skip_bad_rows": 0,
            "journal": str(tmp_path / "journal"),
            "metadata": {"sqlite": str(tmp_path / "metadata.db")},
            **overrides,
        }
    )


def small_saved_model(path: Path) -> None:
    """A real, tiny SavedModel (f(x) = 2x) at ``path``."""
    import tensorflow as tf

    module = tf.Module()
    module.scale = tf.Variable(2.0)
    module.f = tf.function(
        lambda x: x * module.scale, input_signature=[tf.TensorSpec([], tf.float32)]
    )
    tf.saved_model.save(module, str(path))
