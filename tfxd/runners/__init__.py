"""Runners: local (Beam, in process), Kubeflow Pipelines v2 (PipelineSpec), Airflow (DAG file)."""
