"""S3ExampleGen against a real S3 API server (moto's, on 127.0.0.1): listing, ETag fingerprints,
errors, and a pipeline reading CSV, JSON lines, TFRecord and Parquet objects into Examples."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from tests.components.executors import execute, records, tricky_csv
from tests.conftest import tfxd
from tests.servers.s3 import s3_server

ROWS = [{"id": i, "x": i / 10, "kind": "ab"[i % 2], "label": i % 3} for i in range(60)]


@pytest.fixture
def s3():
    import boto3

    with s3_server() as env:
        client = boto3.session.Session().client("s3")
        client.create_bucket(Bucket="tfxd-data")
        yield client, env


def put(client, key: str, body: bytes) -> None:
    client.put_object(Bucket="tfxd-data", Key=key, Body=body)


def csv_bytes(rows: list[dict]) -> bytes:
    lines = ["id,x,kind,label"] + [f"{r['id']},{r['x']},{r['kind']},{r['label']}" for r in rows]
    return ("\n".join(lines) + "\n").encode()


def test_glob_stat_open_and_listdir(s3):
    from tfx.dsl.io import fileio

    import tfxd.components.s3_example_gen.service  # noqa: F401  (registers s3://)

    client, _ = s3
    put(client, "t/span-1/a.csv", csv_bytes(ROWS[:5]))
    put(client, "t/span-2/a.csv", csv_bytes(ROWS[5:9]))
    put(client, "t/span-2/b.csv", csv_bytes(ROWS[9:10]))
    put(client, "t/span-10/deep/c.csv", b"x\n")
    assert fileio.glob("s3://tfxd-data/t/span-*/*.csv") == [
        "s3://tfxd-data/t/span-1/a.csv",
        "s3://tfxd-data/t/span-2/a.csv",
        "s3://tfxd-data/t/span-2/b.csv",
    ]  # * does not cross a /
    assert fileio.glob("s3://tfxd-data/t/span-*") == [
        f"s3://tfxd-data/t/span-{n}" for n in (1, 10, 2)
    ]
    assert fileio.listdir("s3://tfxd-data/t") == ["span-1", "span-10", "span-2"]
    assert fileio.isdir("s3://tfxd-data/t/span-1") and not fileio.exists("s3://tfxd-data/u")
    assert fileio.exists("s3://tfxd-data/t/span-1/a.csv") and fileio.exists("s3://tfxd-data/t")
    assert not fileio.exists("s3://tfxd-data/t/span")  # a key prefix is not a folder
    with fileio.open("s3://tfxd-data/t/span-1/a.csv") as handle:
        assert handle.readline().strip() == "id,x,kind,label"
    assert fileio.stat("s3://tfxd-data/t/span-1/a.csv").length == len(csv_bytes(ROWS[:5]))


def test_fingerprint_follows_content_not_upload_time(s3):
    from tfxd.infra.s3 import etag_fingerprint

    client, _ = s3
    put(client, "f/a.csv", csv_bytes(ROWS))
    first = etag_fingerprint(["s3://tfxd-data/f/a.csv"])
    put(client, "f/a.csv", csv_bytes(ROWS))  # the same bytes again: a new modification time
    assert etag_fingerprint(["s3://tfxd-data/f/a.csv"]) == first
    put(client, "f/a.csv", csv_bytes(ROWS[:-1]))
    assert etag_fingerprint(["s3://tfxd-data/f/a.csv"]) != first


def test_missing_bucket_and_empty_prefix_are_named(s3):
    from tfxd.infra.s3 import S3Error, list_objects

    with pytest.raises(S3Error, match="bucket 'no-such-bucket' does not exist"):
        list_objects("s3://no-such-bucket/x/")
    assert list_objects("s3://tfxd-data/nothing-here/") == []


def test_json_lines_are_objects_named_by_file_and_line_when_bad():
    from tfxd.components.s3_example_gen.executor import json_record
    from tfxd.errors import TfxdError

    line = b'{"n": 3, "f": 1.5, "s": "a", "b": true, "l": [1, 2], "z": null}\n'
    assert json_record(line) == {"n": 3, "f": 1.5, "s": "a", "b": True, "l": [1, 2], "z": None}
    with pytest.raises(TfxdError, match="data.jsonl:4: not a JSON object"):
        json_record(b"{oops", source="data.jsonl:4")
    with pytest.raises(TfxdError, match="data.jsonl:5: a JSON line must be an object, got list"):
        json_record(b"[1]", source="data.jsonl:5")
    with pytest.raises(TfxdError, match=r"data.jsonl:6: not UTF-8 \(byte 7\)"):
        json_record(b'{"s": "\xff"}', source="data.jsonl:6")


PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: s3-formats}
spec:
  root: runs
  components:
    csv:
      type: S3ExampleGen
      with:
        input_base: s3://tfxd-data/csv
        format: csv
        input_splits: {train: "span-{SPAN}/train/*", eval: "span-{SPAN}/eval/*"}
    jsonl: {type: S3ExampleGen, with: {input_base: s3://tfxd-data/jsonl, format: jsonl}}
    tfrecord: {type: S3ExampleGen, with: {input_base: s3://tfxd-data/tfrecord, format: tfrecord}}
    parquet: {type: S3ExampleGen, with: {input_base: s3://tfxd-data/parquet, format: parquet}}
    stats: {type: StatisticsGen, inputs: {examples: csv.examples}}
"""


def upload_formats(client) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import tensorflow as tf

    for span in (1, 2):
        put(client, f"csv/span-{span}/train/part-0.csv", csv_bytes(ROWS[:40]))
        put(client, f"csv/span-{span}/eval/part-0.csv", csv_bytes(ROWS[40:]))
    put(client, "jsonl/a.jsonl", "\n".join(json.dumps(r) for r in ROWS).encode())
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(ROWS), buffer)
    put(client, "parquet/a.parquet", buffer.getvalue())
    records = []
    for r in ROWS:
        feature = {
            "id": tf.train.Feature(int64_list=tf.train.Int64List(value=[r["id"]])),
            "x": tf.train.Feature(float_list=tf.train.FloatList(value=[r["x"]])),
        }
        records.append(tf.train.Example(features=tf.train.Features(feature=feature)))
    path = Path(__import__("tempfile").mkdtemp()) / "a.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record.SerializeToString())
    put(client, "tfrecord/a.tfrecord", path.read_bytes())


def count(uri: str, split: str) -> int:
    import tensorflow as tf

    files = [str(f) for f in Path(uri, f"Split-{split}").glob("*.gz")]
    return sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))


@pytest.mark.slow  # five Beam jobs through the CLI (~1 min)
def test_pipeline_reads_every_format_with_spans_and_caches_by_etag(s3, tmp_path):
    from tests.test_e2e_penguin import open_store

    client, _ = s3
    upload_formats(client)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    first = tfxd("run", "pipeline.yaml", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr

    store = open_store(tmp_path / "runs" / "metadata.db")
    examples = {}
    for artifact in store.get_artifacts_by_type("Examples"):
        node = Path(artifact.uri).parent.parent.name
        examples[node] = artifact
    assert sorted(examples) == ["csv", "jsonl", "parquet", "tfrecord"]
    csv = examples["csv"]
    assert csv.custom_properties["span"].int_value == 2  # the newest span
    assert count(csv.uri, "train") == 40 and count(csv.uri, "eval") == 20
    assert "etag_sha256:" in csv.custom_properties["input_fingerprint"].string_value
    for node in ("jsonl", "parquet", "tfrecord"):
        uri = examples[node].uri
        assert count(uri, "train") + count(uri, "eval") == len(ROWS), node

    # The same bytes uploaded again: everything comes from the cache.
    put(client, "csv/span-2/train/part-0.csv", csv_bytes(ROWS[:40]))
    again = tfxd("run", "pipeline.yaml", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{'csv':<12} cached" in again.stdout and f"{'stats':<12} cached" in again.stdout

    # Changed content in the span: the ExampleGen and StatisticsGen run again.
    put(client, "csv/span-2/train/part-0.csv", csv_bytes(ROWS[:39]))
    changed = tfxd("run", "pipeline.yaml", cwd=tmp_path)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert f"{'csv':<12} done" in changed.stdout and f"{'stats':<12} done" in changed.stdout
    assert f"{'jsonl':<12} cached" in changed.stdout

    # Spans are found on S3 as for local files, and an older one is read on request.
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.pipelines.spans import available_spans

    assert available_spans(validate_file(tmp_path / "pipeline.yaml")) == [1, 2]
    older = tfxd("run", "pipeline.yaml", "--span", "1", "--only", "csv", cwd=tmp_path)
    assert older.returncode == 0, older.stdout + older.stderr
    store = open_store(tmp_path / "runs" / "metadata.db")
    newest = max(store.get_artifacts_by_type("Examples"), key=lambda a: a.id)
    assert newest.custom_properties["span"].int_value == 1


def test_bad_inputs_are_reported_by_node_and_prefix(s3, tmp_path):
    client, _ = s3
    put(client, "csv/other/a.csv", csv_bytes(ROWS))
    text = PIPELINE.replace("s3://tfxd-data/jsonl", "s3://tfxd-data/missing-prefix")
    (tmp_path / "pipeline.yaml").write_text(text)
    done = tfxd("run", "pipeline.yaml", "--only", "jsonl", cwd=tmp_path)
    assert done.returncode == 1
    assert (
        "s3://tfxd-data/missing-prefix: no objects under this prefix" in done.stdout + done.stderr
    )
    done = tfxd("run", "pipeline.yaml", "--only", "csv", cwd=tmp_path)
    assert done.returncode == 1
    assert "s3://tfxd-data/csv" in done.stdout + done.stderr


def test_a_credential_in_the_uri_is_rejected_at_validate_time(tmp_path):
    text = PIPELINE.replace("s3://tfxd-data/jsonl", "s3://AKIAXXXX:s3cr3tvalue@tfxd-data/jsonl")
    (tmp_path / "pipeline.yaml").write_text(text)
    done = tfxd("validate", "pipeline.yaml", cwd=tmp_path)
    assert done.returncode == 2
    out = done.stderr + done.stdout
    assert "pipeline.yaml:" in out and "spec.components.jsonl.with.input_base" in out
    assert "credentials do not belong in the pipeline file" in out and "s3cr3tvalue" not in out


@pytest.mark.slow  # the compiled spec's two tasks through run-spec (~40 s)
def test_compiled_kubeflow_spec_reads_s3_with_an_etag_fingerprint(s3, tmp_path):
    client, _ = s3
    upload_formats(client)
    kubeflow = "  runners:\n    kubeflow: {image: ghcr.io/tfxd/s3:latest, pipeline_root: /r}\n"
    others = ("    jsonl:", "    tfrecord:", "    parquet:")
    csv_only = [line for line in PIPELINE.splitlines(True) if not line.startswith(others)]
    (tmp_path / "pipeline.yaml").write_text("".join(csv_only) + kubeflow)
    compiled = tfxd(
        "compile", "pipeline.yaml", "--target", "kubeflow", "-o", "s3.yaml", cwd=tmp_path
    )
    assert compiled.returncode == 0, compiled.stderr
    spec = (tmp_path / "s3.yaml").read_text()
    assert spec.count("tfxd.components.s3_example_gen.kfp_driver") == 1
    # The folder holds the pipeline file, which the image has under /tfxd/pipelines/<folder>.
    mount = f"/tfxd/pipelines/{tmp_path.name}={tmp_path}"
    args = ["run-spec", "s3.yaml", "--mount", mount, "--root", str(tmp_path / "r")]
    done = tfxd(*args, "--run-id", "r1", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "r" / "r1" / "csv" / ".done.json").read_text())
    [examples] = result["artifacts"]["examples"]
    metadata = examples["metadata"]
    assert metadata.get("span", metadata.get("custom:span")) == 2
    assert metadata["input_fingerprint"].startswith("split:train,num_files:1,etag_sha256:")
    assert count(examples["uri"], "train") == 40

    # The run is recorded in the pipeline file's ML Metadata store, as a local run is: its
    # record (file, parameters, the ETags it read), each task's execution and their lineage.
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    from tfxd.mlmd.lineage import latest_artifact, trace
    from tfxd.mlmd.records import read_record
    from tfxd.mlmd.views import run_by_id

    listed = tfxd("runs", "s3-formats", "-f", "pipeline.yaml", cwd=tmp_path)
    assert re.search(r"│ 1 +│ r1 +│ succeeded +│", listed.stdout), listed.stdout
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "runs" / "metadata.db")
    store = metadata_store.MetadataStore(config)
    record = read_record(store, "s3-formats", "r1")
    assert record is not None and record.runner == "run-spec"
    assert record.file["text"] == (tmp_path / "pipeline.yaml").read_text()
    # The ETags recorded are those the task's driver fingerprinted.
    assert record.span == 2 and record.nodes["csv"]["inputs"] == {
        "etags": metadata["input_fingerprint"],
        "span": 2,
    }
    run = run_by_id(store, "s3-formats", "r1")
    assert {n.node: n.state for n in run.nodes} == {"csv": "complete", "stats": "complete"}
    statistics = latest_artifact(store, "s3-formats", "ExampleStatistics")
    root = trace(store, "s3-formats", statistics)
    assert root.producer == "stats"
    [read] = root.inputs
    assert read.producer == "csv" and read.uri == examples["uri"]
    # ... and reproduced by the local runner from that record: the same Examples and statistics.
    again = tfxd("reproduce", "s3-formats", "r1", "-f", "pipeline.yaml", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    for output in ("csv.examples", "stats.statistics"):
        assert re.search(rf"same\s+{re.escape(output)} \(", again.stdout), again.stdout


@pytest.mark.heavy
@pytest.mark.slow  # the taxi-s3 example through the CLI: upload, train, push (~1 min)
def test_the_taxi_s3_example_trains_on_a_span_uploaded_by_the_cli(s3, tmp_path):
    import shutil

    from tests.conftest import REPO

    client, _ = s3
    client.create_bucket(Bucket="tfxd-taxi")
    for name in ("taxi-s3", "taxi"):
        shutil.copytree(
            REPO / "pipelines" / name,
            tmp_path / name,
            ignore=shutil.ignore_patterns("data", "runs"),
        )
    uploaded = tfxd("example", "taxi", "--to", "s3://tfxd-taxi/trips", "--spans", "2", cwd=tmp_path)
    assert "uploaded 1 object(s) under s3://tfxd-taxi/trips" in uploaded.stdout, uploaded.stderr
    done = tfxd("run", "taxi-s3/pipeline.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list((tmp_path / "taxi-s3" / "runs" / "serving").glob("*/saved_model.pb"))
    missing = tfxd("example", "taxi", "--to", "s3://tfxd-nope/trips", cwd=tmp_path)
    assert "bucket 'tfxd-nope' does not exist" in missing.stdout + missing.stderr


def test_csv_files_of_one_split_with_different_headers_are_named(s3, tmp_path):
    client, _ = s3
    put(client, "csv/span-1/train/a.csv", csv_bytes(ROWS))
    put(client, "csv/span-1/train/b.csv", csv_bytes(ROWS).replace(b"id,x,kind", b"id,x,sort", 1))
    put(client, "csv/span-1/eval/a.csv", csv_bytes(ROWS))
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    done = tfxd("run", "pipeline.yaml", "--only", "csv", cwd=tmp_path)
    assert done.returncode == 1
    assert (
        "split 'train': s3://tfxd-data/csv/span-1/train/b.csv has the header "
        "'id,x,sort,label' but s3://tfxd-data/csv/span-1/train/a.csv has 'id,x,kind,label'"
    ) in done.stdout + done.stderr


def test_refused_credentials_are_explained_and_publish_nothing(tmp_path):
    """moto's server checks credentials when started with INITIAL_NO_AUTH_ACTION_COUNT=0."""
    import sys

    from tests.servers.process import answers, free_port, server_process

    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "nobody",
        "AWS_SECRET_ACCESS_KEY": "nobody-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with server_process(
        lambda folder: command,
        lambda folder: answers(f"http://127.0.0.1:{port}/moto-api/"),
        "moto",
        env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"},
    ):
        done = tfxd("run", "pipeline.yaml", "--only", "csv", cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "access denied (InvalidAccessKeyId): check the credentials" in done.stdout + done.stderr
    assert "nobody-secret" not in done.stdout + done.stderr
    assert not list((tmp_path / "runs").rglob("Split-*"))  # nothing written, nothing published


@pytest.mark.slow  # two Beam jobs through the CLI (~30 s)
def test_bad_json_lines_are_named_by_file_and_line_and_skipped_up_to_a_limit(s3, tmp_path):
    client, _ = s3
    put(client, "jsonl/a.jsonl", "\n".join(json.dumps(r) for r in ROWS[:30]).encode())
    lines = [json.dumps(r) for r in ROWS[30:]]
    lines[2], lines[4] = "oops", "[1]"
    put(client, "jsonl/b.jsonl", "\n".join(lines).encode())

    def run(allowed: int):
        body = PIPELINE.replace(
            "format: jsonl}", f"format: jsonl, skip_bad_rows: {allowed}}}"
        ).replace("{examples: csv.examples}", "{examples: jsonl.examples}")
        (tmp_path / "pipeline.yaml").write_text(body)
        return tfxd("run", "pipeline.yaml", "--only", "jsonl", cwd=tmp_path)

    refused = run(1)
    assert refused.returncode == 1
    out = refused.stdout + refused.stderr
    assert "2 JSON line(s) cannot be read, skip_bad_rows allows 1" in out
    assert "s3://tfxd-data/jsonl/b.jsonl:3: not a JSON object" in out
    assert "s3://tfxd-data/jsonl/b.jsonl:5: a JSON line must be an object, got list" in out

    done = run(2)
    assert done.returncode == 0, done.stdout + done.stderr
    from ml_metadata import metadata_store

    from tfxd.infra.mlmd_reference import connection_from_reference

    store = metadata_store.MetadataStore(
        connection_from_reference({"sqlite": str(tmp_path / "runs" / "metadata.db")})
    )
    [examples] = store.get_artifacts_by_type("Examples")  # the refused run published nothing
    assert examples.custom_properties["tfxd_bad_rows"].int_value == 2
    assert count(examples.uri, "train") + count(examples.uri, "eval") == len(ROWS) - 2
    assert not (Path(examples.uri) / ".bad_lines").exists()


def test_skip_bad_rows_is_only_for_csv_and_json_lines(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        PIPELINE.replace("format: tfrecord}", "format: tfrecord, skip_bad_rows: 3}")
    )
    done = tfxd("validate", "pipeline.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "spec.components.tfrecord.with" in done.stderr
    assert "skip_bad_rows applies to format: csv or jsonl; tfrecord" in done.stderr


def test_csv_examples_are_the_same_as_tfx_csv_example_gen_makes(s3, tmp_path):
    from tfx.components import CsvExampleGen
    from tfx.components.example_gen.csv_example_gen.executor import Executor as TfxCsv

    from tfxd.components.s3_example_gen.component import S3ExampleGen
    from tfxd.components.s3_example_gen.executor import CsvExecutor

    client, _ = s3
    put(client, "tricky/data.csv", tricky_csv())
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "data.csv").write_bytes(tricky_csv())
    ours = execute(
        CsvExecutor,
        S3ExampleGen(format="csv", input_base="s3://tfxd-data/tricky"),
        tmp_path / "ours",
    )
    theirs = execute(TfxCsv, CsvExampleGen(input_base=str(tmp_path / "local")), tmp_path / "theirs")
    for split in ("train", "eval"):
        assert records(ours.uri, split) == records(theirs.uri, split), split
    assert ours.get_int_custom_property("tfxd_bad_rows") == 0
    everything = records(ours.uri, "train") + records(ours.uri, "eval")
    [smith] = [e for e in everything if e.features.feature["id"].int64_list.value == [1]]
    assert smith.features.feature["note"].bytes_list.value == [b"line one\nline two"]
    assert smith.features.feature["name"].bytes_list.value == [b"Smith, J"]
    assert len(everything) == 39


def test_bad_csv_rows_are_named_by_file_and_line_and_skipped_up_to_a_limit(s3, tmp_path):
    from tfxd.components.s3_example_gen.component import S3ExampleGen
    from tfxd.components.s3_example_gen.executor import CsvExecutor
    from tfxd.components.s3_example_gen.params import S3Settings
    from tfxd.errors import TfxdError

    client, _ = s3
    header = b"id,x,kind,label\n"
    put(client, "bad/a.csv", header + b'1,0.5,"two\nlines",0\n7,8\n9,\xff\xfe,z,1\n2,1.5,b,1\n')
    put(client, "bad/b.csv", header + b'3,2.5,a,2\n4,1.0,"never closed,1\n5,2.0,a,0\n')

    def run(allowed: int, name: str):
        config = S3Settings(skip_bad_rows=allowed).pack()
        component = S3ExampleGen(
            format="csv", input_base="s3://tfxd-data/bad", custom_config=config
        )
        return execute(CsvExecutor, component, tmp_path / name)

    with pytest.raises(TfxdError) as refused:
        run(2, "refused")
    message = str(refused.value)
    assert "3 CSV row(s) cannot be read, skip_bad_rows allows 2" in message
    assert "s3://tfxd-data/bad/a.csv:4: 2 field(s), the header has 4" in message
    assert "s3://tfxd-data/bad/a.csv:5: not UTF-8 (byte 2)" in message
    assert "s3://tfxd-data/bad/b.csv:3: a quoted field is never closed" in message

    examples = run(3, "done")
    assert examples.get_int_custom_property("tfxd_bad_rows") == 3
    kept = count(examples.uri, "train") + count(examples.uri, "eval")
    assert kept == 3  # ids 1, 2 and 3; the unclosed quote swallows the rest of b.csv
    assert not Path(examples.uri, ".bad_lines").exists()
    # Set aside, not lost: the rows that decoded as they were, each one's reason beside them.
    folder = Path(examples.uri, "BadRows")
    assert (folder / "rows.csv").read_text() == "id,x,kind,label\n7,8\n"
    assert (folder / "why.txt").read_text().splitlines() == [
        "s3://tfxd-data/bad/a.csv:4: 2 field(s), the header has 4",
        "s3://tfxd-data/bad/a.csv:5: not UTF-8 (byte 2)",
        "s3://tfxd-data/bad/b.csv:3: a quoted field is never closed",
    ]


def test_json_lines_keep_one_type_per_field_and_drift_is_named(s3, tmp_path):
    from tfxd.components.s3_example_gen.component import S3ExampleGen
    from tfxd.components.s3_example_gen.executor import JsonLinesExecutor
    from tfxd.errors import TfxdError

    client, _ = s3
    rows = [{"id": i, "x": i if i % 2 else i + 0.5, "b": i % 3 == 0, "t": None} for i in range(40)]
    put(client, "kinds/a.jsonl", "\n".join(json.dumps(r) for r in rows[:20]).encode())
    put(client, "kinds/b.jsonl", "\n".join(json.dumps(r) for r in rows[20:]).encode())
    component = S3ExampleGen(format="jsonl", input_base="s3://tfxd-data/kinds")
    examples = execute(JsonLinesExecutor, component, tmp_path / "kinds")
    everything = records(examples.uri, "train") + records(examples.uri, "eval")
    assert len(everything) == 40
    for example in everything:  # ints and floats of one field: all floats
        feature = example.features.feature
        assert feature["x"].WhichOneof("kind") == "float_list"
        assert feature["b"].WhichOneof("kind") == "int64_list" and "t" not in feature

    put(client, "kinds/b.jsonl", b'{"id": 99, "x": "wide", "b": false}\n')
    with pytest.raises(TfxdError) as drifted:
        execute(JsonLinesExecutor, component, tmp_path / "drift")
    message = str(drifted.value)
    assert "schema drift between the rows of one split" in message
    assert "field 'x' is float at s3://tfxd-data/kinds/a.jsonl:1" in message
    assert "string at s3://tfxd-data/kinds/b.jsonl:1" in message


def test_parquet_files_of_one_split_must_share_their_columns(s3, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tfxd.components.s3_example_gen.component import S3ExampleGen
    from tfxd.components.s3_example_gen.executor import ParquetExecutor
    from tfxd.components.s3_example_gen.service import parquet_columns
    from tfxd.infra.s3 import S3Error

    client, _ = s3

    def parquet(rows: list[dict], **kwargs) -> bytes:
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), buffer, **kwargs)
        return buffer.getvalue()

    big = [{**r, "note": "n" * 40 * (r["id"] % 7)} for r in ROWS * 50]  # a footer of many groups
    put(client, "pq/a.parquet", parquet(big, row_group_size=10))
    put(client, "pq/b.parquet", parquet(ROWS))
    assert parquet_columns("s3://tfxd-data/pq/b.parquet") == {
        "id": "int64",
        "x": "double",
        "kind": "string",
        "label": "int64",
    }
    put(client, "other/a.csv", csv_bytes(ROWS))
    with pytest.raises(S3Error, match="not a Parquet file"):
        parquet_columns("s3://tfxd-data/other/a.csv")

    component = S3ExampleGen(format="parquet", input_base="s3://tfxd-data/pq")
    with pytest.raises(S3Error) as drifted:
        execute(ParquetExecutor, component, tmp_path / "drift")
    assert (
        "split 'single_split': s3://tfxd-data/pq/b.parquet differs from s3://tfxd-data/pq/a.parquet"
        " (lacks note)" in str(drifted.value)
    )

    changed = [{**r, "label": str(r["label"])} for r in ROWS]
    put(client, "pq/b.parquet", parquet([{**r, "note": "n"} for r in changed]))
    with pytest.raises(S3Error, match=r"\(label: int64 → string\)"):
        execute(ParquetExecutor, component, tmp_path / "changed")

    put(client, "pq/b.parquet", parquet([{**r, "note": "n"} for r in ROWS]))
    examples = execute(ParquetExecutor, component, tmp_path / "same")
    assert count(examples.uri, "train") + count(examples.uri, "eval") == len(big) + len(ROWS)
