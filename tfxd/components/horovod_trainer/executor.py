"""HorovodTrainer executor: TFX's GenericExecutor contract, run as N Horovod ranks here."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
from typing import Any

from tfx.components.trainer import executor as trainer_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from tfxd.components.standard.input_profile import INPUT_PROFILE
from tfxd.errors import MissingDependencyError, TfxdError
from tfxd.infra.cores import usable_cpus
from tfxd.processes import die_with_parent

WORKER = "tfxd.components.horovod_trainer.worker"
INSTALL_HINT = (
    "HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 "
    "HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1 "
    "pip install --no-build-isolation horovod==0.28.1 (needs cmake and g++; "
    "scripts/setup.sh builds and caches the wheel)"
)


class HorovodMissingError(MissingDependencyError):
    def __init__(self, reason: str) -> None:
        TfxdError.__init__(
            self, f"HorovodTrainer needs Horovod with TensorFlow ({reason}): {INSTALL_HINT}"
        )


def require_horovod() -> None:
    try:
        import horovod.tensorflow  # noqa: F401  (built with TensorFlow support)
    except ImportError as err:
        raise HorovodMissingError(str(err)) from err


def check_workers(workers: int, node: str = "the HorovodTrainer") -> None:
    cores = usable_cpus()
    if workers > cores:
        raise TfxdError(
            f"{node}: workers: {workers}, but this machine can run {cores} "
            f"(CPU cores available to it); set workers to at most {cores}, or give the node more "
            "CPU (runners.kubeflow.nodes.<node>.cpu on Kubeflow)"
        )


def _jsonable(properties: dict[str, Any]) -> dict[str, Any]:
    from google.protobuf import json_format, message

    return {
        k: json_format.MessageToJson(v) if isinstance(v, message.Message) else v
        for k, v in properties.items()
    }


def checkpoint_key(input_dict: dict[str, list], properties: dict[str, Any]) -> str:
    """Same inputs and settings → same key: a re-run after a crash finds its checkpoints."""
    payload = {
        "inputs": {k: sorted(a.uri for a in v) for k, v in sorted(input_dict.items())},
        "properties": properties,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def horovod_ops(saved_model_dir: str) -> dict[str, list[str]]:
    """Horovod op types in a SavedModel: function (or "graph") → op types."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(saved_model_dir, "saved_model.pb")
    if not fileio.exists(path):
        return {}
    saved = saved_model_pb2.SavedModel()
    with fileio.open(path, "rb") as handle:
        saved.ParseFromString(handle.read())
    found: dict[str, set[str]] = {}
    for graph in saved.meta_graphs:
        for node in graph.graph_def.node:
            if node.op.startswith("Horovod"):
                found.setdefault("graph", set()).add(node.op)
        for function in graph.graph_def.library.function:
            for node in function.node_def:
                if node.op.startswith("Horovod"):
                    found.setdefault(function.signature.name, set()).add(node.op)
    return {name: sorted(ops) for name, ops in sorted(found.items())}


class Executor(trainer_executor.GenericExecutor):
    """Starts ``workers`` Horovod ranks (Gloo) on this machine, each calling the module file's
    ``run_fn`` on its shard; rank 0 writes the model."""

    def Do(
        self,
        input_dict: dict[str, list],
        output_dict: dict[str, list],
        exec_properties: dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        require_horovod()
        properties = _jsonable(exec_properties)
        workers = int(properties.pop("workers"))
        every = int(properties.pop("checkpoint_every", 0) or 0)
        check_workers(workers)

        model_uri = artifact_utils.get_single_uri(output_dict["model"])
        run_uri = artifact_utils.get_single_uri(output_dict["model_run"])
        node_root = os.path.dirname(os.path.dirname(model_uri.rstrip("/")))
        checkpoints = os.path.join(node_root, ".horovod", checkpoint_key(input_dict, properties))
        scratch = os.path.join(run_uri, "horovod")
        fileio.makedirs(scratch)
        job = {
            "inputs": artifact_utils.jsonify_artifact_dict(input_dict),
            "outputs": artifact_utils.jsonify_artifact_dict(output_dict),
            "exec_properties": properties,
            "checkpoint_dir": checkpoints,
            "checkpoint_every": every,
            "scratch_dir": scratch,
        }
        job_path = os.path.join(scratch, "job.json")
        with fileio.open(job_path, "w") as handle:
            handle.write(json.dumps(job))

        command = [
            sys.executable,
            "-c",
            "from horovod.runner.launch import run_commandline; run_commandline()",
            "-np",
            str(workers),
            "-H",
            f"localhost:{workers}",
            "--gloo",
            sys.executable,
            "-m",
            WORKER,
            job_path,
        ]
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "PYTHONUNBUFFERED": "1"}
        die = functools.partial(die_with_parent, os.getpid())
        code = subprocess.call(command, env=env, preexec_fn=die)
        if code != 0:
            raise TfxdError(
                f"HorovodTrainer: a rank failed (launcher exit code {code}); its traceback is in "
                f"the log above. Checkpoints are kept in {checkpoints}: a re-run resumes from them"
            )
        reports = [os.path.join(scratch, f"rank-{r}.json") for r in range(workers)]
        missing = [r for r, p in enumerate(reports) if not fileio.exists(p)]
        if missing:
            raise TfxdError(f"HorovodTrainer: ranks {missing} did not finish run_fn")
        ranks = [_read_json(p).get("input") for p in reports]
        if all(ranks):  # the run is as input bound as its most input-bound rank
            slowest = max(ranks, key=lambda r: r["share"])
            profile = {**slowest, "ranks": [r["share"] for r in ranks]}
            model_run = artifact_utils.get_single_instance(output_dict["model_run"])
            model_run.set_string_custom_property(INPUT_PROFILE, json.dumps(profile))
        serving = os.path.join(model_uri, "Format-Serving")
        if not fileio.exists(serving):
            raise TfxdError(
                f"HorovodTrainer: run_fn did not write a model to fn_args.serving_model_dir "
                f"({serving}) on rank 0"
            )
        foreign = horovod_ops(serving)
        if foreign:
            ops = sorted({op for found in foreign.values() for op in found})
            raise TfxdError(
                f"HorovodTrainer: the model run_fn saved holds Horovod ops ({', '.join(ops)}, in "
                f"{', '.join(foreign)[:300]}) "
                "that TF Serving and TFLite cannot load: save it with "
                "model.save(..., include_optimizer=False)"
            )
        if fileio.exists(checkpoints):
            fileio.rmtree(checkpoints)


def _read_json(path: str) -> dict[str, Any]:
    with fileio.open(path) as handle:
        return json.loads(handle.read())
