"""A compiled Kubeflow spec read back: checked as the KFP API server parses it, its tasks in
dependency order (refusing what ``run-spec`` cannot execute), its pipeline parameters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tfxd.errors import TfxdError

PYTHONS = ("python", "python3", "python3.10")


@dataclass
class Task:
    name: str
    body: dict[str, Any]
    component: dict[str, Any]
    container: dict[str, Any]
    upstream: set[str]


def load_compiled(path: str | Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The PipelineSpec (checked by parsing it strictly, as the KFP API server does) and the
    optional Kubernetes platform spec that follows it."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    path = Path(path)
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    except OSError as err:
        raise TfxdError(f"cannot read {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise TfxdError(f"{path}: not YAML: {err}") from err
    if not documents or not isinstance(documents[0], dict):
        raise TfxdError(f"{path}: no PipelineSpec in the file: compile one with tfxd compile")
    spec = documents[0]
    try:
        json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    except json_format.ParseError as err:
        raise TfxdError(f"{path}: not a bare PipelineSpec: {err}") from err
    platform = documents[1] if len(documents) > 1 else None
    return spec, platform


def ordered_tasks(spec: dict[str, Any], path: Path) -> list[Task]:
    """The tasks in dependency order; refuses, by task name, anything this runner cannot run."""
    dag = spec.get("root", {}).get("dag", {})
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    tasks: dict[str, Task] = {}
    for name, body in sorted(dag.get("tasks", {}).items()):

        def refuse(what: str, name: str = name) -> TfxdError:
            return TfxdError(f"{path}: task '{name}': {what} cannot be executed by run-spec")

        if any(k in body for k in ("iteratorPolicy", "parameterIterator", "artifactIterator")):
            raise refuse("an iterator (ParallelFor)")
        strategy = body.get("triggerPolicy", {}).get("strategy", "")
        if strategy and strategy != "ALL_UPSTREAM_TASKS_SUCCEEDED":
            raise refuse(f"an exit handler (trigger strategy {strategy})")
        component = spec.get("components", {}).get(body.get("componentRef", {}).get("name", ""))
        if component is None:
            raise refuse("a missing component reference")
        if "dag" in component:
            raise refuse("a sub-DAG (nested pipeline or group)")
        executor = executors.get(component.get("executorLabel", ""), {})
        if "container" not in executor:
            kinds = ", ".join(sorted(executor)) or "no executor"
            raise refuse(f"a non-container executor ({kinds})")
        container = executor["container"]
        for part in (container, container.get("lifecycle", {}).get("preCacheCheck", {})):
            command = part.get("command", [])
            if part and (not command or Path(command[0]).name not in PYTHONS):
                raise refuse(f"a command that is not Python ({' '.join(command) or 'none'})")
            for arg in part.get("args", []):
                if "{{$" in arg and arg != "{{$}}":
                    raise refuse(f"the placeholder {arg!r} (only {{{{$}}}} is supported)")
        upstream = set(body.get("dependentTasks", []))
        for ref in body.get("inputs", {}).get("artifacts", {}).values():
            if "taskOutputArtifact" in ref:
                upstream.add(ref["taskOutputArtifact"]["producerTask"])
            else:
                raise refuse(f"an artifact input {sorted(ref)} other than an upstream output")
        for ref in body.get("inputs", {}).get("parameters", {}).values():
            if "taskOutputParameter" in ref:
                upstream.add(ref["taskOutputParameter"]["producerTask"])
        tasks[name] = Task(name, body, component, container, upstream)
    order: list[str] = []
    pending = dict(tasks)
    while pending:
        ready = sorted(n for n, t in pending.items() if t.upstream <= set(order))
        if not ready:
            missing = {u for t in pending.values() for u in t.upstream} - set(tasks)
            what = f"unknown upstream tasks {sorted(missing)}" if missing else "a cycle"
            raise TfxdError(f"{path}: tasks {sorted(pending)} have {what}")
        for name in ready:
            order.append(name)
            del pending[name]
    return [tasks[n] for n in order]


def coerce_parameter(name: str, value: str, kind: str, error: type[TfxdError] = TfxdError) -> Any:
    """A ``--param`` string as the KFP parameter type the spec declares for it."""
    try:
        if kind == "NUMBER_INTEGER":
            return int(value)
        if kind == "NUMBER_DOUBLE":
            return float(value)
        if kind == "BOOLEAN":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if kind in ("STRUCT", "LIST"):
            return json.loads(value)
    except ValueError:
        raise error(f"--param {name}={value}: not a {kind} value") from None
    return value


def pipeline_parameters(spec: dict[str, Any], given: dict[str, str], path: Path) -> dict[str, Any]:
    declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TfxdError(
            f"--param {unknown[0]}: {path} declares no such pipeline parameter "
            f"(declared: {', '.join(sorted(declared)) or 'none'})"
        )
    values = {}
    for name, definition in declared.items():
        if name in given:
            kind = definition.get("parameterType", "STRING")
            values[name] = coerce_parameter(name, given[name], kind)
        elif "defaultValue" in definition:
            values[name] = definition["defaultValue"]
        elif not definition.get("isOptional"):
            raise TfxdError(
                f"{path}: pipeline parameter '{name}' has no default: pass --param {name}=VALUE"
            )
    return values


def constant(ref: dict[str, Any]) -> Any:
    runtime = ref["runtimeValue"]
    if "constant" in runtime:
        return runtime["constant"]
    old = runtime.get("constantValue", {})  # schema 2.0.0
    return next(iter(old.values())) if old else None
