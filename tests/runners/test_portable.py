"""The taxi pipeline on Beam's portability framework: the PortableRunner against Beam's job
service, SDK workers in separate processes from an external worker pool, both on 127.0.0.1, TFX's
unmodified taxi module; outputs equal to the in-memory DirectRunner's, whose run was killed in its
Transform and resumed. Dataflow, Flink and Spark up to the boundary: their Beam args reach every
compiled executor; a runner Beam lacks is refused before anything runs."""

from __future__ import annotations

import gzip
import importlib.util
import os
import shutil
import socket
import struct
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from tests.conftest import tfxd
from tests.servers.process import free_port, server_process

TFX = Path(importlib.util.find_spec("tfx").origin).parent
MODULE = TFX / "examples/chicago_taxi_pipeline/taxi_utils_native_keras.py"

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: portable}
spec:
  root: runs
BEAM
  components:
    examples:
      type: CsvExampleGen
      with: {input_base: data, input_splits: {single_split: "span-*/*"}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema:
      type: SchemaGen
      inputs: {statistics: stats.statistics}
      with: {infer_feature_shape: false}
    transform:
      type: Transform
      inputs: {examples: examples.examples, schema: schema.schema}
      with: {module_file: taxi_utils_native_keras.py}
"""

MODEL = """\
    train:
      type: Trainer
      inputs:
        examples: transform.transformed_examples
        transform_graph: transform.transform_graph
        schema: schema.schema
      with: {module_file: taxi_utils_native_keras.py, train_steps: 5, eval_steps: 5}
    evaluate:
      type: Evaluator
      inputs: {examples: examples.examples, model: train.model}
      with:
        label_key: tips_xf
        preprocessing: [transform_features]
        metrics: [{class_name: BinaryAccuracy}]
    infer:
      type: BulkInferrer
      inputs: {examples: examples.examples, model: train.model}
"""


def taxi_folder(folder: Path, beam: str = "", model: bool = False) -> Path:
    """The wheel's taxi sample (span 1) beside TFX's module and a pipeline file."""
    folder.mkdir(parents=True, exist_ok=True)
    done = tfxd("example", "taxi", "--pipelines", str(folder / "p"), "--spans", "1", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.move(folder / "p" / "taxi" / "data", folder / "data")
    shutil.copy(MODULE, folder / MODULE.name)
    path = folder / "pipeline.yaml"
    path.write_text(PIPELINE.replace("BEAM\n", beam) + (MODEL if model else ""), encoding="utf-8")
    return path


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def portable(tmp_path) -> Iterator[tuple[list[str], Path, Path]]:
    """Beam's job service and an external SDK worker pool, as separate processes: the Beam args
    that point a run at them, and their two logs. The pool's workers find the staged user modules
    and the module folder on their PYTHONPATH, as the run's header says they must."""
    job, pool = free_port(), free_port()
    python = Path(sys.executable)
    env = {
        "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}",  # the workers' `python`
        "PYTHONPATH": f"{tmp_path / 'portable' / 'runs' / '.modules'}{os.pathsep}"
        f"{tmp_path / 'portable'}",
    }
    with ExitStack() as stack:
        logs = []
        for module, flag, port in (
            ("apache_beam.runners.portability.local_job_service_main", "--port", job),
            ("apache_beam.runners.worker.worker_pool_main", "--service_port", pool),
        ):
            folder = stack.enter_context(
                server_process(
                    lambda _, m=module, f=flag, p=port: [str(python), "-m", m, f"{f}={p}"],
                    lambda _, p=port: listening(p),
                    module,
                    env=env,
                )
            )
            logs.append(Path(folder) / "log")
        yield (
            [
                "--runner=PortableRunner",
                f"--job_endpoint=localhost:{job}",
                "--environment_type=EXTERNAL",
                f"--environment_config=localhost:{pool}",
            ],
            logs[0],
            logs[1],
        )


def frames(folder: Path) -> list[bytes]:
    """The records of the gzipped TFRecord files under ``folder``, as written."""
    out = []
    for path in sorted(folder.rglob("*.gz")):
        data = gzip.decompress(path.read_bytes())
        while data:
            (length,) = struct.unpack("<Q", data[:8])
            out.append(data[12 : 12 + length])
            data = data[16 + length :]
    return out


def records(folder: Path) -> list[bytes]:
    """Every tf.Example of the gzipped TFRecord files under ``folder``, serialized with its
    features in name order (a map's order on the wire is the writer's), sorted."""
    from tensorflow.core.example import example_pb2

    examples = (example_pb2.Example.FromString(f) for f in frames(folder))
    return sorted(e.SerializeToString(deterministic=True) for e in examples)


# Its Beam work runs in the pool's one SDK worker process (a core, like the other lane's server
# tests); in the heavy lane its 90 s would add to the suite's wall time (docs/testing.md).
@pytest.mark.slow
def test_killed_in_transform_resumes_and_a_job_service_makes_the_same_outputs(tmp_path, portable):
    """One in-memory run, SIGKILLed in its Transform and resumed (nothing finished redone, the
    partial outputs removed, none of them counted), is the reference for the same pipeline on a
    job service with worker processes."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    from tests.conftest import kill_run_in, statuses
    from tfxd.mlmd.store import open_store
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.launch import partial_outputs

    beam_args, job_log, pool_log = portable
    memory = taxi_folder(tmp_path / "memory")
    killed = kill_run_in(memory, "transform", "--jobs", "1", after=2.0)
    store = open_store(validate_file(memory).loaded)
    [running] = [e for e in store.get_executions() if e.last_known_state == mlmd.Execution.RUNNING]
    assert running.type.endswith("Transform"), running.type
    partial = partial_outputs(store, str(memory.parent / "runs"), [running])
    assert partial and all(p.parts[-1] == str(running.id) for p in partial), partial
    assert not store.get_artifacts_by_uri(str(partial[0]))  # not an artifact: not counted as done
    done = tfxd("run", str(memory), "--jobs", "1", cwd=memory.parent)
    out = done.stdout + done.stderr
    assert done.returncode == 0, killed + out
    assert statuses(out) == {
        "examples": "cached",
        "stats": "cached",
        "schema": "cached",
        "transform": "run",
    }, out
    assert "repaired 1 execution(s) left running" in out and "partial outputs removed" in out
    assert not any(p.exists() for p in partial)
    [again] = store.get_executions_by_id([running.id])
    assert again.last_known_state == mlmd.Execution.FAILED
    assert "tfxd_abandoned" in again.custom_properties

    path = taxi_folder(tmp_path / "portable", model=True)
    args = [f"--beam-arg={a}" for a in beam_args]
    done = tfxd("run", str(path), "--jobs", "1", *args, cwd=path.parent)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "beam: as the Beam args say (--runner)" in out
    staged = path.parent / "runs" / ".modules"
    [line] = [line for line in out.splitlines() if "PYTHONPATH" in line] or [out[:2000]]
    assert line.split("PYTHONPATH: ")[-1].split(os.pathsep) == [str(staged), str(path.parent)]
    [package] = staged.iterdir()  # the module, under a name of its content
    assert package.name.startswith("tfxd_user_")
    assert (package / MODULE.name).read_bytes() == MODULE.read_bytes()

    # The Beam work went through the job service, and its SDK workers were started as
    # processes by the pool (no worker runs in the job service: EXTERNAL environment).
    finished = job_log.read_text(errors="replace").count("with state DONE")
    assert finished >= 5, job_log.read_text(errors="replace")[-3000:]  # 5 Beam nodes at least
    assert "Starting worker with command" in pool_log.read_text(errors="replace")

    for node, output in (
        ("examples", "examples"),
        ("stats", "statistics"),
        ("transform", "transformed_examples"),
    ):
        [mine] = (path.parent / "runs" / node / output).iterdir()
        [theirs] = (memory.parent / "runs" / node / output).iterdir()
        if node == "stats":
            compare_statistics(mine, theirs)
            continue
        assert records(mine) and records(mine) == records(theirs), node
    [graph] = (path.parent / "runs" / "transform" / "transform_graph").iterdir()
    [their_graph] = (memory.parent / "runs" / "transform" / "transform_graph").iterdir()
    for vocab in (their_graph / "transform_fn" / "assets").iterdir():
        assert (graph / "transform_fn" / "assets" / vocab.name).read_bytes() == vocab.read_bytes()
    [inferred] = (path.parent / "runs" / "infer" / "inference_result").iterdir()
    [examples] = (path.parent / "runs" / "examples" / "examples").iterdir()
    scored = len(frames(inferred))  # PredictionLogs, one per eval example, made by the workers
    assert scored == len(frames(examples / "Split-eval")) > 1000


def compare_statistics(mine: Path, theirs: Path) -> None:
    from tensorflow_metadata.proto.v0 import statistics_pb2

    def read(folder: Path) -> dict:
        out = {}
        for path in folder.glob("Split-*/FeatureStats.pb"):
            stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(path.read_bytes())
            data = stats.datasets[0]
            out[path.parent.name, "count"] = data.num_examples
            for feature in data.features:
                if feature.HasField("num_stats"):
                    out[path.parent.name, feature.path.step[0]] = feature.num_stats.mean
        return out

    assert read(mine) and read(mine) == pytest.approx(read(theirs), rel=1e-9)


def test_dataflow_flink_and_spark_args_reach_every_compiled_executor(tmp_path, penguin_data):
    from tests.conftest import PENGUIN

    shutil.copytree(PENGUIN, tmp_path / "p")
    path = tmp_path / "p" / "pipeline.yaml"
    text = path.read_text(encoding="utf-8")
    for args in (
        ["--runner=DataflowRunner", "--project=acme", "--region=europe-west4",
         "--temp_location=gs://acme-tmp/beam"],
        ["--runner=FlinkRunner", "--flink_master=flink-jobmanager:8081",
         "--environment_type=EXTERNAL", "--environment_config=localhost:50000"],
        ["--runner=SparkRunner", "--spark_master_url=spark://spark-master:7077"],
    ):  # fmt: skip
        path.write_text(text.replace("spec:\n", f"spec:\n  beam_args: {args}\n", 1), "utf-8")
        out = tmp_path / "out.yaml"
        done = tfxd("compile", str(path), "--target", "kubeflow", "-o", str(out), cwd=path.parent)
        assert done.returncode == 0, done.stdout + done.stderr
        executors = yaml.safe_load(out.read_text())["deploymentSpec"]["executors"]
        assert len(executors) >= 5
        for name, executor in executors.items():
            container = executor.get("container", {})
            if "args" in container:
                assert container["args"][-len(args) :] == args, name


def test_a_runner_beam_lacks_is_refused_by_file_line_and_flag(tmp_path, penguin_data):
    from tests.conftest import PENGUIN

    shutil.copytree(PENGUIN, tmp_path / "p")
    path = tmp_path / "p" / "pipeline.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("spec:\n", "spec:\n  beam_args: [--runner=Flinkk]\n", 1), "utf-8")
    done = tfxd("validate", str(path), cwd=path.parent)
    err = done.stdout + done.stderr
    assert done.returncode != 0
    line = 1 + text.split("\n").index("spec:") + 1
    assert f"pipeline.yaml:{line}:" in err and "'spec.beam_args'" in err, err
    assert "--runner=Flinkk: Beam has no runner of that name" in err and "FlinkRunner" in err

    path.write_text(text, "utf-8")
    done = tfxd("run", str(path), "--beam-arg=--runner=Sparkk", cwd=path.parent)
    err = done.stdout + done.stderr
    assert done.returncode != 0 and "--beam-arg --runner=Sparkk: Beam has no runner" in err, err
    assert not (path.parent / "runs").exists() or not any((path.parent / "runs").rglob("*.pb"))


def test_the_runner_names_are_beams():
    from apache_beam.options.pipeline_options import StandardOptions

    from tfxd.file.models import BEAM_RUNNERS

    assert list(BEAM_RUNNERS) == [p.rsplit(".", 1)[-1] for p in StandardOptions.ALL_KNOWN_RUNNERS]
