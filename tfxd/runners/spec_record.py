"""What ``tfxd run-spec`` records: the run record and each task's execution, in the ML Metadata
store of the pipeline file the spec was compiled from (``tfxd.mlmd.tasks``), as a local run does.

``tfxd compile --target kubeflow`` names that file on every task's container
(``TFXD_PIPELINE_FILE``, its path in the image, and ``TFXD_PIPELINE_SHA256``, its hash when it was
compiled). ``run-spec`` finds it through ``--mount``, composes the record from it (its text,
parameters, module files and what they import, input fingerprints, this environment's
packages) and writes, as each task ends, its outputs, the Evaluator's metrics and the pushed
version. On a cluster KFP's own launcher records executions in KFP's store; a spec compiled by an
earlier tfxd names no file, and then nothing is recorded (said once).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from rich.console import Console

from tfxd.errors import TfxdError
from tfxd.file import load_partial
from tfxd.mlmd.tasks import RUNNER_PROPERTY, end_task, start_task
from tfxd.pipelines.pipeline import Pipeline, check
from tfxd.runners import launch
from tfxd.seeds import SEEDS_ENV

PIPELINE_FILE_ENV = "TFXD_PIPELINE_FILE"
PIPELINE_SHA256_ENV = "TFXD_PIPELINE_SHA256"
RUNNER = "run-spec"


def pipeline_file_env(pipe: Pipeline, image_path: str) -> list[dict[str, str]]:
    """The container env naming the pipeline file (its path in the image, its hash)."""
    digest = hashlib.sha256(pipe.loaded.doc.text.encode()).hexdigest()
    return [
        {"name": PIPELINE_FILE_ENV, "value": image_path},
        {"name": PIPELINE_SHA256_ENV, "value": digest},
    ]


def named_file(spec: dict[str, Any]) -> tuple[str, str] | None:
    """The (image path, compiled hash) of the pipeline file the spec's containers name."""
    for body in spec.get("deploymentSpec", {}).get("executors", {}).values():
        env = {e.get("name"): e.get("value", "") for e in body.get("container", {}).get("env", [])}
        if env.get(PIPELINE_FILE_ENV):
            return env[PIPELINE_FILE_ENV], env.get(PIPELINE_SHA256_ENV, "")
    return None


class SpecRecorder:
    """Writes one ``run-spec`` run into its pipeline's ML Metadata store."""

    def __init__(self, prepared: launch.Prepared, store: Any, run_id: str):
        self.prepared, self.store, self.run_id = prepared, store, run_id
        self.pipe = prepared.pipe

    @classmethod
    def open(
        cls,
        spec: dict[str, Any],
        host_path: Any,
        params: dict[str, Any],
        run_id: str,
        root: str,
        env: dict[str, str],
        console: Console,
    ) -> SpecRecorder | None:
        """Write the run's record (unless a resumed run has one) and point the tasks' seeds at
        the run's seeds file; None, said once, when the spec names no readable pipeline file.
        ``host_path``: image path → host path (the mounts); ``params``: the run's values."""
        from tfxd.mlmd.store import connection_config, open_store

        named = named_file(spec)
        if named is None:
            console.print(
                "[yellow]note[/] this spec names no pipeline file (compiled by an earlier tfxd): "
                "the run is not recorded in ML Metadata; recompile to record it"
            )
            return None
        image_path, compiled = named
        path = Path(host_path(image_path))
        if not path.is_file():
            console.print(
                f"[yellow]note[/] the spec's pipeline file {image_path} is not at {path}: the run "
                "is not recorded in ML Metadata; mount the folder holding it (--mount)"
            )
            return None
        try:
            loaded = load_partial(path)
            given = {k: str(v) for k, v in params.items() if k in loaded.parameters}
            pipe = check(loaded, given)
        except TfxdError as err:
            raise TfxdError(f"the spec's pipeline file: {err}") from None
        now = hashlib.sha256(pipe.loaded.doc.text.encode()).hexdigest()
        if compiled and now != compiled:
            console.print(
                f"[yellow]note[/] {path} changed since the spec was compiled: the record holds "
                "the file as it is now; recompile so that both agree"
            )
        store = open_store(pipe.loaded, readonly=False)
        # A resumed run: what its killed attempt left RUNNING (the run's lock is held here).
        launch.repair_abandoned(
            connection_config(pipe.loaded, readonly=False), pipe.name, run_id, in_run=run_id
        )
        # The span the tasks' drivers resolve: the newest, as a local run pins it.
        prepared = launch.prepare(pipe, RUNNER, store)
        launch.start(store, prepared, run_id, root)
        env[SEEDS_ENV] = os.environ[SEEDS_ENV]
        return cls(prepared, store, run_id)

    def start(self, task: str, executor_input: dict[str, Any]) -> int | None:
        """Record that ``task`` started; its execution id (None: not a node of the pipeline)."""
        node = self.pipe.nodes.get(task)
        if node is None:
            return None
        inputs = {
            key: [a["uri"] for a in given.get("artifacts", [])]
            for key, given in executor_input["inputs"]["artifacts"].items()
        }
        kind = node.type.component.replace(":", ".")
        return start_task(
            self.store, self.pipe.name, self.run_id, task, kind, inputs, {RUNNER_PROPERTY: RUNNER}
        )

    def end(
        self,
        execution_id: int | None,
        task: str,
        ok: bool,
        artifacts: dict[str, list[dict[str, Any]]],
        title: Any,
    ) -> None:
        """Record the end of a started task; ``title``: artifact type → its schema title."""
        if execution_id is None:
            return
        outputs = {
            key: [{**a, "type": title(a["type"])} for a in listed]
            for key, listed in artifacts.items()
        }
        end_task(self.store, execution_id, ok, outputs)
        if ok:  # a task's execution is of its own type: no plan key, local runs never reuse it
            launch.finish_node(self.store, self.prepared, task, execution_id, key=False)
