"""Compiled DAGs run under ``airflow dags test`` on Airflow 2.10.3 (SQLite DB, SequentialExecutor):
the penguin pipeline end to end with lineage in MLMD, and a failing task retried per the YAML."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PENGUIN, tfxd

pytestmark = [pytest.mark.slow, pytest.mark.heavy]
FLAKY = Path(__file__).parent / "runners" / "flaky"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return env


def compile_and_test(spec: Path, dag_id: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    dags = Path(env["AIRFLOW__CORE__DAGS_FOLDER"])
    compiled = tfxd(
        "compile",
        str(spec),
        "--target",
        "airflow",
        "-o",
        str(dags / f"{dag_id}.py"),
        cwd=spec.parent,
        env=env,
    )
    assert compiled.returncode == 0, compiled.stderr
    return subprocess.run(
        [str(BIN / "airflow"), "dags", "test", dag_id, "2026-01-02"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_penguin_dag_runs_and_records_lineage(tmp_path, airflow_env, penguin_data):
    folder = tmp_path / "penguin"
    shutil.copytree(PENGUIN, folder, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    done = compile_and_test(folder / "pipeline.yaml", "penguin", airflow_env)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    for task in (
        "examples",
        "stats",
        "schema",
        "validate",
        "transform",
        "tune",
        "train",
        "evaluate",
        "push",
    ):
        assert f"Marking task as SUCCESS. dag_id=penguin, task_id={task}," in log, task
    assert "DagRun Finished: dag_id=penguin" in log and "state=success" in log

    runs = tfxd("runs", "penguin", "-f", "pipeline.yaml", cwd=folder)
    assert runs.returncode == 0, runs.stderr
    assert "manual__2026-01-02T00:00:00+00:00" in runs.stdout and "succeeded" in runs.stdout
    # The DAG run's tasks recorded the run (once) and, on their executions, metrics and the push.
    from ml_metadata import metadata_store

    from tfxd.infra.mlmd_reference import connection_from_reference
    from tfxd.mlmd.records import read_record
    from tfxd.mlmd.views import list_runs

    db = {"sqlite": str(folder / "runs" / "metadata.db")}
    store = metadata_store.MetadataStore(connection_from_reference(db))
    record = read_record(store, "penguin", "manual__2026-01-02T00:00:00+00:00")
    assert record is not None and record.runner == "airflow"
    assert record.parameters["train_steps"] == 200 and "model.py" in record.modules
    [run] = list_runs(store, "penguin")
    assert run.metrics["sparse_categorical_accuracy"] > 0.6
    # the HorovodTrainer's ranks each timed their shard's input against their steps
    assert len(run.inputs["train"]["ranks"]) == 2, run.inputs
    assert f"{run.inputs['train']['bound']} " in runs.stdout  # the table's "bound" column
    serving = folder / "runs" / "serving" / "penguin"
    assert (serving / run.pushed / "saved_model.pb").exists()
    lineage = tfxd("lineage", "penguin", "-f", "pipeline.yaml", cwd=folder)
    assert lineage.returncode == 0, lineage.stderr
    assert "penguins.csv" in lineage.stdout and "train" in lineage.stdout
    assert [p.name for p in serving.iterdir() if (p / "saved_model.pb").exists()]


def test_failed_task_is_retried_per_yaml(tmp_path, airflow_env, penguin_data):
    folder = tmp_path / "flaky"
    folder.mkdir()
    shutil.copytree(PENGUIN / "data", folder / "data")
    shutil.copy(FLAKY / "flaky_trainer.py", folder)
    marker = tmp_path / "failed-once"
    (folder / "pipeline.yaml").write_text(
        f"""\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {{name: flaky}}
spec:
  root: runs
  components:
    examples: {{type: CsvExampleGen, with: {{input_base: data}}}}
    train:
      type: Trainer
      inputs: {{examples: examples.examples}}
      with: {{module_file: flaky_trainer.py, train_steps: 1, custom_config: {{marker: "{marker}"}}}}
  runners:
    airflow: {{schedule: "@daily", start_date: 2026-01-01, retries: 1, retry_delay_seconds: 1}}
"""
    )
    done = compile_and_test(folder / "pipeline.yaml", "flaky", airflow_env)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    assert marker.exists()  # the first attempt ran and failed ...
    assert "first attempt fails on purpose" in log
    assert "Marking task as UP_FOR_RETRY. dag_id=flaky, task_id=train" in log
    assert "Marking task as SUCCESS. dag_id=flaky, task_id=train" in log  # ... the retry passed

    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(folder / "runs" / "metadata.db")
    store = metadata_store.MetadataStore(config)
    [train] = store.get_executions_by_type("tfx.components.trainer.component.Trainer")
    assert train.last_known_state == mlmd.Execution.COMPLETE
    assert train.custom_properties["airflow_try_number"].int_value == 2
    assert (folder / "runs" / "train").exists()
