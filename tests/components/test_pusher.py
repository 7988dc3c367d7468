"""tfxd's Pusher (TFX's Pusher, tfxd's versions) on a real SavedModel: a version with a manifest,
the serving pointer, the same model never pushed twice, and models / rollback over it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from tests.components.executors import small_saved_model
from tfxd.components.pusher.executor import Executor, destination
from tfxd.errors import TfxdError
from tfxd.infra.versions import serving_version, versions


def push(serving: Path, model_uri: Path, *, blessed: bool | None = None):
    """One execution of the Pusher executor with ``model_uri``'s model into ``serving``."""
    model = standard_artifacts.Model()
    model.uri = str(model_uri)
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(model_uri / "pushed")
    inputs = {"model": [model]}
    if blessed is not None:
        blessing = standard_artifacts.ModelBlessing()
        blessing.uri = str(model_uri / "blessing")
        blessing.set_int_custom_property("blessed", int(blessed))
        inputs["model_blessing"] = [blessing]
    config = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(serving))
    )
    Executor().Do(
        inputs,
        {"pushed_model": [pushed]},
        {
            "push_destination": proto_utils.proto_to_json(config),
            "custom_config": json.dumps({"tfxd_model_name": "taxi", "tfxd_node": "push"}),
        },
    )
    return pushed


@pytest.fixture
def models(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name in ("a", "b"):
        small_saved_model(tmp_path / name / "Format-Serving")
        out[name] = tmp_path / name
    return out


def test_push_serves_a_new_version_and_never_pushes_a_model_twice(tmp_path, models):
    serving = tmp_path / "serving"
    first = push(serving, models["a"])
    assert first.get_int_custom_property("pushed") == 1
    v1 = int(first.get_string_custom_property("pushed_version"))
    assert versions(serving) == [v1]
    assert first.get_string_custom_property("pushed_destination") == str(serving / str(v1))
    manifest = json.loads((serving / str(v1) / "manifest.json").read_text())
    assert manifest["source_model"] == str(models["a"] / "Format-Serving")
    assert manifest["node"] == "push" and manifest["user"] and manifest["created"]
    # TFX's layout (versions right under the destination) and a pointer TF Serving reads.
    assert serving_version(serving, "taxi") == v1
    assert f'base_path: "{serving}"' in (serving / "models.config").read_text()

    again = push(serving, models["a"])
    assert again.get_int_custom_property("pushed") == 0
    assert f"already version {v1}" in again.get_string_custom_property("tfxd_not_pushed")
    assert versions(serving) == [v1]

    refused = push(serving, models["b"], blessed=False)
    assert refused.get_int_custom_property("pushed") == 0
    assert "not blessed" in refused.get_string_custom_property("tfxd_not_pushed")
    second = push(serving, models["b"], blessed=True)
    v2 = int(second.get_string_custom_property("pushed_version"))
    assert versions(serving) == [v1, v2] and serving_version(serving, "taxi") == v2


PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: taxi}
spec:
  root: runs
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema: {type: SchemaGen, inputs: {statistics: stats.statistics}}
    transform:
      type: Transform
      inputs: {examples: examples.examples, schema: schema.schema}
      with: {module_file: model.py}
    train:
      type: Trainer
      inputs: {examples: transform.transformed_examples, transform_graph: transform.transform_graph}
      with: {module_file: model.py}
    push:
      type: Pusher
      inputs: {model: train.model}
      with: {destination: serving}
"""


def test_models_and_rollback_work_for_tfx_pusher_destinations(penguin_copy, models):
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    from tfxd.mlmd.models import print_models, rollback
    from tfxd.pipelines.pipeline import validate_file

    folder = penguin_copy.parent
    (folder / "taxi.yaml").write_text(PIPELINE)
    pipe = validate_file(folder / "taxi.yaml")
    made = [
        int(push(folder / "serving", models[n]).get_string_custom_property("pushed_version"))
        for n in ("a", "b")
    ]
    console = Console(width=200, record=True)
    print_models(pipe, console)
    text = console.export_text()
    assert f"{made[1]} *" in text and str(made[0]) in text

    connection = mlmd.ConnectionConfig()
    connection.sqlite.filename_uri = str(folder / "metadata.db")
    before, after = rollback(pipe, to=None, reason="canary", force=False, connection=connection)
    assert (before, after) == (made[1], made[0])
    assert serving_version(folder / "serving", "taxi") == made[0]


def test_only_filesystem_destinations_keep_versions():
    with pytest.raises(TfxdError, match="only a filesystem destination keeps model versions"):
        destination({"push_destination": "{}", "custom_config": "{}"})
