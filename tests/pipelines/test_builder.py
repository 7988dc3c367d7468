"""spec → tfx.dsl.Pipeline for each target."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import PENGUIN
from tfxd.pipelines.builder import build
from tfxd.pipelines.pipeline import validate_file


def test_local_build_wires_every_node(penguin_data):
    pipe = validate_file(PENGUIN / "pipeline.yaml")
    built = build(pipe, "local", with_metadata=False)
    ids = [c.id for c in built.pipeline.components]
    assert set(ids) == set(pipe.order) and len(ids) == 10
    by_id = {c.id: c for c in built.pipeline.components}
    assert {n.id for n in by_id["train"].upstream_nodes} == {"transform", "tune"}
    assert '"num_steps": 200' in str(by_id["train"].exec_properties["train_args"])
    assert by_id["examples"].exec_properties["input_base"] == str(PENGUIN / "data")
    assert built.pipeline.pipeline_info.pipeline_root == str(PENGUIN / "runs")
    assert built.runtime_parameters == {}
    assert built.always_run == set()  # BaselineModel: cached while serving is unchanged
    assert {n.id for n in by_id["evaluate"].upstream_nodes} == {"baseline", "examples", "train"}


def test_param_override_reaches_the_component(penguin_data):
    pipe = validate_file(PENGUIN / "pipeline.yaml", {"train_steps": "321"})
    built = build(pipe, "local", with_metadata=False)
    train = next(c for c in built.pipeline.components if c.id == "train")
    assert "321" in str(train.exec_properties["train_args"])


def test_kubeflow_build_uses_runtime_parameter_and_image_paths(penguin_data):
    pipe = validate_file(PENGUIN / "pipeline.yaml")
    built = build(pipe, "kubeflow", root="s3://b/r")
    [name] = built.runtime_parameters
    assert name == "data_root"
    assert built.always_run == {"baseline"}  # KFP's cache cannot see what serves
    assert built.runtime_parameters[name].default == "/tfxd/pipelines/penguin/data"
    transform = next(c for c in built.pipeline.components if c.id == "transform")
    assert transform.exec_properties["preprocessing_fn"] == (
        "pipelines.penguin.model.preprocessing_fn"
    )


def test_every_standard_type_builds(tmp_path):
    """ImportExampleGen, ImportSchemaGen and BulkInferrer are not in the penguin example; a
    DriftValidator fed an imported schema checks every span against it."""
    (tmp_path / "records").mkdir()
    (tmp_path / "schema.pbtxt").write_text('feature { name: "x" type: FLOAT }\n')
    (tmp_path / "model.py").write_text("")
    (tmp_path / "p.yaml").write_text(
        """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: all-types}
spec:
  root: runs
  components:
    examples: {type: ImportExampleGen, with: {input_base: records}}
    schema: {type: ImportSchemaGen, with: {schema_file: schema.pbtxt}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    drift:
      type: DriftValidator
      inputs: {examples: examples.examples, statistics: stats.statistics, schema: schema.schema}
    train:
      type: Trainer
      inputs: {examples: examples.examples, schema: schema.schema}
      with: {module_file: model.py, train_steps: 5}
    infer:
      type: BulkInferrer
      inputs: {examples: examples.examples, model: train.model}
      with: {example_splits: [eval]}
"""
    )
    pipe = validate_file(tmp_path / "p.yaml")
    built = build(pipe, "local", with_metadata=False)
    types = {c.id: type(c).__name__ for c in built.pipeline.components}
    assert types == {
        "examples": "ImportExampleGen",
        "schema": "ImportSchemaGen",
        "stats": "StatisticsGen",
        "drift": "DriftValidator",
        "train": "Trainer",
        "infer": "BulkInferrer",
    }
    drift = next(c for c in built.pipeline.components if c.id == "drift")
    config = json.loads(drift.exec_properties["config"])
    assert config["schema_source"] == "imported" and config["pipeline"] == "all-types"
    assert config["schema_file"] == str(tmp_path / "schema.pbtxt")
    infer = next(c for c in built.pipeline.components if c.id == "infer")
    assert "eval" in str(infer.exec_properties["data_spec"])


def _transform_pipeline(tmp_path, extra: str, transform_with: str = "") -> str:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "d.csv").write_text("x,y\n1,2\n")
    (tmp_path / "model.py").write_text("")
    (tmp_path / "p.yaml").write_text(
        f"""\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {{name: settle}}
spec:
  root: runs
  components:
    examples: {{type: CsvExampleGen, with: {{input_base: data}}}}
    schema_stats: {{type: StatisticsGen, inputs: {{examples: examples.examples}}}}
    schema: {{type: SchemaGen, inputs: {{statistics: schema_stats.statistics}}}}
    transform:
      type: Transform
      inputs: {{examples: examples.examples, schema: schema.schema}}
      with: {{module_file: model.py{transform_with}}}
{extra}"""
    )
    return str(tmp_path / "p.yaml")


def test_transform_statistics_are_computed_only_where_new_or_read(tmp_path):
    """Unset, the Transform's own TFDV statistics are off when a StatisticsGen already reads
    the same examples and no node reads them; on when one does, or when asked."""
    duplicated = validate_file(_transform_pipeline(tmp_path, ""))
    assert duplicated.nodes["transform"].params.statistics is False
    built = build(duplicated, "local", with_metadata=False)
    transform = next(c for c in built.pipeline.components if c.id == "transform")
    assert transform.exec_properties["disable_statistics"] == 1
    assert "post_transform_stats" not in transform.outputs

    read = validate_file(
        _transform_pipeline(
            tmp_path,
            "    check:\n      type: ExampleValidator\n      inputs:\n"
            "        statistics: transform.post_transform_stats\n"
            "        schema: transform.post_transform_schema\n",
        )
    )
    assert read.nodes["transform"].params.statistics is True
    built = build(read, "local", with_metadata=False)
    transform = next(c for c in built.pipeline.components if c.id == "transform")
    assert transform.exec_properties["disable_statistics"] == 0

    asked = validate_file(_transform_pipeline(tmp_path, "", ", statistics: true"))
    assert asked.nodes["transform"].params.statistics is True

    elsewhere = Path(_transform_pipeline(tmp_path, ""))  # statistics of other examples only
    text = elsewhere.read_text().replace("examples.examples}}", "o.examples}}")
    other = "    o: {type: CsvExampleGen, with: {input_base: data}}\n"
    elsewhere.write_text(text.replace("    schema_stats:", other + "    schema_stats:"))
    assert validate_file(elsewhere).nodes["transform"].params.statistics is True


def test_a_uri_in_a_path_field_reaches_the_local_build_as_written(tmp_path):
    """A ``Path`` would fold ``gs://b/x`` into ``gs:/b/x``, a folder named ``gs:`` in the
    working directory."""
    (tmp_path / "schema.pbtxt").write_text('feature { name: "x" type: FLOAT }\n')
    (tmp_path / "p.yaml").write_text(
        """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: remote}
spec:
  root: runs
  components:
    examples: {type: ImportExampleGen, with: {input_base: "gs://tfxd-b/records"}}
    schema: {type: ImportSchemaGen, with: {schema_file: schema.pbtxt}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    drift:
      type: DriftValidator
      inputs: {examples: examples.examples, statistics: stats.statistics, schema: schema.schema}
      with: {history: "s3://tfxd-b/drift"}
"""
    )
    built = build(validate_file(tmp_path / "p.yaml"), "local", with_metadata=False)
    by_id = {c.id: c for c in built.pipeline.components}
    assert by_id["examples"].exec_properties["input_base"] == "gs://tfxd-b/records"
    assert by_id["drift"].exec_properties["history"] == "s3://tfxd-b/drift"
    assert built.pipeline.pipeline_info.pipeline_root == str(tmp_path / "runs")
