"""Compile for a self-hosted Kubeflow Pipelines v2 backend: a bare PipelineSpec (schema 2.1.0) in
YAML, followed by a Kubernetes platform-spec document when secrets are declared."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from tfxd.errors import CompileError
from tfxd.pipelines.builder import build, path_resolver
from tfxd.pipelines.pipeline import Pipeline

SCHEMA_VERSION = "2.1.0"
TFX_ENTRYPOINT = "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
ENTRYPOINT = "tfxd.runners.kfp_entrypoint"
TFX_FILE_DRIVER = "tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"
VERTEX_SCHEMA_VERSIONS = ("2.0.0", "2.1.0")
TARGET_NAMES = {"kubeflow": "the KFP API server", "vertex": "Vertex AI Pipelines"}
# The KFP API server refuses uploads over 32 MiB (a hard-coded ceiling in the backend).
MAX_UPLOAD_BYTES = 32 * 2**20
ARGO_WARN_BYTES = 2**20


def pipeline_spec(
    pipe: Pipeline,
    *,
    image: str | None = None,
    pipeline_root: str | None = None,
    target: str = "kubeflow",
) -> tuple[dict[str, Any], list[str]]:
    """The bare PipelineSpec as a dict, and notes for the user."""
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as v2

    settings = pipe.file.body.runners.kubeflow
    image = image or (settings.image if settings else None)
    if not image:
        raise CompileError(
            f"{pipe.loaded.path}: no image for Kubeflow: set spec.runners.kubeflow.image "
            "or pass --image"
        )
    root = pipeline_root or (settings.pipeline_root if settings else None)
    if not root:
        raise CompileError(
            f"{pipe.loaded.path}: no pipeline root for Kubeflow: set "
            "spec.runners.kubeflow.pipeline_root (e.g. s3://bucket/pipelines) or pass --root"
        )
    built = build(pipe, "kubeflow", root=root)
    runner = v2.KubeflowV2DagRunner(
        config=v2.KubeflowV2DagRunnerConfig(default_image=image, use_pipeline_spec_2_1=True),
        output_dir=os.getcwd(),
    )
    job = runner.run(built.pipeline, write_out=False)
    spec = job["pipelineSpec"]
    # TFX puts the root in the Vertex job's runtimeConfig; a bare spec carries it itself.
    spec["defaultPipelineRoot"] = root
    # ... and TFX leaves run-time parameters without defaults: a run would have to pass them all.
    declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for name, parameter in built.runtime_parameters.items():
        if name in declared:
            declared[name]["defaultValue"] = parameter.default
            declared[name]["isOptional"] = True
    tasks = spec.get("root", {}).get("dag", {}).get("tasks", {})
    for node in built.always_run:
        tasks[node].setdefault("cachingOptions", {})["enableCache"] = False
    # Every executor runs through our entrypoint: TFX's, plus the report artifact types; and
    # names the pipeline file in the image, which `run-spec` records the run from.
    from tfxd.runners.spec_record import pipeline_file_env

    named = pipeline_file_env(pipe, path_resolver(pipe, "kubeflow")(pipe.loaded.path.name))
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    for body in executors.values():
        container = body.get("container", {})
        if container.get("command", [])[-1:] == [TFX_ENTRYPOINT]:
            container["command"] = [*container["command"][:-1], ENTRYPOINT]
        if "container" in body:
            container["env"] = [*container.get("env", []), *named]
    # A type with its own driver (S3ExampleGen: s3:// registered, an ETag fingerprint) runs it
    # in place of TFX's file-based one.
    for node_id in pipe.order:
        driver = pipe.nodes[node_id].type.runs.kfp_driver
        container = executors.get(f"{node_id}_executor", {}).get("container", {})
        pre = container.get("lifecycle", {}).get("preCacheCheck", {})
        if driver and pre.get("command", [])[-1:] == [TFX_FILE_DRIVER]:
            pre["command"] = [*pre["command"][:-1], driver]
    check_pipeline_spec(spec, target)
    return spec, built.notes


def check_pipeline_spec(spec: dict[str, Any], target: str = "kubeflow") -> None:
    """What a self-hosted KFP v2 API server (or, with ``target="vertex"``, Vertex AI Pipelines)
    rejects, every problem named by node and reported together."""
    problems = []
    version = spec.get("schemaVersion")
    accepted = VERTEX_SCHEMA_VERSIONS if target == "vertex" else (SCHEMA_VERSION,)
    if version not in accepted:
        problems.append(
            f"schemaVersion {version!r}: {TARGET_NAMES[target]} accepts only {', '.join(accepted)}"
        )
    for name in ("pipelineInfo", "root"):
        if name not in spec:
            problems.append(f"PipelineSpec has no '{name}': {TARGET_NAMES[target]} needs it")
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    for executor, body in sorted(executors.items()):
        if "resolver" in body and target != "vertex":
            node = executor.removesuffix("_executor")
            problems.append(
                f"node '{node}' compiles to a ResolverSpec, which the KFP API server rejects "
                "('resolver not implemented'): find baseline models with a BaselineModel "
                "component instead"
            )
    tasks = spec.get("root", {}).get("dag", {}).get("tasks", {})
    for node, task in sorted(tasks.items()):
        for key, ref in sorted(task.get("inputs", {}).get("parameters", {}).items()):
            runtime = ref.get("runtimeValue")
            if runtime is not None and "constant" not in runtime and target != "vertex":
                problems.append(
                    f"node '{node}': parameter '{key}' is a runtime value of kind "
                    f"{sorted(runtime) or 'none'}; the KFP backend's driver takes only "
                    "'constant' (schema 2.1.0): recompile with this tfxd"
                )
    if problems:
        raise CompileError(
            f"the spec would be rejected by {TARGET_NAMES[target]}:\n  " + "\n  ".join(problems)
        )


def check_size(text: str, target: str, where: str) -> list[str]:
    """The API server's upload ceiling is an error; a spec that makes an oversized Argo Workflow
    object is a warning (the backend embeds each task's component spec in the workflow)."""
    size = len(text.encode("utf-8"))
    if size > MAX_UPLOAD_BYTES:
        raise CompileError(
            f"{where}: the compiled spec is {size / 2**20:.1f} MiB; {TARGET_NAMES[target]} "
            f"accepts at most {MAX_UPLOAD_BYTES // 2**20} MiB: split the pipeline"
        )
    if target == "kubeflow" and size > ARGO_WARN_BYTES:
        return [
            f"the spec is {size / 2**20:.2f} MiB: the Argo Workflow the KFP backend makes from it "
            "repeats each task's component spec and may exceed Kubernetes' ~1.5 MiB object limit"
        ]
    return []


def executor_labels(spec: dict[str, Any]) -> dict[str, str]:
    """Task (= node id) → the label of its executor in ``deploymentSpec.executors``."""
    components = spec.get("components", {})
    return {
        task: components[body["componentRef"]["name"]]["executorLabel"]
        for task, body in spec.get("root", {}).get("dag", {}).get("tasks", {}).items()
        if "executorLabel" in components.get(body.get("componentRef", {}).get("name", ""), {})
    }


def apply_pod_settings(pipe: Pipeline, spec: dict[str, Any]) -> dict[str, Any] | None:
    """Write each node's image, env and resources into its container, and return the Kubernetes
    platform spec (the kfp-kubernetes format) for secrets, node selectors and tolerations."""
    from tfxd.file.models import cpu_cores, memory_gb

    settings = pipe.file.body.runners.kubeflow
    if settings is None:
        return None
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    platform: dict[str, Any] = {}
    for node, label in sorted(executor_labels(spec).items()):
        pod = settings.pod(node)
        container = executors[label].get("container")
        if container is None:
            continue
        if pod.image:
            container["image"] = pod.image
        if pod.env:
            given = [{"name": k, "value": v} for k, v in sorted(pod.env.items())]
            container["env"] = [*container.get("env", []), *given]
        resources: dict[str, Any] = {}
        for kind, given in (("Request", pod.requests), ("Limit", pod.limits)):
            if given and given.cpu:
                resources[f"cpu{kind}"] = cpu_cores(given.cpu)
            if given and given.memory:
                resources[f"memory{kind}"] = memory_gb(given.memory)
        if pod.gpu:
            resources["accelerator"] = {"type": pod.gpu.type, "count": str(pod.gpu.count)}
        if resources:
            container["resources"] = resources
        config: dict[str, Any] = {}
        by_secret: dict[str, list[dict[str, str]]] = {}
        for env, ref in sorted(pod.secrets.items()):
            by_secret.setdefault(ref.secret, []).append({"secretKey": ref.key, "envVar": env})
        if by_secret:
            config["secretAsEnv"] = [
                {"secretName": name, "keyToEnv": keys} for name, keys in sorted(by_secret.items())
            ]
        if pod.secret_volumes:
            config["secretAsVolume"] = [
                {"secretName": v.secret, "mountPath": v.mount_path, "optional": v.optional}
                for v in pod.secret_volumes
            ]
        if pod.node_selector:
            config["nodeSelector"] = {"labels": dict(sorted(pod.node_selector.items()))}
        if pod.tolerations:
            config["tolerations"] = [
                {
                    key: value
                    for key, value in {
                        "key": t.key,
                        "operator": t.operator,
                        "value": t.value,
                        "effect": t.effect,
                        "tolerationSeconds": t.toleration_seconds,
                    }.items()
                    if value is not None
                }
                for t in pod.tolerations
            ]
        if config:
            platform[label] = config
    if not platform:
        return None
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": platform}}}}


def compile_text(
    pipe: Pipeline,
    *,
    image: str | None = None,
    pipeline_root: str | None = None,
    target: str = "kubeflow",
) -> tuple[str, list[str]]:
    """The PipelineSpec YAML (plus the platform spec document), checked; and notes."""
    spec, notes = pipeline_spec(pipe, image=image, pipeline_root=pipeline_root, target=target)
    documents = [spec]
    platform = apply_pod_settings(pipe, spec)
    if platform is not None and target == "vertex":
        notes.append(
            "Vertex AI ignores Kubernetes platform specs: secrets, secret volumes, node selectors "
            "and tolerations from runners.kubeflow are not written (use Secret Manager and "
            "Vertex machine types instead)"
        )
    elif platform is not None:
        documents.append(platform)
    text = "# PipelineSpec for Kubeflow Pipelines v2, compiled by tfxd from "
    text += f"{pipe.loaded.path.name}\n"
    text += yaml.safe_dump_all(documents, sort_keys=True, width=100)
    notes += check_size(text, target, str(pipe.loaded.path))
    return text, notes


def compile_kubeflow(
    pipe: Pipeline,
    output: str | Path,
    *,
    image: str | None = None,
    pipeline_root: str | None = None,
    target: str = "kubeflow",
) -> list[str]:
    """Write the PipelineSpec YAML (plus platform spec) to ``output``; returns notes."""
    text, notes = compile_text(pipe, image=image, pipeline_root=pipeline_root, target=target)
    out = Path(output)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as err:
        raise CompileError(f"cannot write {out}: {err.strerror}") from err
    return notes
