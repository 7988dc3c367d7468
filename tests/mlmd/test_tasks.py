"""Tasks of a compiled spec recorded in ML Metadata (``tfxd.mlmd.tasks``): read back by the same
views that read local runs."""

from __future__ import annotations

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd

from tfxd.mlmd.lineage import latest_artifact, trace
from tfxd.mlmd.tasks import end_task, start_task
from tfxd.mlmd.views import list_runs

EXAMPLES = "tfx.Examples"


def store_at(path) -> metadata_store.MetadataStore:
    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    return metadata_store.MetadataStore(config)


def test_tasks_become_executions_with_lineage_and_typed_metadata(tmp_path):
    store = store_at(tmp_path / "m.db")
    # A local run registered TFX's Examples type first, with its properties.
    examples_type = mlmd.ArtifactType(name="Examples", properties={"span": mlmd.INT})
    store.put_artifact_type(examples_type)
    examples_uri = str(tmp_path / "r1" / "examples" / "examples")
    first = start_task(store, "p", "r1", "examples", "tfx.Gen", {}, {"tfxd_runner": "run-spec"})
    [running] = list_runs(store, "p")
    assert running.status == "running"
    metadata = {"span": 3.0, "custom:input_fingerprint": "split:a", "ratio": 0.5, "x": [1]}
    end_task(
        store,
        first,
        True,
        {"examples": [{"uri": examples_uri, "type": EXAMPLES, "metadata": metadata}]},
    )
    second = start_task(store, "p", "r1", "stats", "tfx.Stats", {"examples": [examples_uri]})
    stats_uri = str(tmp_path / "r1" / "stats" / "statistics")
    outputs = {"statistics": [{"uri": stats_uri, "type": "tfx.ExampleStatistics", "metadata": {}}]}
    end_task(store, second, True, outputs)

    [run] = list_runs(store, "p")
    assert run.run_id == "r1" and run.status == "succeeded"
    assert [(n.node, n.state) for n in run.nodes] == [
        ("examples", "complete"),
        ("stats", "complete"),
    ]
    [examples] = store.get_artifacts_by_uri(examples_uri)
    props = examples.custom_properties
    # Struct numbers come back as the ints TFX wrote; "custom:" is KFP's prefix, not the name.
    assert props["span"].int_value == 3 and props["ratio"].double_value == 0.5
    assert props["input_fingerprint"].string_value == "split:a"
    assert props["x"].string_value == "[1]"
    [kind] = store.get_artifact_types_by_id([examples.type_id])
    assert kind.name == "Examples"
    root = trace(store, "p", latest_artifact(store, "p", "ExampleStatistics"))
    assert root.producer == "stats" and [c.producer for c in root.inputs] == ["examples"]


def test_a_failed_task_records_no_outputs(tmp_path):
    store = store_at(tmp_path / "m.db")
    started = start_task(store, "p", "r2", "train", "tfx.Trainer", {"examples": ["/nowhere"]})
    outputs = {"model": [{"uri": str(tmp_path / "model"), "type": "tfx.Model", "metadata": {}}]}
    end_task(store, started, False, outputs)
    [run] = list_runs(store, "p")
    assert run.status == "failed" and run.nodes[0].state == "failed"
    assert store.get_artifacts() == []  # an input URI nothing produced is not invented either
