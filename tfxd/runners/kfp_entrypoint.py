"""The container entrypoint of compiled Kubeflow specs: TFX's KFP v2 executor entrypoint, taught
the report artifact types (``system.HTML``, ``system.Markdown``), whose KFP schema titles are not
import paths as TFX assumes for types it does not know.

What a task can record of its run, it writes on each output artifact's metadata in the
ExecutorOutput (which KFP's launcher stores in KFP's ML Metadata, and ``run-spec`` in the
pipeline's): ``tfxd_pipeline_sha256`` (the pipeline file the image holds, named by
``TFXD_PIPELINE_FILE``), ``tfxd_packages`` (the digest of the image's installed packages),
``tfxd_modules`` (sha256 of each module file its ``*_fn`` parameters name and of the local modules
it imports) and, on an evaluation, ``tfxd_metrics`` (its overall metrics).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

INVOCATION_FLAG = "--json_serialized_invocation_args"


def main() -> None:
    from absl import app
    from tfx.orchestration.kubeflow.v2 import compiler_utils
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as tfx_entry

    from tfxd.components.reports.artifacts import TITLE_TO_CLASS_PATH

    compiler_utils.TITLE_TO_CLASS_PATH.update(TITLE_TO_CLASS_PATH)
    try:
        app.run(tfx_entry.main, flags_parser=tfx_entry._parse_flags)
    except SystemExit as ended:
        if ended.code in (None, 0):
            try:
                stamp(_invocation(sys.argv))
            except Exception as err:  # the task's work is done: say what is missing, not fail
                print(f"tfxd: the outputs carry no run facts: {err}", file=sys.stderr)
        raise


def _invocation(argv: list[str]) -> dict[str, Any]:
    for i, arg in enumerate(argv):
        if arg == INVOCATION_FLAG and i + 1 < len(argv):
            return json.loads(argv[i + 1])
        if arg.startswith(INVOCATION_FLAG + "="):
            return json.loads(arg.split("=", 1)[1])
    return {}


def facts(executor_input: dict[str, Any]) -> dict[str, str]:
    """What this task knows of its run: the pipeline file's and the packages' digests, and
    the digests of the module files its ``*_fn`` parameters name (with what they import)."""
    from tfxd.mlmd.records import packages_digest
    from tfxd.runners.recording import installed_packages
    from tfxd.runners.spec_record import PIPELINE_FILE_ENV

    out = {"tfxd_packages": packages_digest(installed_packages())}
    named = Path(os.environ.get(PIPELINE_FILE_ENV, "") or "/nonexistent")
    folder = None
    if named.is_file():
        out["tfxd_pipeline_sha256"] = hashlib.sha256(named.read_bytes()).hexdigest()
        folder = named.parent
    modules = {}
    for key, value in executor_input.get("inputs", {}).get("parameterValues", {}).items():
        if key.endswith("_fn") and isinstance(value, str) and "." in value:
            modules.update(_module_digests(value.rsplit(".", 1)[0], folder))
    if modules:
        out["tfxd_modules"] = json.dumps(modules, sort_keys=True)
    return out


def _module_digests(module: str, pipeline_folder: Path | None) -> dict[str, str]:
    import importlib.util

    from tfxd.pipelines.code import source_digests

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return {}
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return {}
    origin = Path(spec.origin)
    return source_digests(origin, pipeline_folder or origin.parent)


def stamp(executor_input: dict[str, Any]) -> None:
    """Add ``facts`` (and an evaluation's metrics) to every output artifact's metadata in the
    ExecutorOutput the executor wrote."""
    from tfxd.mlmd.records import METRICS
    from tfxd.runners.recording import overall_metrics

    path = executor_input.get("outputs", {}).get("outputFile")
    if not path or not os.path.exists(path):
        return
    output = json.loads(Path(path).read_text(encoding="utf-8"))
    known = facts(executor_input)
    declared = executor_input.get("outputs", {}).get("artifacts", {})
    for key, artifacts in output.get("artifacts", {}).items():
        given = declared.get(key, {}).get("artifacts", [])
        evaluation = any("tfx.ModelEvaluation" in json.dumps(g.get("type", {})) for g in given)
        for i, artifact in enumerate(artifacts.get("artifacts", [])):
            metadata = artifact.setdefault("metadata", {})
            metadata.update(known)
            uri = artifact.get("uri") or (given[i].get("uri", "") if i < len(given) else "")
            metrics = overall_metrics(uri) if evaluation and uri else {}
            if metrics:
                metadata[METRICS] = json.dumps(metrics, sort_keys=True)
    Path(path).write_text(json.dumps(output, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
