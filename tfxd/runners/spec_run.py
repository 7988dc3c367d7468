"""``tfxd run-spec``: execute a compiled Kubeflow PipelineSpec on this machine, without a cluster.

It does what KFP's driver and launcher do for each task of ``root.dag.tasks``, in dependency
order: resolve input parameters (constants, pipeline parameters, upstream outputs) and input
artifacts (the producer's ExecutorOutput), give each output artifact a URI under the pipeline root,
write the ExecutorInput, run ``lifecycle.preCacheCheck`` and then the task's container command with
this interpreter (forked from one that imported TensorFlow once, or a fresh interpreter per command
with ``cold``: see ``launcher``), and read the ExecutorOutput the task wrote. ``triggerPolicy``
conditions are evaluated; a task whose condition is false is skipped with everything downstream.

There is no container: ``--mount /tfxd=.`` stands in for the image's files, like a bind mount
(string parameters under the image path are rewritten, the host folder goes on PYTHONPATH).
What a cluster adds and this does not: images, Kubernetes resources and secrets (env vars named by
the platform spec are read from this environment), KFP caching and KFP's own MLMD records. The run
is recorded in the ML Metadata store of the pipeline file the spec names (``spec_record``).
A run's state lives in ``<root>/<run id>/<task>/``; re-running with the same ``--run-id`` resumes
after the last finished task.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from tfxd.errors import RunError, TfxdError
from tfxd.runners.cel import CelError, evaluate
from tfxd.runners.compiled import (
    Task,
    constant,
    load_compiled,
    ordered_tasks,
    pipeline_parameters,
)
from tfxd.runners.locks import pipeline_lock
from tfxd.runners.progress import RunOutcome, StepResult, report
from tfxd.runners.spec_record import SpecRecorder
from tfxd.runners.warm_start import WarmStarter

# Artifact types whose URI is a file, not a folder (TFX value artifacts, KFP's HTML/Markdown).
FILE_TITLES = {
    "tfx.String",
    "tfx.Integer",
    "tfx.Float",
    "tfx.Boolean",
    "tfx.JsonValue",
    "system.HTML",
    "system.Markdown",
}
DONE = ".done.json"


@dataclass
class SpecRunResult(RunOutcome):
    root: str = ""


class Mounts:
    """Image paths standing for host folders, as a bind mount would."""

    def __init__(self, mounts: dict[str, str]):
        self.pairs = sorted(
            (
                (image.rstrip("/") or "/", str(Path(host).resolve()))
                for image, host in mounts.items()
            ),
            key=lambda p: -len(p[0]),
        )
        self.pattern = (
            re.compile(
                r"(?<![\w.\-])("
                + "|".join(re.escape(image) for image, _ in self.pairs)
                + r")(?=/|\"|'|$|\s)"
            )
            if self.pairs
            else None
        )

    def rewrite(self, value: Any) -> Any:
        if not isinstance(value, str) or self.pattern is None:
            return value
        hosts = dict(self.pairs)
        return self.pattern.sub(lambda m: hosts[m.group(1)], value)


def _run_id() -> str:
    return "run-spec-" + dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")


def parse_mounts(items: list[str]) -> dict[str, str]:
    """``--mount /IMAGE/PATH=HOST_FOLDER`` options → image path → host folder."""
    mounts = {}
    for item in items:
        image, eq, host = item.partition("=")
        if not eq or not image.startswith("/"):
            raise TfxdError(f"--mount {item}: write it as /IMAGE/PATH=HOST_FOLDER")
        if not Path(host).is_dir():
            raise TfxdError(f"--mount {item}: {host} is not a folder")
        mounts[image] = host
    return mounts


def run_spec(
    path: str | Path,
    *,
    root: str | None = None,
    params: dict[str, str] | None = None,
    mounts: dict[str, str] | None = None,
    run_id: str | None = None,
    console: Console | None = None,
    cold: bool = False,
) -> SpecRunResult:
    """Execute the compiled spec at ``path``; see the module docstring."""
    path = Path(path)
    console = console or Console()
    spec, platform = load_compiled(path)
    tasks = ordered_tasks(spec, path)
    mount = Mounts(mounts or {})
    root = root or mount.rewrite(spec.get("defaultPipelineRoot", ""))
    if not root or "://" in root:
        raise TfxdError(
            f"{path}: pipeline root {root or '(none)'} is not a local folder: pass --root DIR"
        )
    root = str(Path(root).resolve())
    values = {k: mount.rewrite(v) for k, v in pipeline_parameters(spec, params or {}, path).items()}
    run_id = run_id or _run_id()
    if not re.fullmatch(r"[\w.\-]+", run_id):
        raise TfxdError(f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' only")
    run_dir = Path(root) / run_id
    env = _environment(platform, mount, console)
    name = spec.get("pipelineInfo", {}).get("name", path.stem)
    result = SpecRunResult(pipeline=name, run_id=run_id, root=root)
    outputs: dict[str, dict[str, Any]] = {}  # task → {"artifacts": {...}, "parameters": {...}}
    skipped: set[str] = set()
    with pipeline_lock(str(run_dir), name), WarmStarter(env, cold=cold) as launcher:
        console.print(f"[bold]{name}[/] run-spec {run_id}  (root {root})")
        given = {k: mount.rewrite(v) for k, v in (params or {}).items()}
        recorder = SpecRecorder.open(spec, mount.rewrite, given, run_id, root, env, console)
        failed = False
        for task in tasks:
            if failed:
                report(console, result, StepResult(task.name, "not run"))
                continue
            if task.upstream & skipped:
                skipped.add(task.name)
                step = StepResult(task.name, "skipped", error="upstream skipped")
                report(console, result, step, "(upstream skipped)")
                continue
            task_dir = run_dir / task.name
            done = task_dir / DONE
            if done.exists():
                outputs[task.name] = json.loads(done.read_text(encoding="utf-8"))
                report(console, result, StepResult(task.name, "resumed"), "(finished earlier)")
                continue
            start = time.monotonic()
            execution = None
            try:
                executor_input = _executor_input(task, task_dir, values, outputs, mount)
                condition = task.body.get("triggerPolicy", {}).get("condition")
                if condition and not evaluate(condition, _cel_inputs(executor_input)):
                    skipped.add(task.name)
                    step = StepResult(task.name, "skipped", error=condition)
                    report(console, result, step, "(condition false)")
                    continue
                execution = recorder.start(task.name, executor_input) if recorder else None
                with console.status(f"{task.name} running…"):
                    outputs[task.name] = _execute(
                        task, task_dir, executor_input, env, launcher, mount.rewrite
                    )
            except (TfxdError, CelError) as err:
                if recorder and execution is not None:
                    recorder.end(execution, task.name, False, {}, _title)
                seconds = time.monotonic() - start
                report(
                    console, result, StepResult(task.name, "failed", seconds, str(err)), str(err)
                )
                failed = True
                continue
            if recorder:
                recorder.end(execution, task.name, True, outputs[task.name]["artifacts"], _title)
            seconds = time.monotonic() - start
            report(console, result, StepResult(task.name, "done", seconds))
    verdict = "[green]succeeded[/]" if result.ok else "[red]failed[/]"
    console.print(f"run-spec {verdict}: outputs and logs under {run_dir}")
    if not result.ok:
        bad = result.first_failure()
        console.print(
            f"[red]task '{bad.name}' failed[/]; re-run with --run-id {run_id} to resume after "
            "the last finished task"
        )
    return result


def _environment(
    platform: dict[str, Any] | None, mount: Mounts, console: Console
) -> dict[str, str]:
    env = dict(os.environ)
    hosts = [host for _, host in mount.pairs]
    env["PYTHONPATH"] = os.pathsep.join([*hosts, *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("TF_USE_LEGACY_KERAS", "1")
    k8s = (platform or {}).get("platforms", {}).get("kubernetes", {})
    wanted = set()
    for executor in k8s.get("deploymentSpec", {}).get("executors", {}).values():
        for secret in executor.get("secretAsEnv", []):
            wanted.update(k["envVar"] for k in secret.get("keyToEnv", []))
    missing = sorted(v for v in wanted if v not in env)
    if missing:
        console.print(
            f"[yellow]note[/] secrets become env vars on the cluster; here they come from this "
            f"environment, which lacks {', '.join(missing)}"
        )
    return env


def _executor_input(
    task: Task,
    task_dir: Path,
    values: dict[str, Any],
    outputs: dict[str, dict[str, Any]],
    mount: Mounts,
) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for key, ref in task.body.get("inputs", {}).get("parameters", {}).items():
        if "runtimeValue" in ref:
            parameters[key] = mount.rewrite(constant(ref))
        elif "componentInputParameter" in ref:
            name = ref["componentInputParameter"]
            if name in values:
                parameters[key] = values[name]
        elif "taskOutputParameter" in ref:
            out = ref["taskOutputParameter"]
            produced = outputs[out["producerTask"]]["parameters"]
            if out["outputParameterKey"] not in produced:
                raise TfxdError(
                    f"task '{task.name}': input parameter '{key}' reads "
                    f"{out['producerTask']}.{out['outputParameterKey']}, which it did not write"
                )
            parameters[key] = produced[out["outputParameterKey"]]
        else:
            raise TfxdError(f"task '{task.name}': input parameter '{key}' has no value source")
    artifacts: dict[str, Any] = {}
    for key, ref in task.body.get("inputs", {}).get("artifacts", {}).items():
        out = ref["taskOutputArtifact"]
        produced = outputs[out["producerTask"]]["artifacts"]
        if out["outputArtifactKey"] not in produced:
            raise TfxdError(
                f"task '{task.name}': input artifact '{key}' reads "
                f"{out['producerTask']}.{out['outputArtifactKey']}, which it did not write"
            )
        artifacts[key] = {"artifacts": produced[out["outputArtifactKey"]]}
    definitions = task.component.get("outputDefinitions", {})
    out_artifacts = {}
    for key, definition in sorted(definitions.get("artifacts", {}).items()):
        artifact_type = definition["artifactType"]
        out_artifacts[key] = {
            "artifacts": [
                {
                    "name": f"{task_dir.parent.name}/{task.name}/{key}",
                    "uri": str(task_dir / key),
                    "type": artifact_type,
                    "metadata": {},
                }
            ]
        }
    out_parameters = {
        key: {"outputFile": str(task_dir / "parameters" / key)}
        for key in sorted(definitions.get("parameters", {}))
    }
    executor_input: dict[str, Any] = {
        "inputs": {"parameterValues": parameters, "artifacts": artifacts},
        "outputs": {
            "artifacts": out_artifacts,
            "parameters": out_parameters,
            "outputFile": str(task_dir / "executor_output.json"),
        },
    }
    return executor_input


def _cel_inputs(executor_input: dict[str, Any]) -> dict[str, Any]:
    inputs = executor_input["inputs"]
    return {"artifacts": inputs["artifacts"], "parameter_values": inputs["parameterValues"]}


def _title(artifact_type: dict[str, Any]) -> str:
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    schema = yaml.safe_load(artifact_type.get("instanceSchema", "")) or {}
    return schema.get("title", "")


def _with_driver_metadata(executor_input: dict[str, Any], output_file: Path) -> str:
    driver = json.loads(output_file.read_text(encoding="utf-8"))
    for key, listed in driver.get("artifacts", {}).items():
        ours = executor_input["outputs"]["artifacts"].get(key, {}).get("artifacts", [])
        for artifact, update in zip(ours, listed.get("artifacts", []), strict=False):
            artifact["metadata"] = {**artifact["metadata"], **update.get("metadata", {})}
    return json.dumps(executor_input, sort_keys=True)


def _execute(
    task: Task,
    task_dir: Path,
    executor_input: dict[str, Any],
    env: dict[str, str],
    launcher: WarmStarter,
    rewrite: Any = str,
) -> dict[str, Any]:
    """Run preCacheCheck and the container command; returns the task's outputs. ``rewrite``:
    image path → host path (the mounts)."""
    if task_dir.exists():
        shutil.rmtree(task_dir)  # what an interrupted attempt left
    task_dir.mkdir(parents=True)
    for outs in executor_input["outputs"]["artifacts"].values():
        for artifact in outs["artifacts"]:
            uri = Path(artifact["uri"])
            if _title(artifact["type"]) in FILE_TITLES:
                uri.parent.mkdir(parents=True, exist_ok=True)
            else:
                uri.mkdir(parents=True, exist_ok=True)
    serialized = json.dumps(executor_input, sort_keys=True)
    (task_dir / "executor_input.json").write_text(serialized, encoding="utf-8")
    log_path = task_dir / "log"
    steps = []
    pre = task.container.get("lifecycle", {}).get("preCacheCheck")
    if pre:
        steps.append(("preCacheCheck", pre))
    steps.append(("executor", task.container))
    output_file = Path(executor_input["outputs"]["outputFile"])
    for label, part in steps:
        if label == "executor" and pre and output_file.exists():
            # As the service does between the two: the driver's artifact metadata (span,
            # version, fingerprint) goes into the executor's output artifacts.
            serialized = _with_driver_metadata(executor_input, output_file)
        argv = [sys.executable, *part["command"][1:]]
        argv += [serialized if a == "{{$}}" else a for a in part.get("args", [])]
        step_env = dict(env)
        for item in part.get("env", []) if label == "executor" else []:
            step_env[item["name"]] = rewrite(item.get("value", ""))  # a path in the image, too
        with open(log_path, "ab") as log:
            log.write(f"==> {label}: {' '.join(argv[:4])} …\n".encode())
        code = launcher.run(argv, step_env, log_path)
        if code != 0:
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            raise RunError(
                f"{label} exited with status {code}; log: {log_path}\n    " + "\n    ".join(tail)
            )
    produced: dict[str, Any] = {}
    if output_file.exists():
        produced = json.loads(output_file.read_text(encoding="utf-8"))
    artifacts = {}
    for key, outs in executor_input["outputs"]["artifacts"].items():
        given = outs["artifacts"]
        written = produced.get("artifacts", {}).get(key, {}).get("artifacts", [])
        merged = []
        for i, artifact in enumerate(given):
            update = written[i] if i < len(written) else {}
            merged.append(
                {
                    **artifact,
                    "uri": update.get("uri") or artifact["uri"],
                    "metadata": update.get("metadata", artifact["metadata"]),
                }
            )
        artifacts[key] = merged
    parameters = dict(produced.get("parameterValues", {}))
    for key, spec in executor_input["outputs"]["parameters"].items():
        file = Path(spec["outputFile"])
        if key not in parameters and file.exists():
            parameters[key] = json.loads(file.read_text(encoding="utf-8"))
    record = {"artifacts": artifacts, "parameters": parameters}
    tmp = task_dir / (DONE + ".tmp")
    tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    os.replace(tmp, task_dir / DONE)
    return record
