"""Runs, read from ML Metadata with the MLMD client itself (no TFX internals).

TFX records a context per pipeline (``pipeline``), per run (``pipeline_run``) and per node
(``node``, named ``<pipeline>.<node>``); every execution is attributed to all three, and events
link executions to the artifacts they read (INPUT) and wrote (OUTPUT).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfxd.errors import TfxdError
from tfxd.file import LoadedFile, load

STATE = {
    0: "unknown",
    1: "new",
    2: "running",
    3: "complete",
    4: "failed",
    5: "cached",
    6: "canceled",
}


def find_pipeline_file(name: str, pipeline_file: str | None = None) -> LoadedFile:
    """The pipeline file of ``name``: given, or found under ./pipelines/*/ or ./*.yaml."""
    if pipeline_file:
        loaded = load(pipeline_file)
        if loaded.checked().metadata.name != name:
            raise TfxdError(
                f"{pipeline_file} declares pipeline '{loaded.checked().metadata.name}', "
                f"not '{name}'"
            )
        return loaded
    candidates = sorted(Path("pipelines").glob("*/*.yaml")) + sorted(Path(".").glob("*.yaml"))
    for path in candidates:
        try:
            loaded = load(path)
        except TfxdError:
            continue
        if loaded.checked().metadata.name == name:
            return loaded
    raise TfxdError(
        f"no pipeline file for '{name}' under ./pipelines/*/ or ./: pass it with -f FILE"
    )


@dataclass
class NodeRun:
    node: str
    state: str
    seconds: float
    execution_id: int
    abandoned: str = ""


@dataclass
class Run:
    run_id: str
    started: dt.datetime
    seconds: float
    status: str
    nodes: list[NodeRun] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)  # the Evaluator's, this run's result
    pushed: str = ""  # the version a pusher of this run pushed
    seeds: dict[str, int] = field(default_factory=dict)
    bad_rows: dict[str, Any] = field(default_factory=dict)  # node → {rows, of, file}
    inputs: dict[str, Any] = field(default_factory=dict)  # Trainer node → its input profile

    @property
    def cached(self) -> list[str]:
        return [n.node for n in self.nodes if n.state == "cached"]


def node_of_executions(store: Any, pipeline: str, since: int | None = None) -> dict[int, str]:
    """Execution id → node id, from the node contexts (executions created at ``since`` ms or
    later only, when given)."""
    from ml_metadata.metadata_store import ListOptions

    options = ListOptions(filter_query=f"create_time_since_epoch >= {since}") if since else None
    out = {}
    prefix = f"{pipeline}."
    for ctx in store.get_contexts_by_type("node"):
        if ctx.name.startswith(prefix):
            for execution in store.get_executions_by_context(ctx.id, list_options=options):
                out[execution.id] = ctx.name[len(prefix) :]
    return out


def list_runs(store: Any, pipeline: str, limit: int | None = None) -> list[Run]:
    """Runs of ``pipeline``, newest first (at most ``limit``), with each node's state and time,
    and what the runners wrote on their executions (metrics, pushed version, seeds). Reads only
    the newest runs' executions, so its time does not grow with the history."""
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        return []
    contexts = sorted(
        store.get_contexts_by_type("pipeline_run"),
        key=lambda c: (c.create_time_since_epoch, c.id),
        reverse=True,
    )
    runs: list[Run] = []
    batch = limit or len(contexts) or 1
    for start in range(0, len(contexts), batch):
        chunk = contexts[start : start + batch]
        found = {c.name: store.get_executions_by_context(c.id) for c in chunk}
        times = [e.create_time_since_epoch for es in found.values() for e in es]
        node_of = node_of_executions(store, pipeline, min(times) if times else None)
        for run_ctx in chunk:
            executions = [e for e in found[run_ctx.name] if e.id in node_of]
            if executions and (limit is None or len(runs) < limit):
                runs.append(_run(run_ctx.name, executions, node_of))
        if limit is not None and len(runs) >= limit:
            break
    return sorted(runs, key=lambda r: r.started, reverse=True)


def run_by_id(store: Any, pipeline: str, run_id: str) -> Run | None:
    """Run ``run_id`` of ``pipeline``; None when it has no execution of the pipeline."""
    context = store.get_context_by_type_and_name("pipeline_run", run_id)
    if context is None:
        return None
    executions = store.get_executions_by_context(context.id)
    if not executions:
        return None
    since = min(e.create_time_since_epoch for e in executions)
    node_of = node_of_executions(store, pipeline, since)
    executions = [e for e in executions if e.id in node_of]
    return _run(run_id, executions, node_of) if executions else None


def _run(run_id: str, executions: list[Any], node_of: dict[int, str]) -> Run:
    import json

    from tfxd.mlmd.records import BAD_ROWS, INPUT_PROFILE, METRICS, PUSHED, SEEDS

    nodes = []
    metrics: dict[str, float] = {}
    seeds: dict[str, int] = {}
    bad_rows: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    pushed = ""
    for e in sorted(executions, key=lambda e: e.create_time_since_epoch):
        props = e.custom_properties
        abandoned = props.get("tfxd_abandoned")
        state = STATE.get(e.last_known_state, "unknown")
        nodes.append(
            NodeRun(
                node=node_of[e.id],
                state=state,
                seconds=(e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000,
                execution_id=e.id,
                abandoned=abandoned.string_value if abandoned else "",
            )
        )
        if METRICS in props:
            metrics.update(json.loads(props[METRICS].string_value))
        if SEEDS in props:
            seeds.update(json.loads(props[SEEDS].string_value))
        if PUSHED in props and state == "complete":
            pushed = props[PUSHED].string_value
        if BAD_ROWS in props:
            bad_rows[node_of[e.id]] = json.loads(props[BAD_ROWS].string_value)
        if INPUT_PROFILE in props:
            inputs[node_of[e.id]] = json.loads(props[INPUT_PROFILE].string_value)
    start = min(e.create_time_since_epoch for e in executions)
    end = max(e.last_update_time_since_epoch for e in executions)
    states = {n.state for n in nodes}
    if "failed" in states:
        status = "interrupted" if any(n.abandoned for n in nodes) else "failed"
    elif states & {"running", "new"}:
        status = "running"
    else:
        status = "succeeded"
    return Run(
        run_id=run_id,
        started=dt.datetime.fromtimestamp(start / 1000),
        seconds=(end - start) / 1000,
        status=status,
        nodes=nodes,
        metrics=metrics,
        pushed=pushed,
        seeds=seeds,
        bad_rows=bad_rows,
        inputs=inputs,
    )
