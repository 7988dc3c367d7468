"""Executions of a compiled Kubeflow spec's tasks in ML Metadata, in the contexts TFX's launcher
gives a node's (``pipeline``, ``pipeline_run``, ``node``), so that ``tfxd runs``, ``lineage`` and
``--compare`` read a ``tfxd run-spec`` run as they read a local one.

A task is started (RUNNING, with INPUT events on the artifacts its producers recorded, found by
URI) before its container runs and ended (COMPLETE or FAILED, with its OUTPUT artifacts and their
metadata as custom properties) after. Artifact types are the KFP schema titles without TFX's
``tfx.`` prefix (``tfx.Examples`` → ``Examples``), as TFX names them in its own records.
"""

from __future__ import annotations

import json
from typing import Any

RUNNER_PROPERTY = "tfxd_runner"  # on each execution: which runner made it ("run-spec")


def type_name(title: str) -> str:
    return title.removeprefix("tfx.")


def _context(store: Any, type_name_: str, name: str) -> Any:
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    found = store.get_context_by_type_and_name(type_name_, name)
    if found is not None:
        return found
    type_id = store.put_context_type(
        mlmd.ContextType(name=type_name_), can_add_fields=True, can_omit_fields=True
    )
    [context_id] = store.put_contexts([mlmd.Context(type_id=type_id, name=name)])
    return store.get_contexts_by_id([context_id])[0]


def _set(properties: Any, key: str, value: Any) -> None:
    """Set a custom property from a JSON value. KFP carries artifact metadata in a protobuf
    Struct, whose numbers are all doubles: a whole number is stored as the int TFX wrote
    (``span``, ``version``, ``pushed``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        properties[key].int_value = int(value)
    elif isinstance(value, int):
        properties[key].int_value = value
    elif isinstance(value, float):
        properties[key].double_value = value
    elif isinstance(value, str):
        properties[key].string_value = value
    elif value is not None:
        properties[key].string_value = json.dumps(value, sort_keys=True)


def _event(kind: int, key: str, index: int) -> Any:
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    event = mlmd.Event(type=kind)
    event.path.steps.add().key = key
    event.path.steps.add().index = index
    return event


def start_task(
    store: Any,
    pipeline: str,
    run_id: str,
    node: str,
    execution_type: str,
    inputs: dict[str, list[str]],
    properties: dict[str, Any] | None = None,
) -> int:
    """Record that ``node`` of run ``run_id`` started, reading the artifacts at ``inputs`` (input
    key → URIs); returns its execution id."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    type_id = store.put_execution_type(mlmd.ExecutionType(name=execution_type), can_add_fields=True)
    execution = mlmd.Execution(type_id=type_id, last_known_state=mlmd.Execution.RUNNING)
    for key, value in sorted((properties or {}).items()):
        _set(execution.custom_properties, key, value)
    pairs = []
    for key, uris in sorted(inputs.items()):
        for index, uri in enumerate(uris):
            found = store.get_artifacts_by_uri(uri)
            if found:  # the newest artifact at that URI: what its producer recorded last
                artifact = max(found, key=lambda a: a.id)
                pairs.append((artifact, _event(mlmd.Event.INPUT, key, index)))
    contexts = [
        _context(store, "pipeline", pipeline),
        _context(store, "pipeline_run", run_id),
        _context(store, "node", f"{pipeline}.{node}"),
    ]
    execution_id, _, _ = store.put_execution(execution, pairs, contexts)
    return execution_id


def end_task(
    store: Any, execution_id: int, ok: bool, outputs: dict[str, list[dict[str, Any]]]
) -> None:
    """Record the end of a started task: COMPLETE with ``outputs`` (output key → artifacts as
    KFP writes them: ``uri``, ``type`` (its schema title), ``metadata``), or FAILED."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    [execution] = store.get_executions_by_id([execution_id])
    execution.last_known_state = mlmd.Execution.COMPLETE if ok else mlmd.Execution.FAILED
    pairs = []
    for key, artifacts in sorted(outputs.items() if ok else []):
        for index, given in enumerate(artifacts):
            type_id = store.put_artifact_type(
                mlmd.ArtifactType(name=type_name(given["type"])),
                can_add_fields=True,
                can_omit_fields=True,
            )
            artifact = mlmd.Artifact(type_id=type_id, uri=given["uri"], state=mlmd.Artifact.LIVE)
            for name, value in sorted(given.get("metadata", {}).items()):
                _set(artifact.custom_properties, name.removeprefix("custom:"), value)
            pairs.append((artifact, _event(mlmd.Event.OUTPUT, key, index)))
    contexts = store.get_contexts_by_execution(execution_id)
    store.put_execution(execution, pairs, contexts)
