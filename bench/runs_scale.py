"""`tfxd runs` and `tfxd runs --compare` with 10, 100 and 1,000 recorded runs in ML Metadata, on
SQLite and on MariaDB (started here as the tests start it). Each run is recorded as the local
runner records one: a run record, and one execution per node (five) with an output artifact, in the
pipeline's, the run's and the node's contexts, the Evaluator's with metrics. The commands run as
users run them (a fresh process each, median of --repeats). Prints wall times, asserts nothing.

    .venv/bin/python bench/runs_scale.py [--sizes 10 100 1000] [--repeats 3] [--no-mariadb]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {{name: scale}}
spec:
  root: runs
  metadata: {metadata}
  parameters: {{train_steps: 100}}
  components:
    examples: {{type: CsvExampleGen, with: {{input_base: data}}}}
    stats: {{type: StatisticsGen, inputs: {{examples: examples.examples}}}}
    schema: {{type: SchemaGen, inputs: {{statistics: stats.statistics}}}}
    transform:
      type: Transform
      inputs: {{examples: examples.examples, schema: schema.schema}}
      with: {{module_file: model.py}}
    train:
      type: Trainer
      inputs: {{examples: transform.transformed_examples}}
      with: {{module_file: model.py, train_steps: "${{{{ parameters.train_steps }}}}"}}
"""


def populate(folder: Path, store, count: int) -> None:
    """``count`` runs of the pipeline in ``folder``, each with its own train_steps."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    from tfxd.mlmd.records import METRICS, write_record
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.plan import node_keys
    from tfxd.runners.recording import compose

    types = {
        n: store.put_context_type(mlmd.ContextType(name=n))
        for n in ("pipeline", "pipeline_run", "node")
    }
    [pipe_id] = store.put_contexts([mlmd.Context(type_id=types["pipeline"], name="scale")])
    node_ctx = {}
    for node in ("examples", "stats", "schema", "transform", "train"):
        [node_ctx[node]] = store.put_contexts(
            [mlmd.Context(type_id=types["node"], name=f"scale.{node}")]
        )
    etype = store.put_execution_type(mlmd.ExecutionType(name="tfx.Component"))
    atype = store.put_artifact_type(mlmd.ArtifactType(name="Examples"))
    for i in range(count):
        run_id = f"2026-01-01T00:00:00.{i:06d}"
        pipe = validate_file(folder / "pipeline.yaml", {"train_steps": str(100 + i)})
        write_record(store, compose(pipe, run_id, None, "local", node_keys(pipe, None)))
        [run_ctx] = store.put_contexts([mlmd.Context(type_id=types["pipeline_run"], name=run_id)])
        contexts = store.get_contexts_by_id([pipe_id, run_ctx])
        for node, ctx in node_ctx.items():
            execution = mlmd.Execution(type_id=etype, last_known_state=mlmd.Execution.COMPLETE)
            if node == "train":  # as the Evaluator's execution carries them
                metrics = {"accuracy": 0.5 + i / (2 * count), "loss": 1.0 - i / (2 * count)}
                execution.custom_properties[METRICS].string_value = json.dumps(metrics)
            artifact = mlmd.Artifact(type_id=atype, uri=f"/out/{run_id}/{node}")
            event = mlmd.Event(type=mlmd.Event.OUTPUT)
            event.path.steps.add().key = "out"
            store.put_execution(
                execution, [(artifact, event)], [*contexts, *store.get_contexts_by_id([ctx])]
            )


def timed(args: list[str], cwd: Path, env: dict[str, str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "tfxd.cli", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"failed: tfxd {' '.join(args)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return statistics.median(times)


def measure(
    backend: str, metadata: str, env: dict[str, str], sizes: list[int], repeats: int, store_for
) -> None:
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "data").mkdir()
            (folder / "data" / "a.csv").write_text("x,y\n1,2\n")
            (folder / "model.py").write_text("def preprocessing_fn(inputs):\n    return inputs\n")
            (folder / "pipeline.yaml").write_text(PIPELINE.format(metadata=metadata))
            store = store_for(folder, size)
            start = time.perf_counter()
            populate(folder, store, size)
            filled = time.perf_counter() - start
            spec = ["-f", "pipeline.yaml"]
            runs = timed(["runs", "scale", *spec], folder, env, repeats)
            compare = timed(["runs", "scale", *spec, "--compare", "2", "1"], folder, env, repeats)
            print(
                f"{backend:<8} {size:>5} runs  runs {runs:5.2f}s  --compare {compare:5.2f}s  "
                f"(recording them took {filled:.1f}s)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-mariadb", action="store_true")
    args = parser.parse_args()
    from ml_metadata import metadata_store

    from tfxd.infra.mlmd_reference import connection_from_reference

    env = {**os.environ, "COLUMNS": "200"}

    def sqlite_store(folder: Path, size: int):
        (folder / "runs").mkdir()
        ref = {"sqlite": str(folder / "runs" / "metadata.db")}
        return metadata_store.MetadataStore(connection_from_reference(ref, readonly=False))

    print(f"cpu cores: {os.cpu_count()}")
    measure("sqlite", "{sqlite: runs/metadata.db}", env, args.sizes, args.repeats, sqlite_store)
    if args.no_mariadb:
        return
    from tests.servers.sql import PASSWORD, mariadb_server

    with mariadb_server() as url:
        port = int(re.search(r":(\d+)/", url).group(1))
        env.update(MLMD_USER="tfxd", MLMD_PASSWORD=PASSWORD)
        os.environ.update(MLMD_USER="tfxd", MLMD_PASSWORD=PASSWORD)
        metadata = (
            f"{{mysql: {{host: 127.0.0.1, port: {port}, database: tfxd, "
            "user_env: MLMD_USER, password_env: MLMD_PASSWORD}}"
        )

        def maria_store(folder: Path, size: int):
            import pymysql

            admin = pymysql.connect(host="127.0.0.1", port=port, user="tfxd", password=PASSWORD)
            with admin.cursor() as cursor:  # an empty store for each size
                cursor.execute("DROP DATABASE IF EXISTS tfxd")
                cursor.execute("CREATE DATABASE tfxd")
            admin.close()
            ref = {
                "mysql": {
                    "host": "127.0.0.1",
                    "port": port,
                    "database": "tfxd",
                    "user_env": "MLMD_USER",
                    "password_env": "MLMD_PASSWORD",
                }
            }
            return metadata_store.MetadataStore(connection_from_reference(ref))

        measure("mariadb", metadata, env, args.sizes, args.repeats, maria_store)


if __name__ == "__main__":
    main()
