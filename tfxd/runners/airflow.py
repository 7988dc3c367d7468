"""Compile for Airflow 2: a DAG file that builds the pipeline from its YAML when Airflow parses it.

The DAG file holds no pipeline logic and no credentials: it names the pipeline file and the
parameter values, and calls ``load_dag``, which validates the file and hands the TFX pipeline to
TFX's ``AirflowDagRunner`` (one PythonOperator per node, MLMD as declared in the YAML).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tfxd.errors import CompileError, MissingDependencyError
from tfxd.pipelines.builder import build
from tfxd.pipelines.validate import Pipeline, validate_file

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
    settings = pipe.spec.spec.runners.airflow
    start = settings.start_date
    return {
        "schedule": settings.schedule,
        "start_date": dt.datetime(start.year, start.month, start.day, tzinfo=dt.timezone.utc),
        "catchup": settings.catchup,
        "default_args": {"retries": settings.retries},
        "description": pipe.spec.metadata.description,
        "tags": ["tfxd"],
    }


def load_dag(pipeline_file: str, parameters: dict[str, Any] | None = None) -> Any:
    """Validate ``pipeline_file`` and return its Airflow DAG (called from generated DAG files)."""
    try:
        from tfx.orchestration.airflow.airflow_dag_runner import (
            AirflowDagRunner,
            AirflowPipelineConfig,
        )
    except ImportError as err:
        raise MissingDependencyError("apache-airflow", "the Airflow runner", "airflow") from err
    pipe = validate_file(pipeline_file, {k: str(v) for k, v in (parameters or {}).items()})
    built = build(pipe, "airflow")
    runner = AirflowDagRunner(AirflowPipelineConfig(airflow_dag_config=dag_config(pipe)))
    return runner.run(built.pipeline)


def compile_airflow(pipe: Pipeline, output: str | Path) -> list[str]:
    """Write the DAG file; returns notes (parameters fixed at compile time)."""
    notes = build(pipe, "airflow", with_metadata=False).notes
    declared = pipe.spec.spec.parameters
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
