"""Quarantined spans in ML Metadata: a span whose runs kept failing, recorded with its attempts and
last error (``tfxd.Quarantine`` executions in the pipeline's context), until released."""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from typing import Any

from tfxd.errors import TfxdError

QUARANTINE_TYPE = "tfxd.Quarantine"


@dataclass
class Quarantined:
    span: int
    attempts: int
    error: str
    at: str
    released: str = ""  # when, by whom; "" while in force
    execution_id: int = 0


def records(store: Any, pipeline: str) -> list[Quarantined]:
    """Every quarantine of ``pipeline``'s spans, oldest first (released ones included)."""
    from ml_metadata.metadata_store import ListOptions

    query = (
        f"type = '{QUARANTINE_TYPE}' AND contexts_a.type = 'pipeline' "
        f"AND contexts_a.name = '{pipeline}'"
    )
    out = []
    for e in store.get_executions(list_options=ListOptions(filter_query=query)):
        props = e.custom_properties
        out.append(
            Quarantined(
                span=props["span"].int_value,
                attempts=props["attempts"].int_value,
                error=props["error"].string_value,
                at=props["at"].string_value,
                released=props["released"].string_value if "released" in props else "",
                execution_id=e.id,
            )
        )
    return sorted(out, key=lambda q: q.execution_id)


def active(store: Any, pipeline: str) -> dict[int, Quarantined]:
    """Span → its quarantine in force."""
    return {q.span: q for q in records(store, pipeline) if not q.released}


def quarantine(store: Any, pipeline: str, span: int, attempts: int, error: str) -> None:
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    type_id = store.put_execution_type(
        mlmd.ExecutionType(name=QUARANTINE_TYPE), can_add_fields=True
    )
    execution = mlmd.Execution(type_id=type_id, last_known_state=mlmd.Execution.COMPLETE)
    props = execution.custom_properties
    props["span"].int_value = span
    props["attempts"].int_value = attempts
    props["error"].string_value = error[:2000]
    props["at"].string_value = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    store.put_execution(execution, [], [context] if context is not None else [])


def release(store: Any, pipeline: str, span: int) -> Quarantined:
    """Lift the quarantine of ``span``: the next check runs it again, with fresh attempts."""
    found = active(store, pipeline).get(span)
    if found is None:
        held = ", ".join(map(str, sorted(active(store, pipeline)))) or "none"
        raise TfxdError(f"span {span} of '{pipeline}' is not quarantined (quarantined: {held})")
    [execution] = store.get_executions_by_id([found.execution_id])
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    execution.custom_properties["released"].string_value = f"{stamp} by {getpass.getuser()}"
    store.put_executions([execution])
    return found


ATTEMPT_TYPE = "tfxd.SpanAttempt"


def record_attempt(store: Any, pipeline: str, span: int, error: str) -> None:
    """A failed run of ``span`` (its ExampleGen may have failed before it recorded the span)."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    type_id = store.put_execution_type(mlmd.ExecutionType(name=ATTEMPT_TYPE), can_add_fields=True)
    execution = mlmd.Execution(type_id=type_id, last_known_state=mlmd.Execution.FAILED)
    execution.custom_properties["span"].int_value = span
    execution.custom_properties["error"].string_value = error[:2000]
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    store.put_execution(execution, [], [context] if context is not None else [])


def failed_attempts(store: Any, pipeline: str) -> dict[int, int]:
    """Span → failed runs since its last quarantine was released (all of them if never)."""
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        return {}
    released: dict[int, int] = {}
    for q in records(store, pipeline):
        if q.released:
            released[q.span] = q.execution_id  # ids grow: attempts after the quarantine count
    counts: dict[int, int] = {}
    for e in store.get_executions_by_context(context.id):
        if e.type == ATTEMPT_TYPE:
            span = e.custom_properties["span"].int_value
            if e.id > released.get(span, 0):
                counts[span] = counts.get(span, 0) + 1
    return counts
