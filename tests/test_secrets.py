"""A secret value planted in the environment never reaches a compiled output, a run's outputs,
its logs or ML Metadata: pipelines name secrets, they never hold them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import PENGUIN
from tfxd.pipelines.pipeline import validate_file
from tfxd.runners.airflow import compile_airflow
from tfxd.runners.kubeflow import compile_kubeflow
from tfxd.runners.local import run_file

SMALL = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: secretive}
spec:
  root: runs
  parameters: {data_root: DATA}
  components:
    examples: {type: CsvExampleGen, with: {input_base: "${{ parameters.data_root }}"}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
  runners:
    kubeflow:
      image: ghcr.io/tfxd/penguin:latest
      pipeline_root: s3://tfxd-pipelines/secretive
      secrets: {AWS_SECRET_ACCESS_KEY: {secret: s3-creds, key: secret_key}}
      nodes:
        stats:
          secrets: {WANDB_API_KEY: {secret: wandb, key: api_key}}
          secret_volumes: [{secret: gcp-sa, mount_path: /var/secrets/gcp}]
    airflow: {schedule: "@daily"}
"""


def leaks(folder: Path, planted: list[bytes]) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path}: {value.decode()}" for value in planted if value in data]
    return found


@pytest.fixture
def planted(monkeypatch) -> list[bytes]:
    values = []
    for name in ("AWS_SECRET_ACCESS_KEY", "WANDB_API_KEY", "MLMD_PASSWORD"):
        value = f"planted-{name.lower()}-{uuid.uuid4().hex}"
        monkeypatch.setenv(name, value)
        values.append(value.encode())
    return values


def test_no_planted_secret_in_compiled_outputs_runs_logs_or_mlmd(tmp_path, planted, penguin_data):
    spec = tmp_path / "secretive" / "pipeline.yaml"
    spec.parent.mkdir()
    spec.write_text(SMALL.replace("DATA", str(PENGUIN / "data")))
    pipe = validate_file(spec)
    out = tmp_path / "compiled"
    compile_kubeflow(pipe, out / "kfp.yaml")
    compile_kubeflow(pipe, out / "vertex.yaml", target="vertex")
    compile_airflow(pipe, out / "dags" / "secretive.py")
    text = (out / "kfp.yaml").read_text()
    assert "secretName: wandb" in text and "envVar: AWS_SECRET_ACCESS_KEY" in text
    assert leaks(out, planted) == []

    result = run_file(spec, capture_logs=True)
    assert result.ok
    runs = spec.parent / "runs"
    assert (runs / "metadata.db").exists() and list(runs.glob(".logs/*/stats.log"))
    assert leaks(runs, planted) == []
    # The scan itself finds a planted value where there is one.
    (runs / "oops.txt").write_bytes(b"token=" + planted[1])
    assert len(leaks(runs, planted)) == 1
