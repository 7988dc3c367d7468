"""tfxd models / tfxd rollback over a TFLitePusher destination, and the baseline that follows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from tfxd.infra.versions import (
    PushError,
    push_version,
    serving_version,
    set_serving,
)

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: edge}
spec:
  root: runs
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    train:
      type: Trainer
      inputs: {examples: examples.examples}
      with: {module_file: edge_model.py}   # never run: the versions are written here
    push:
      type: TFLitePusher
      inputs: {model: train.model, examples: examples.examples}
      with: {destination: serving, label: species_xf, variants: [float32, int8]}
"""


@pytest.fixture
def pushed(penguin_copy: Path):
    folder = penguin_copy.parent
    spec = folder / "edge.yaml"
    spec.write_text(PIPELINE)
    (folder / "edge_model.py").write_text("def run_fn(fn_args):\n    raise NotImplementedError\n")
    model_dir = folder / "serving" / "edge"
    made = []
    for i, blessed in enumerate([False, True, True]):

        def fill(out: Path, version: int, i: int = i, blessed: bool = blessed) -> None:
            (out / "saved_model.pb").write_bytes(b"pb")
            manifest = {
                "version": version,
                "created": f"2026-11-2{i}",
                "span": i + 1,
                "blessed": blessed,
                "saved_model": {"accuracy": 0.9 + i / 100},
                "variants": [{"variant": "int8", "bytes": 2048, "pushed": True}],
            }
            (out / "manifest.json").write_text(json.dumps(manifest))

        made.append(push_version(model_dir, fill))
    set_serving(folder / "serving", "edge", made[-1])
    from tfxd.pipelines.pipeline import validate_file

    return validate_file(spec), made, folder


def connection(folder: Path):
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(folder / "metadata.db")
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return config


def test_models_lists_versions_and_marks_serving(pushed):
    from tfxd.mlmd.models import print_models

    pipe, made, _ = pushed
    console = Console(width=200, record=True)
    print_models(pipe, console)
    text = console.export_text()
    assert f"{made[2]} *" in text and str(made[0]) in text
    assert "int8 2.0" in text and "0.9200" in text


def test_models_at_80_columns_breaks_no_word(pushed):
    from tfxd.mlmd.models import print_models

    pipe, made, folder = pushed
    console = Console(width=80, record=True, color_system=None)
    print_models(pipe, console)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    header = next(line for line in lines if "version" in line and "created" in line)
    for name in ("span", "accuracy", "blessed", "tflite KB"):
        assert name in header, header
    text = "\n".join(lines)
    assert f"{made[2]} *" in text and "2026-11-22" in text
    shown = "".join(line.strip() for line in lines[lines.index("* serving; versions under") + 1 :])
    assert shown.startswith(str(folder / "serving" / "edge"))  # the path whole, if on lines


def test_rollback_moves_the_pointer_and_records_who_when_why(pushed):
    from ml_metadata import metadata_store

    from tfxd.mlmd.models import ROLLBACK_TYPE, rollback

    pipe, made, folder = pushed
    before, after = rollback(
        pipe, to=None, reason="bad canary", force=False, connection=connection(folder)
    )
    assert (before, after) == (made[2], made[1])
    assert serving_version(folder / "serving", "edge") == made[1]
    store = metadata_store.MetadataStore(connection(folder))
    [record] = store.get_executions_by_type(ROLLBACK_TYPE)
    props = {k: v.string_value for k, v in record.custom_properties.items()}
    assert props["reason"] == "bad canary" and props["to_version"] == str(made[1])
    assert props["from_version"] == str(made[2]) and props["user"] and props["at"]

    with pytest.raises(PushError, match=r"no complete version 12345 .* \(versions: "):
        rollback(pipe, to=12345, reason="", force=False, connection=connection(folder))
    with pytest.raises(PushError, match="was not blessed: pass --force"):
        rollback(pipe, to=made[0], reason="", force=False, connection=connection(folder))
    assert serving_version(folder / "serving", "edge") == made[1]  # refused: unchanged
    rollback(pipe, to=made[0], reason="forced", force=True, connection=connection(folder))
    assert serving_version(folder / "serving", "edge") == made[0]


def test_baseline_model_follows_the_serving_pointer(pushed, tmp_path):
    from tfx.types import standard_artifacts

    from tfxd.components.baseline_model.executor import Executor

    _, made, folder = pushed
    set_serving(folder / "serving", "edge", made[1])
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "baseline")
    Executor().Do({}, {"model": [model]}, {"source": str(folder / "serving")})
    assert model.get_string_custom_property("tfxd_baseline_version") == str(made[1])
    assert (tmp_path / "baseline" / "Format-Serving" / "saved_model.pb").is_file()
