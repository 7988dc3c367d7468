"""Running a component's executor in-process, as a launcher would: its exec properties as the
component made them, one Examples output at a folder the test picks."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def execute(executor: type, component: Any, uri: Path, beam_args: list[str] | None = None) -> Any:
    """One execution of ``executor`` with ``component``'s exec properties (and ``beam_args``);
    its Examples artifact (for ExampleGens whose driver has nothing to resolve: no span
    patterns)."""
    from tfx.types import standard_artifacts
    from tfx.utils import proto_utils

    props = {
        k: proto_utils.proto_to_json(v) if hasattr(v, "DESCRIPTOR") else v
        for k, v in component.exec_properties.items()
    }
    examples = standard_artifacts.Examples()
    examples.uri = str(uri)
    context = executor.Context(beam_pipeline_args=beam_args) if beam_args else None
    executor(context).Do({}, {"examples": [examples]}, props)
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


def records(uri: str, split: str) -> list:
    """A split's Examples, by id (their serialized bytes order map entries arbitrarily)."""
    import tensorflow as tf

    files = sorted(str(f) for f in Path(uri, f"Split-{split}").glob("*.gz"))
    data = tf.data.TFRecordDataset(files, compression_type="GZIP")
    examples = [tf.train.Example.FromString(r.numpy()) for r in data]
    return sorted(examples, key=lambda e: list(e.features.feature["id"].int64_list.value))


def tricky_csv() -> bytes:
    """Quoted commas and quotes, a field over two lines, empty cells, a column with no value,
    a blank line and CRLF endings: what TFX's CSV reader handles."""
    rows = [f"{i},{i / 4 if i % 5 else ''},name {i},,\r\n" for i in range(3, 40)]
    head = [
        "id,x,name,note,empty\n",
        '1,0.5,"Smith, J","line one\nline two",\n',
        "\n",
        '2,2,"say ""hi""",plain,\n',
    ]
    return "".join(head + rows).encode()
