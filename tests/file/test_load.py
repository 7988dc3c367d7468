"""Every class of spec error: located (file:line:column), with a fix, reported together."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfxd.errors import PipelineFileError
from tfxd.file import load
from tfxd.pipelines.pipeline import validate_file

HEADER = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: demo}
spec:
  root: runs
"""


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "model.py").write_text("# module\n")
    path = tmp_path / "pipeline.yaml"
    path.write_text(header + body)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PipelineFileError) as info:
        validate_file(path)
    return [str(p) for p in info.value.problems]


def only(path: Path) -> str:
    found = problems(path)
    assert len(found) == 1, found
    return found[0]


GOOD = """\
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
"""


def test_valid_file_loads(tmp_path):
    pipe = validate_file(write(tmp_path, GOOD))
    assert pipe.order == ["examples", "stats"]
    assert pipe.nodes["stats"].inputs == {"examples": ("examples", "examples")}


def test_unknown_key_did_you_mean(tmp_path):
    msg = only(write(tmp_path, GOOD + "  paramters: {a: 1}\n"))
    assert msg.startswith(f"{tmp_path}/pipeline.yaml:9:3: unknown key 'paramters'")
    assert "did you mean 'parameters'?" in msg


def test_unknown_key_in_component_params(tmp_path):
    path = write(tmp_path, GOOD.replace("input_base: data", "input_base: data, output_split: {}"))
    msg = only(path)
    assert ":7:" in msg and "unknown key 'output_split'" in msg
    assert "did you mean 'output_splits'?" in msg


def test_wrong_type(tmp_path):
    body = GOOD + "    schema: {type: SchemaGen, inputs: {statistics: stats.statistics},"
    body += " with: {infer_feature_shape: maybe}}\n"
    msg = only(write(tmp_path, body))
    assert ":9:" in msg and "infer_feature_shape" in msg and "write true or false" in msg


def test_unknown_component_type(tmp_path):
    msg = only(write(tmp_path, GOOD.replace("StatisticsGen", "StatisticGen")))
    assert "unknown component type 'StatisticGen' on node 'stats'" in msg
    assert "did you mean 'StatisticsGen'?" in msg


def test_a_node_named_like_the_pipeline_is_refused(tmp_path):
    body = GOOD.replace("    examples:", "    demo:").replace("examples.examples", "demo.examples")
    msg = only(write(tmp_path, body))
    assert ":7:5: node 'demo' has the pipeline's name" in msg and "rename the node" in msg


def test_pubsub_needs_columns_for_csv(tmp_path):
    body = """\
  components:
    stream:
      type: PubSubExampleGen
      with: {subscription: projects/proj-1/subscriptions/trips, format: csv}
"""
    msg = only(write(tmp_path, body))
    assert ":9:" in msg and "format: csv needs columns" in msg


def test_dangling_reference(tmp_path):
    msg = only(write(tmp_path, GOOD.replace("examples.examples", "exampels.examples")))
    assert "refers to unknown node 'exampels'" in msg and "did you mean 'examples'?" in msg


def test_missing_output(tmp_path):
    msg = only(write(tmp_path, GOOD.replace("examples.examples", "examples.example")))
    assert "node 'examples' (CsvExampleGen) has no output 'example'" in msg
    assert "did you mean 'examples'?" in msg


def test_type_mismatch_names_both_nodes(tmp_path):
    body = GOOD + "    schema: {type: SchemaGen, inputs: {statistics: examples.examples}}\n"
    msg = only(write(tmp_path, body))
    assert "'schema.statistics' takes ExampleStatistics but 'examples.examples' is Examples" in msg


def test_cycle(tmp_path):
    body = """\
  components:
    a: {type: StatisticsGen, inputs: {examples: b.examples}}
    b: {type: CsvExampleGen, with: {input_base: data}}
    c: {type: SchemaGen, inputs: {statistics: d.schema}}
    d: {type: SchemaGen, inputs: {statistics: c.schema}}
"""
    found = problems(write(tmp_path, body))
    assert any("cycle between nodes: d → c → d" in p for p in found), found


def test_missing_module_file(tmp_path):
    body = GOOD + "    t: {type: Transform, inputs: {examples: examples.examples,"
    body += " schema: s.schema}, with: {module_file: nope.py}}\n"
    body += "    s: {type: SchemaGen, inputs: {statistics: stats.statistics}}\n"
    msg = only(write(tmp_path, body))
    assert f"file not found: {tmp_path}/nope.py" in msg


def test_missing_data_folder(tmp_path):
    msg = only(write(tmp_path, GOOD.replace("input_base: data", "input_base: nodata")))
    assert "folder not found" in msg and ":7:56:" in msg


def test_undefined_parameter(tmp_path):
    body = "  parameters: {data_root: data}\n" + GOOD.replace(
        "input_base: data", "input_base: '${{ parameters.data_rot }}'"
    )
    msg = only(write(tmp_path, body))
    assert "undefined parameter 'data_rot'" in msg and "did you mean 'data_root'?" in msg


def test_parameter_substituted(tmp_path):
    body = "  parameters: {data_root: data}\n" + GOOD.replace(
        "input_base: data", "input_base: '${{ parameters.data_root }}'"
    )
    pipe = validate_file(write(tmp_path, body))
    assert pipe.nodes["examples"].params.input_base == "data"
    assert pipe.nodes["examples"].runtime_refs == {"input_base": "data_root"}


def test_duplicate_key(tmp_path):
    body = GOOD + "    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}\n"
    msg = only(write(tmp_path, body))
    assert "9:5: duplicate key 'stats' (first defined at line 8)" in msg


def test_a_mapping_as_a_key_is_named_where_it_stands_not_a_traceback(tmp_path):
    body = GOOD.replace("{input_base: data}", "{input_base: data, input_splits: {{a: 'x/*'}}}")
    msg = only(write(tmp_path, body))
    assert ":7:" in msg and "a key must be a plain value, not a mapping" in msg, msg
    assert "{{a: b}} is a mapping inside a mapping" in msg


@pytest.mark.parametrize(
    "snippet, what",
    [
        ("password: hunter2", "'password' holds a literal secret"),
        ("db: 'postgres://app:s3cret@db/app'", "a URL with an embedded password"),
        ("key_id: AKIAABCDEFGHIJKLMNOP", "an AWS access key id"),
    ],
)
def test_literal_secret(tmp_path, snippet, what):
    body = GOOD.replace("input_base: data}", "input_base: data}, x: {" + snippet + "}")
    found = problems(write(tmp_path, body))
    assert any(what in p and "secrets never go into pipeline files" in p for p in found), found


def test_secret_reference_allowed(tmp_path):
    header = HEADER + "  metadata: {mysql: {host: db, database: m, user_env: U, password_env: P}}\n"
    validate_file(write(tmp_path, GOOD, header=header))


def test_required_input_missing(tmp_path):
    msg = only(write(tmp_path, GOOD.replace(", inputs: {examples: examples.examples}", "")))
    assert "StatisticsGen 'stats' needs input 'examples'" in msg


def test_yaml_syntax_error(tmp_path):
    msg = only(write(tmp_path, GOOD + "    broken: {type: [\n"))
    assert "invalid YAML" in msg


def test_all_problems_reported_together(tmp_path):
    body = GOOD.replace("StatisticsGen", "StatisticGen").replace("root: runs", "")
    body += "  extra: 1\n"
    found = problems(write(tmp_path, body))
    assert len(found) == 2
    assert "unknown key 'extra'" in found[1] or "unknown key 'extra'" in found[0]


def test_error_text_lists_count_and_locations(tmp_path):
    with pytest.raises(
        PipelineFileError, match=r"^2 problems in pipeline file:\n.*pipeline.yaml:\d+:\d+"
    ):
        validate_file(write(tmp_path, GOOD.replace("StatisticsGen", "Nope") + "  x: 1\n"))


def test_load_reports_structure_without_registry(tmp_path):
    with pytest.raises(PipelineFileError, match="must be 'tfxd/v1'"):
        load(write(tmp_path, GOOD, header=HEADER.replace("tfxd/v1", "v2")))


@pytest.mark.parametrize(
    "path, says",
    [
        (
            "gs://bucket/log",
            "gs:// cannot hold the serving log: use a folder or s3://BUCKET/PREFIX",
        ),
        ("s3:///log", "no bucket: write s3://BUCKET/PREFIX"),
    ],
)
def test_a_serving_log_is_a_folder_or_an_s3_prefix(tmp_path, path, says):
    msg = only(write(tmp_path, GOOD + f"  serving: {{log: {{path: '{path}'}}}}\n"))
    assert msg.startswith(f"{tmp_path}/pipeline.yaml:9:") and says in msg, msg
    assert validate_file(write(tmp_path, GOOD + "  serving: {log: {path: s3://b/log}}\n"))


PUSH = """\
    train:
      type: Trainer
      inputs: {examples: examples.examples}
      with: {module_file: model.py, train_steps: 5}
    push:
      type: %s
      inputs: {model: train.model%s}
      with: {destination: '%s'%s}
"""


@pytest.mark.parametrize(
    "header, body, where, says",
    [
        (HEADER.replace("root: runs", "root: gs://b/runs"), GOOD, ":5:9:", "a local run's root"),
        (
            HEADER + "  metadata: {sqlite: 's3://b/m.db'}\n",
            GOOD,
            ":6:22:",
            "MLMD's SQLite file: give a local path",
        ),
        (HEADER, GOOD + PUSH % ("Pusher", "", "s3://b/serving", ""), ":16:", "model versions"),
        (
            HEADER,
            GOOD
            + PUSH
            % ("TFLitePusher", ", examples: examples.examples", "gs://b/serving", ", label: y"),
            ":16:",
            "mounted volume as pvc://",
        ),
    ],
    ids=["root", "sqlite", "pusher", "tflite-pusher"],
)
def test_a_uri_where_only_a_local_folder_works_is_refused(tmp_path, header, body, where, says):
    """Pushes rename versions into place, SQLite and the run's root are local files: a URI
    there is named, not folded into a local folder called 's3:'."""
    msg = only(write(tmp_path, body, header))
    assert msg.startswith(f"{tmp_path}/pipeline.yaml{where}") and says in msg, msg
    assert "cannot hold" in msg
