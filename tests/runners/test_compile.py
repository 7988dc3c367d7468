"""Both compile targets against golden files, plus what each target's own loader accepts."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import PENGUIN, REPO
from tfxd.errors import CompileError
from tfxd.pipelines.pipeline import validate_file
from tfxd.runners.airflow import compile_airflow
from tfxd.runners.kubeflow import check_pipeline_spec, check_size, compile_kubeflow

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("TFXD_UPDATE_GOLDEN") == "1"


def normalize(text: str) -> str:
    text = text.replace(str(REPO), "<REPO>")
    return re.sub(r"tfx-\d+\.\d+\.\d+", "tfx-<VERSION>", text)


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(normalize(text))
    assert normalize(text) == path.read_text(), f"{name} changed: rerun with TFXD_UPDATE_GOLDEN=1"


@pytest.fixture(scope="module")
def penguin(penguin_data):
    return validate_file(PENGUIN / "pipeline.yaml")


def test_kubeflow_golden_and_strict_parse(penguin, tmp_path):
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    out = tmp_path / "penguin.kfp.yaml"
    notes = compile_kubeflow(penguin, out)
    assert notes == [
        "train.with.train_steps: fixed at compile time to 200"
        " (not a run-time parameter on kubeflow)"
    ]
    text = out.read_text()
    assert_golden("penguin.kfp.yaml", text)
    [spec] = list(yaml.safe_load_all(text))
    # What the KFP API server does with an upload: a strict parse as a bare PipelineSpec.
    parsed = json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    assert parsed.schema_version == "2.1.0"
    assert parsed.pipeline_info.name == "penguin"
    assert set(parsed.root.dag.tasks) == {
        "baseline",
        "examples",
        "stats",
        "schema",
        "validate",
        "transform",
        "tune",
        "train",
        "evaluate",
        "push",
    }
    assert "data_root" in parsed.root.input_definitions.parameters
    # The baseline is found by a component, never by a resolver, and never cached.
    assert spec["root"]["dag"]["tasks"]["baseline"]["cachingOptions"] == {"enableCache": False}
    assert spec["root"]["dag"]["tasks"]["train"]["cachingOptions"] == {"enableCache": True}
    executors = spec["deploymentSpec"]["executors"]
    assert {tuple(e["container"]["command"]) for e in executors.values()} == {
        ("python", "-m", "tfxd.runners.kfp_entrypoint")
    }
    # Report outputs carry the schema titles the KFP UI renders, as the kfp SDK names them.
    from kfp import dsl

    outputs = spec["components"]
    titles = {
        name: yaml.safe_load(out["artifactType"]["instanceSchema"])["title"]
        for name in ("stats", "validate", "evaluate")
        for key, out in outputs[name]["outputDefinitions"]["artifacts"].items()
        if key == "report"
    }
    assert titles == {
        "stats": dsl.HTML.schema_title,
        "validate": dsl.Markdown.schema_title,
        "evaluate": dsl.Markdown.schema_title,
    }
    assert not any("resolver" in e for e in executors.values())
    train_args = executors["train_executor"]["container"]["args"]
    assert any(
        "ghcr.io/tfxd/penguin" in executors["train_executor"]["container"]["image"] for _ in [0]
    )
    assert "--executor_class_path" in train_args


def test_kubeflow_rebases_paths_into_image(penguin, tmp_path):
    out = tmp_path / "p.yaml"
    compile_kubeflow(penguin, out, image="reg/img:1", pipeline_root="s3://b/root")
    spec = yaml.safe_load(out.read_text())
    params = spec["root"]["dag"]["tasks"]["train"]["inputs"]["parameters"]
    assert params["run_fn"]["runtimeValue"]["constant"] == "pipelines.penguin.model.run_fn"
    assert spec["root"]["inputDefinitions"]["parameters"]["data_root"]["parameterType"] == "STRING"
    assert spec["defaultPipelineRoot"] == "s3://b/root"
    assert (
        spec["deploymentSpec"]["executors"]["train_executor"]["container"]["image"] == "reg/img:1"
    )
    assert str(REPO) not in out.read_text()


POD_SETTINGS = """\
      requests: {cpu: 500m, memory: 1Gi}
      env: {LOG_LEVEL: info}
      secrets: {AWS_ACCESS_KEY_ID: {secret: s3-creds, key: access_key}}
      nodes:
        train:
          image: ghcr.io/tfxd/penguin-gpu:latest
          requests: {memory: 4Gi}
          limits: {cpu: 4, memory: 8G}
          gpu: {count: 2}
          env: {LOG_LEVEL: debug, TF_GPU_ALLOCATOR: cuda_malloc_async}
          node_selector: {cloud.google.com/gke-accelerator: nvidia-l4}
          tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
          secrets: {WANDB_API_KEY: {secret: wandb, key: api_key}}
          secret_volumes: [{secret: gcp-sa, mount_path: /var/secrets/gcp}]
"""


def with_pod_settings(penguin_copy: Path, settings: str = POD_SETTINGS) -> Path:
    """The penguin file with ``settings`` in place of its own per-node pod settings."""
    import re

    anchor = "      pipeline_root: s3://tfxd-pipelines/penguin\n"
    text = re.sub(r"      nodes:\n(        .*\n)+", "", penguin_copy.read_text())
    penguin_copy.write_text(text.replace(anchor, anchor + settings))
    return penguin_copy


def test_kubeflow_pod_settings_and_platform_spec(tmp_path, penguin_copy):
    from google.protobuf import json_format
    from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s

    out = tmp_path / "p.yaml"
    compile_kubeflow(validate_file(with_pod_settings(penguin_copy)), out)
    text = penguin_copy.read_text()
    spec, platform = list(yaml.safe_load_all(out.read_text()))
    executors = spec["deploymentSpec"]["executors"]
    train = executors["train_executor"]["container"]
    stats = executors["stats_executor"]["container"]
    assert train["image"] == "ghcr.io/tfxd/penguin-gpu:latest"
    assert stats["image"] == "ghcr.io/tfxd/penguin:latest"
    assert train["resources"] == {
        "cpuRequest": 0.5,
        "memoryRequest": pytest.approx(4 * 2**30 / 1e9),
        "cpuLimit": 4.0,
        "memoryLimit": 8.0,
        "accelerator": {"type": "nvidia.com/gpu", "count": "2"},
    }
    assert stats["resources"] == {"cpuRequest": 0.5, "memoryRequest": pytest.approx(1.073741824)}
    # Every container names the pipeline file in the image (what `run-spec` records from).
    named = [
        {"name": "TFXD_PIPELINE_FILE", "value": "/tfxd/pipelines/penguin/pipeline.yaml"},
        {"name": "TFXD_PIPELINE_SHA256", "value": hashlib.sha256(text.encode()).hexdigest()},
    ]
    assert train["env"] == [
        *named,
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "TF_GPU_ALLOCATOR", "value": "cuda_malloc_async"},
    ]
    assert stats["env"] == [*named, {"name": "LOG_LEVEL", "value": "info"}]

    config = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(config) == set(executors)
    # Every executor config parses strictly as kfp-kubernetes' KubernetesExecutorConfig.
    for body in config.values():
        json_format.ParseDict(body, k8s.KubernetesExecutorConfig())
    assert config["stats_executor"] == {
        "secretAsEnv": [
            {
                "secretName": "s3-creds",
                "keyToEnv": [{"secretKey": "access_key", "envVar": "AWS_ACCESS_KEY_ID"}],
            }
        ]
    }
    assert config["train_executor"]["secretAsEnv"][1] == {
        "secretName": "wandb",
        "keyToEnv": [{"secretKey": "api_key", "envVar": "WANDB_API_KEY"}],
    }
    assert config["train_executor"]["secretAsVolume"] == [
        {"secretName": "gcp-sa", "mountPath": "/var/secrets/gcp", "optional": False}
    ]
    assert config["train_executor"]["nodeSelector"] == {
        "labels": {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    }
    assert config["train_executor"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    # The compiled spec, with its resources, still parses as a bare PipelineSpec.
    from kfp.pipeline_spec import pipeline_spec_pb2

    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())


def test_pod_settings_errors_name_the_field(penguin_copy):
    from tfxd.errors import PipelineFileError

    bad = """\
      requests: {cpu: lots}
      nodes:
        trian: {limits: {memory: 4GB}}
"""
    with pytest.raises(PipelineFileError) as caught:
        validate_file(with_pod_settings(penguin_copy, bad))
    text = str(caught.value)
    assert "runners.kubeflow.nodes: no node 'trian' in this pipeline" in text
    assert "did you mean 'train'?" in text
    assert "spec.runners.kubeflow.requests.cpu" in text
    assert "spec.runners.kubeflow.nodes.trian.limits.memory" in text


def test_vertex_drops_the_platform_spec_with_a_note(tmp_path, penguin_copy):
    out = tmp_path / "p.yaml"
    notes = compile_kubeflow(validate_file(with_pod_settings(penguin_copy)), out, target="vertex")
    assert len(list(yaml.safe_load_all(out.read_text()))) == 1
    assert any("Vertex AI ignores Kubernetes platform specs" in n for n in notes)


def tfx_compiled(tmp_path, *, with_resolver: bool, spec_2_1: bool) -> dict:
    """A small real TFX pipeline compiled by KubeflowV2DagRunner."""
    from tfx import v1 as tfx
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as v2

    examples = tfx.components.CsvExampleGen(input_base=str(PENGUIN / "data"))
    components = [examples]
    if with_resolver:
        components.append(
            tfx.dsl.Resolver(
                strategy_class=tfx.dsl.experimental.LatestArtifactStrategy,
                model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            ).with_id("latest_model")
        )
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="small", pipeline_root=str(tmp_path), components=components
    )
    runner = v2.KubeflowV2DagRunner(
        config=v2.KubeflowV2DagRunnerConfig(default_image="img", use_pipeline_spec_2_1=spec_2_1),
        output_dir=str(tmp_path),
    )
    return runner.run(pipeline, write_out=False)["pipelineSpec"]


def test_static_checks_name_the_node(tmp_path, penguin_data):
    spec = tfx_compiled(tmp_path, with_resolver=True, spec_2_1=True)
    with pytest.raises(CompileError, match="node 'latest_model' compiles to a ResolverSpec"):
        check_pipeline_spec(spec)
    check_pipeline_spec(spec, "vertex")  # Vertex runs resolvers

    old = tfx_compiled(tmp_path, with_resolver=False, spec_2_1=False)
    with pytest.raises(CompileError) as caught:
        check_pipeline_spec(old)
    message = str(caught.value)
    assert "schemaVersion '2.0.0': the KFP API server accepts only 2.1.0" in message
    # Schema 2.0.0 writes constantValue, which the backend's driver does not take.
    assert "node 'CsvExampleGen': parameter 'input_base' is a runtime value of kind" in message
    check_pipeline_spec(old, "vertex")

    with pytest.raises(CompileError, match="has no 'root'"):
        check_pipeline_spec({"schemaVersion": "2.1.0", "pipelineInfo": {}})


def test_size_limits():
    assert check_size("x" * 1000, "kubeflow", "p.yaml") == []
    [note] = check_size("x" * (2**20 + 1), "kubeflow", "p.yaml")
    assert "Kubernetes' ~1.5 MiB object limit" in note
    assert check_size("x" * (2**20 + 1), "vertex", "p.yaml") == []
    with pytest.raises(CompileError, match=r"p.yaml: the compiled spec is 32.0 MiB; .* at most 32"):
        check_size("x" * (32 * 2**20 + 1), "kubeflow", "p.yaml")


def test_airflow_golden_and_dagbag(penguin, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    dags = tmp_path / "dags"
    notes = compile_airflow(penguin, dags / "penguin.py")
    assert notes == []  # every parameter is a DAG param: each task rebuilds with the run's values
    assert_golden("penguin_dag.py", (dags / "penguin.py").read_text())
    from airflow.models import DagBag

    bag = DagBag(str(dags), include_examples=False)
    assert bag.import_errors == {}
    dag = bag.dags["penguin"]
    assert {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks} == {
        "examples": [],
        "stats": ["examples"],
        "schema": ["stats"],
        "validate": ["schema", "stats"],
        "transform": ["examples", "schema"],
        "tune": ["transform"],
        "train": ["transform", "tune"],
        "baseline": [],
        "evaluate": ["baseline", "examples", "train"],
        "push": ["evaluate", "train", "transform"],
    }
    assert {k: dag.params[k] for k in dag.params} == {"data_root": "data", "train_steps": 200}
    assert {t.retries for t in dag.tasks} == {0}
    assert dag.schedule_interval == "@daily"
    assert dag.catchup is False
    assert dag.start_date.isoformat().startswith("2026-01-01")


def test_airflow_unwritable_folder(penguin, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CompileError, match="cannot write the DAG file"):
        compile_airflow(penguin, blocker / "dags" / "penguin.py")


def test_missing_image_and_root_are_clear_errors(tmp_path, penguin_copy):
    text = penguin_copy.read_text()
    start = text.index("    kubeflow:")
    end = text.index("    airflow:")
    penguin_copy.write_text(text[:start] + text[end:])
    pipe = validate_file(penguin_copy)
    with pytest.raises(
        CompileError, match="no image for Kubeflow: set spec.runners.kubeflow.image"
    ):
        compile_kubeflow(pipe, tmp_path / "p.yaml")
    with pytest.raises(CompileError, match="no pipeline root for Kubeflow"):
        compile_kubeflow(pipe, tmp_path / "p.yaml", image="reg/img:1")
    assert not (tmp_path / "p.yaml").exists()
