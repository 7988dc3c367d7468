"""The accepted schema of a pipeline's gates: shown, and replaced on purpose (``tfxd schema
accept``), each replacement recorded in ML Metadata (``tfxd.SchemaAccept`` executions)."""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from typing import Any

from tfxd.errors import TfxdError

ACCEPT_TYPE = "tfxd.SchemaAccept"


@dataclass
class Acceptance:
    node: str
    span: int
    reason: str
    at: str
    by: str


def gates(pipe: Any, root: str) -> dict[str, str]:
    """Node id → the folder where it keeps the accepted schema (its type says so)."""
    out = {}
    for node_id in pipe.order:
        node = pipe.nodes[node_id]
        if node.type.models.schema_history is not None:
            out[node_id] = node.type.models.schema_history(
                node_id, node.params, root, pipe.loaded.location
            )
    if not out:
        raise TfxdError(
            f"{pipe.loaded.path}: no node checks spans against an accepted schema "
            "(add a DriftValidator)"
        )
    return out


def _pick(found: dict[str, str], node: str | None, path: Any) -> tuple[str, str]:
    if node is None:
        if len(found) > 1:
            raise TfxdError(
                f"{path}: gates {', '.join(found)} each keep a schema: name one with --node"
            )
        return next(iter(found.items()))
    if node not in found:
        raise TfxdError(f"{path}: no gate '{node}' (gates: {', '.join(found)}): fix --node")
    return node, found[node]


def accept(
    pipe: Any, store: Any, root: str, span: int, node: str | None = None, reason: str = ""
) -> tuple[str, str, str]:
    """Makes span ``span``'s own schema the accepted one of a gate (its columns and types; its
    categorical domains widened by the ones accepted before). Returns (node, the origin it
    replaces, the new origin)."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    from tfxd.infra.schema_store import Origin, SchemaStore, widen

    node_id, folder = _pick(gates(pipe, root), node, pipe.loaded.path)
    schemas = SchemaStore(folder)
    current = schemas.accepted()
    if current is not None and current[1].source == "imported":
        raise TfxdError(
            f"{pipe.loaded.path}: {node_id} checks spans against an imported schema: change "
            "that file (ImportSchemaGen's schema_file) instead"
        )
    candidate, empty = schemas.candidate(span)
    if current is not None:
        candidate = widen(candidate, current[0])
    by = getpass.getuser()
    new = Origin(f"span {span}", "accept", span=span, reason=reason, empty=empty)
    schemas.accept(candidate, new)
    type_id = store.put_execution_type(mlmd.ExecutionType(name=ACCEPT_TYPE), can_add_fields=True)
    execution = mlmd.Execution(type_id=type_id, last_known_state=mlmd.Execution.COMPLETE)
    props = execution.custom_properties
    props["node"].string_value = node_id
    props["span"].int_value = span
    props["reason"].string_value = reason
    props["by"].string_value = by
    props["at"].string_value = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    context = store.get_context_by_type_and_name("pipeline", pipe.name)
    store.put_execution(execution, [], [context] if context is not None else [])
    was = current[1].label() if current is not None else "none"
    return node_id, was, new.label()


def acceptances(store: Any, pipeline: str) -> list[Acceptance]:
    """Every ``tfxd schema accept`` of ``pipeline``, oldest first."""
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        return []
    out = []
    for e in sorted(store.get_executions_by_context(context.id), key=lambda e: e.id):
        if e.type == ACCEPT_TYPE:
            p = e.custom_properties
            out.append(
                Acceptance(
                    p["node"].string_value,
                    p["span"].int_value,
                    p["reason"].string_value,
                    p["at"].string_value,
                    p["by"].string_value,
                )
            )
    return out


def show(pipe: Any, root: str) -> list[str]:
    """One line per gate: what its accepted schema is and where it came from."""
    from tfxd.infra.schema_store import SchemaStore

    lines = []
    for node_id, folder in gates(pipe, root).items():
        found = SchemaStore(folder).accepted()
        if found is None:
            lines.append(f"{node_id}: no accepted schema yet (the first span that passes sets it)")
            continue
        schema, origin = found
        at = dt.datetime.fromtimestamp(origin.at, dt.timezone.utc).isoformat(timespec="seconds")
        columns = ", ".join(f.name for f in schema.feature)
        lines.append(f"{node_id}: accepted schema from {origin.label()} ({at}): {columns}")
        store = SchemaStore(folder)
        for version in store.versions()[:-1] if len(store.versions()) > 1 else []:
            why = f": {version['reason']}" if version.get("reason") else ""
            lines.append(
                f"  version {version['version']}: span {version['span']} ({version['how']}){why}"
            )
        if origin.how == "evolved":
            lines.append(f"  evolved by policy in span {origin.span}: {origin.reason}")
    return lines
