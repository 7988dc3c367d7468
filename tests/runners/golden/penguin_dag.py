"""Airflow DAG of tfxd pipeline 'penguin', compiled by `tfxd compile --target airflow`.

Re-compile instead of editing: Airflow builds the pipeline from pipeline.yaml when it parses this.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tfxd.runners.airflow import load_dag  # noqa: E402

PIPELINE_FILE = '<REPO>/pipelines/penguin/pipeline.yaml'
PARAMETERS = {}

DAG = load_dag(PIPELINE_FILE, PARAMETERS)
