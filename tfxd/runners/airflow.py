"""Compile for Airflow 2: a DAG file that builds the pipeline from its YAML when Airflow parses it.

The DAG file holds no pipeline logic and no credentials: it names the pipeline file and the
parameter values, and calls ``load_dag``. ``load_dag`` makes one Airflow 2 ``PythonOperator`` per
node, wired like the pipeline. Each task rebuilds the TFX IR for its DAG run (the Airflow run id is
the TFX pipeline run id; the DAG run's params override the YAML parameters) and runs its node with
TFX's portable launcher, as ``tfxd run`` does: inputs resolved from MLMD, caching, lineage in the
pipeline, run and node contexts. A retried attempt first marks what a killed earlier attempt of the
same node and run left RUNNING as FAILED. (TFX's own AirflowDagRunner breaks on retries: its 1.x
launcher re-registers the failed attempt's events and hits a UNIQUE constraint in MLMD.)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tfxd.errors import CompileError, MissingDependencyError
from tfxd.pipelines.pipeline import Pipeline, validate_file

TEMPLATE = '''"""Airflow DAG of tfxd pipeline '{name}', compiled by `tfxd compile --target airflow`.

Re-compile instead of editing: Airflow builds the pipeline from {yaml_name} when it parses this.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tfxd.runners.airflow import load_dag  # noqa: E402

PIPELINE_FILE = {path!r}
PARAMETERS = {parameters}

DAG = load_dag(PIPELINE_FILE, PARAMETERS)
'''


def dag_config(pipe: Pipeline) -> dict[str, Any]:
    settings = pipe.file.body.runners.airflow
    start = settings.start_date
    return {
        "schedule": settings.schedule,
        "start_date": dt.datetime(start.year, start.month, start.day, tzinfo=dt.timezone.utc),
        "catchup": settings.catchup,
        "default_args": {
            "retries": settings.retries,
            "retry_delay": dt.timedelta(seconds=settings.retry_delay_seconds),
        },
        "description": pipe.file.metadata.description,
        "tags": ["tfxd"],
    }


def load_dag(pipeline_file: str, parameters: dict[str, Any] | None = None) -> Any:
    """Validate ``pipeline_file`` and return its Airflow DAG (called from generated DAG files)."""
    try:
        from airflow import DAG
        from airflow.models.param import Param
        from airflow.operators.python import PythonOperator
    except ImportError as err:
        raise MissingDependencyError("apache-airflow", "the Airflow runner", "airflow") from err
    fixed = {k: str(v) for k, v in (parameters or {}).items()}
    pipe = validate_file(pipeline_file, fixed)
    params = {name: Param(value) for name, value in sorted(pipe.parameters.items())}
    with DAG(dag_id=pipe.name, params=params, **dag_config(pipe)) as dag:
        tasks = {
            node_id: PythonOperator(
                task_id=node_id,
                python_callable=run_node,
                op_kwargs={"pipeline_file": pipeline_file, "fixed": fixed, "node_id": node_id},
            )
            for node_id in pipe.order
        }
        for node_id, node in pipe.nodes.items():
            for upstream in sorted(node.upstream):
                tasks[upstream] >> tasks[node_id]
    return dag


def run_node(pipeline_file: str, fixed: dict[str, str], node_id: str, **context: Any) -> None:
    """One Airflow task: node ``node_id`` of this DAG run's pipeline, by TFX's portable launcher."""
    from ml_metadata import metadata_store

    from tfxd.runners import beam_mode, launch
    from tfxd.runners.local import compile_ir, launch_node, mlmd_connection

    run_id = context["run_id"]
    given = {k: str(v) for k, v in (context.get("params") or {}).items()}
    pipe = validate_file(pipeline_file, {**fixed, **given})
    # The file's Beam args stand as they are; where they send Beam work to other processes (a
    # job service, worker processes), the nodes take their modules staged for those workers.
    elsewhere = tuple(pipe.order) if beam_mode.choose(pipe, 0).out_of_process else ()
    ir = compile_ir(pipe, "airflow", run_id, beam_elsewhere=elsewhere)
    deployment, connection = mlmd_connection(ir)
    repaired = launch.repair_abandoned(
        connection, pipe.name, run_id, node_id=node_id, in_run=run_id, root=pipe.root
    )
    if repaired:
        print(f"marked {repaired} execution(s) of an interrupted attempt FAILED")
    store = metadata_store.MetadataStore(connection)
    # The newest span: what TFX's driver resolves for the DAG run.
    prepared = launch.prepare(pipe, "airflow", store)
    launch.start(store, prepared, run_id, ir.runtime_spec.pipeline_root.field_value.string_value)
    launch.cache_off(ir, launch.changed_nodes(store, prepared, [node_id]))
    info = launch_node(ir, deployment, connection, node_id)
    if info is None or info.execution_id is None:
        return
    launch.finish_node(store, prepared, node_id, info.execution_id)
    ti = context.get("ti")
    if ti is not None:
        # TFX reuses a failed attempt's execution for the retry; say which attempt finished it.
        [execution] = store.get_executions_by_id([info.execution_id])
        execution.custom_properties["airflow_try_number"].int_value = int(ti.try_number)
        store.put_executions([execution])


def compile_airflow(pipe: Pipeline, output: str | Path) -> list[str]:
    """Write the DAG file; returns notes (parameters fixed at compile time)."""
    from tfxd.pipelines.builder import build

    notes = build(pipe, "airflow", with_metadata=False).notes
    declared = pipe.file.body.parameters
    changed = {k: v for k, v in pipe.parameters.items() if declared.get(k) != v}
    text = TEMPLATE.format(
        name=pipe.name,
        yaml_name=pipe.loaded.path.name,
        path=str(pipe.loaded.path),
        parameters=json.dumps(changed, sort_keys=True),
    )
    out = Path(output)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as err:
        raise CompileError(f"cannot write the DAG file {out}: {err.strerror}") from err
    return notes
