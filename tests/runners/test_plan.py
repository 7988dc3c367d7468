"""``tfxd plan``: plan keys from real files, their reasons, and runs recorded from the cache in a
real ML Metadata store. What ``tfxd run`` then does is compared in ``test_e2e_penguin``."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tfxd.pipelines.pipeline import validate_file
from tfxd.runners.launch import prepare
from tfxd.runners.plan import CACHED_FROM, PLAN_KEY, node_keys, record_cached_run

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: planned}
spec:
  root: runs
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema:
      type: SchemaGen
      inputs: {statistics: stats.statistics}
      with: {infer_feature_shape: false}
    transform:
      type: Transform
      inputs: {examples: examples.examples, schema: schema.schema}
      with: {module_file: code/model.py}
"""


def predict(pipe, store):
    """What `tfxd plan` prints: the run protocol's prediction."""
    return prepare(pipe, "local", store).predict(store)


def make(tmp_path: Path, text: str = PIPELINE) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "model.py").write_text(
        "def preprocessing_fn(inputs):\n    return inputs\n"
    )
    (tmp_path / "pipeline.yaml").write_text(text)
    return tmp_path / "pipeline.yaml"


def store_at(path: Path):
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return metadata_store.MetadataStore(config)


def finished(store, pipeline: str, keys: dict, run: str) -> dict[str, int]:
    """Executions as the local runner leaves them: one per node, each output an artifact, the
    plan key recorded, in the pipeline's, the run's and the node's contexts."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    types = {}
    for name in ("pipeline", "pipeline_run", "node"):
        types[name] = store.put_context_type(mlmd.ContextType(name=name))
    pipe = store.get_context_by_type_and_name("pipeline", pipeline)
    if pipe is None:
        [pid] = store.put_contexts([mlmd.Context(type_id=types["pipeline"], name=pipeline)])
        pipe = store.get_contexts_by_id([pid])[0]
    [rid] = store.put_contexts([mlmd.Context(type_id=types["pipeline_run"], name=run)])
    [run_ctx] = store.get_contexts_by_id([rid])
    etype = store.put_execution_type(mlmd.ExecutionType(name="tfx.Component"))
    atype = store.put_artifact_type(mlmd.ArtifactType(name="Examples"))
    ids = {}
    for node, key in keys.items():
        node_ctx = store.get_context_by_type_and_name("node", f"{pipeline}.{node}")
        if node_ctx is None:
            [nid] = store.put_contexts(
                [mlmd.Context(type_id=types["node"], name=f"{pipeline}.{node}")]
            )
            node_ctx = store.get_contexts_by_id([nid])[0]
        execution = mlmd.Execution(type_id=etype, last_known_state=mlmd.Execution.COMPLETE)
        execution.custom_properties[PLAN_KEY].string_value = json.dumps(key, sort_keys=True)
        artifact = mlmd.Artifact(type_id=atype, uri=f"/out/{run}/{node}")
        event = mlmd.Event(type=mlmd.Event.OUTPUT)
        event.path.steps.add().key = "out"
        ids[node], _, _ = store.put_execution(
            execution, [(artifact, event)], [pipe, run_ctx, node_ctx]
        )
    return ids


def test_keys_follow_parameters_module_imports_and_files(tmp_path):
    path = make(tmp_path)
    before = node_keys(validate_file(path), None)
    digest = hashlib.sha256(b"x,y\n1,2\n").hexdigest()
    assert before["examples"]["inputs"]["files"] == {"single_split": {"a.csv": digest}}
    assert set(before["transform"]["module"]) == {"code/model.py"}

    (tmp_path / "code" / "unused.py").write_text("X = 1\n")  # beside it, not imported
    assert node_keys(validate_file(path), None)["transform"] == before["transform"]
    (tmp_path / "code" / "helpers.py").write_text("X = 1\n")
    model = tmp_path / "code" / "model.py"
    model.write_text("import helpers\n" + model.read_text())
    (tmp_path / "data" / "a.csv").write_text("x,y\n1,2\n3,4\n")
    edited = path.read_text().replace("infer_feature_shape: false", "infer_feature_shape: true")
    path.write_text(edited)
    after = node_keys(validate_file(path), None)
    assert after["stats"]["upstream"]["examples"][:2] == ["examples", "examples"]
    # stats reads other files through examples: its key follows, though its own inputs did not.
    assert after["stats"]["upstream"] != before["stats"]["upstream"]
    assert after["stats"]["params"] == before["stats"]["params"]
    assert after["schema"]["params"]["infer_feature_shape"] is True
    assert set(after["transform"]["module"]) == {"code/model.py", "code/helpers.py"}
    assert after["examples"]["inputs"]["files"] != before["examples"]["inputs"]["files"]


def test_plan_names_what_changed_and_what_runs_because_of_it(tmp_path):
    path = make(tmp_path)
    pipe = validate_file(path)
    store = store_at(tmp_path / "metadata.db")
    assert [n.action for n in predict(pipe, None).nodes] == ["run"] * 4
    finished(store, "planned", node_keys(pipe, None), "r1")
    assert predict(pipe, store).all_cached

    (tmp_path / "code" / "model.py").write_text("def preprocessing_fn(inputs):\n    return {}\n")
    steps = {n.node: n for n in predict(pipe, store).nodes}
    assert [steps[n].action for n in ("examples", "stats", "schema")] == ["cached"] * 3
    assert (steps["transform"].action, steps["transform"].reason) == (
        "run",
        "code/model.py changed",
    )

    path.write_text(PIPELINE.replace("infer_feature_shape: false", "infer_feature_shape: true"))
    steps = {n.node: n for n in predict(validate_file(path), store).nodes}
    assert steps["schema"].reason == "infer_feature_shape: false → true"
    assert steps["transform"].reason == "upstream schema runs"
    data = tmp_path / "data" / "a.csv"
    stamp = data.stat().st_mtime + 5
    data.write_bytes(data.read_bytes())
    os.utime(data, (stamp, stamp))  # the same bytes rewritten, a later time: still cached
    steps = {n.node: n for n in predict(validate_file(path), store).nodes}
    assert steps["examples"].action == "cached"
    stat = data.stat()
    text = data.read_bytes()
    data.write_bytes(text[:-2] + bytes(reversed(text[-2:])))  # other bytes, same size and time
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data.stat().st_size == stat.st_size
    steps = {n.node: n for n in predict(validate_file(path), store).nodes}
    assert steps["examples"].reason == "input files: a.csv changed"
    assert steps["stats"].reason == "upstream examples runs"
    assert steps["schema"].reason == "upstream stats runs"
    assert steps["transform"].reason == "upstream examples, schema runs"


def test_a_run_served_by_the_cache_is_recorded_as_tfx_records_one(tmp_path):
    from tfxd.mlmd.views import list_runs

    path = make(tmp_path)
    pipe = validate_file(path)
    store = store_at(tmp_path / "metadata.db")
    first = finished(store, "planned", node_keys(pipe, None), "r1")
    predicted = predict(pipe, store)
    record_cached_run(store, "planned", "r2", predicted.nodes)

    newest, older = list_runs(store, "planned")
    assert (newest.run_id, newest.status, older.run_id) == ("r2", "succeeded", "r1")
    assert [n.state for n in newest.nodes] == ["cached"] * 4
    for node in newest.nodes:
        [execution] = store.get_executions_by_id([node.execution_id])
        assert execution.custom_properties[CACHED_FROM].int_value == first[node.node]
        [event] = store.get_events_by_execution_ids([execution.id])
        [artifact] = store.get_artifacts_by_id([event.artifact_id])
        assert artifact.uri == f"/out/r1/{node.node}"  # the outputs it reuses
    # The next plan matches the recorded run too: nothing changed.
    assert predict(pipe, store).all_cached


def test_an_upstream_served_from_another_execution_hands_over_other_artifacts(tmp_path):
    path = make(tmp_path)
    store = store_at(tmp_path / "metadata.db")
    finished(store, "planned", node_keys(validate_file(path), None), "r1")
    # `--only schema` with another parameter: schema has a result for it, transform has none.
    path.write_text(PIPELINE.replace("infer_feature_shape: false", "infer_feature_shape: true"))
    pipe = validate_file(path)
    finished(store, "planned", {"schema": node_keys(pipe, None)["schema"]}, "r2")
    steps = {n.node: n for n in predict(pipe, store).nodes}
    assert steps["schema"].action == "cached"
    assert (steps["transform"].action, steps["transform"].reason) == (
        "run",
        "input schema: another result of schema.schema",
    )


def test_a_partial_run_keys_its_nodes_on_the_outputs_it_reuses(tmp_path):
    from tfxd.runners.plan import reused_keys

    path = make(tmp_path)
    store = store_at(tmp_path / "metadata.db")
    first = node_keys(validate_file(path), None)
    finished(store, "planned", first, "r1")
    # The file changed since, but `--only transform` reuses r1's schema: transform's key says so.
    path.write_text(PIPELINE.replace("infer_feature_shape: false", "infer_feature_shape: true"))
    pipe = validate_file(path)
    reused = reused_keys(store, "planned", ["examples", "stats", "schema"])
    assert node_keys(pipe, None, reused)["transform"] == first["transform"]
    assert node_keys(pipe, None)["transform"] != first["transform"]


def test_plan_lines_wrap_reasons_between_words():
    from tfxd.runners.plan import NodePlan, Plan

    changed = ", ".join(f"span-{i}/trips-2026-{i:02d}-export.csv changed" for i in range(1, 7))
    plan = Plan(
        [NodePlan("examples", "run", f"input files: {changed}"), NodePlan("stats", "cached")]
    )
    narrow, wide = plan.lines(80), plan.lines(None)
    assert max(len(line) for line in narrow) <= 80 and len(narrow) > len(wide) == 2
    assert max(len(line) for line in plan.lines(200)) <= 200
    words = " ".join(line.strip() for line in narrow).split()
    assert words == " ".join(wide).split()  # the same words, none broken
    assert all(line.startswith(" " * len("examples  run     ")) for line in narrow[1:-1])
