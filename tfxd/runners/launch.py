"""One run protocol for every runner: prepare, run, finish.

*Prepare* pins the span once (``--span`` checked, or the newest file span) and computes each
node's plan key once (``plan.node_keys``: the input files are listed and hashed here, and the
ExampleGen's driver finds their digests already known, ``components.fingerprints``). *Run* is the
cached shortcut (every node's key matches an earlier execution: the run is recorded in ML Metadata
without TFX, TensorFlow or Beam) or a launch, with TFX's cache turned off for the nodes whose own
key changed (:func:`cache_off`, the one place that does it). *Finish* writes on each execution its
key and what the run record reads (:func:`finish_node`).

``tfxd run``, ``dev``, ``watch`` and ``reproduce`` run through ``local.run_pipeline``, which
prepares, tries :func:`cached_run` and otherwise launches; the Airflow task (one node) and
``run-spec`` (a compiled spec's tasks) call :func:`prepare`, :func:`start`, :func:`cache_off`
and :func:`finish_node`; ``tfxd plan`` prints what :meth:`Prepared.predict` says.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from tfxd.errors import MetadataError
from tfxd.infra.fingerprints import Digests, one_run
from tfxd.pipelines.pipeline import Pipeline
from tfxd.pipelines.spans import newest_file_span, pinnable
from tfxd.runners import beam_mode
from tfxd.runners.beam_mode import BeamChoice
from tfxd.runners.plan import (
    CACHED,
    COMPLETE,
    NEW,
    RUNNING,
    Plan,
    earlier,
    key_of,
    must_run,
    node_keys,
    plan,
    record_cached_run,
    reused_keys,
    write_key,
)
from tfxd.runners.recording import annotate, start_record

ABANDONED = "tfxd_abandoned"  # execution custom property: why a repaired execution FAILED
Keys = dict[str, dict[str, Any] | None]


@dataclass
class Prepared:
    """What every runner needs before it launches a node: the pinned span and the plan keys."""

    pipe: Pipeline
    runner: str  # local | airflow | run-spec: what the run record names
    span: int | None
    keys: Keys
    skipped: tuple[str, ...] = ()  # nodes a partial run reuses the latest outputs of
    digests: Digests = field(default_factory=dict)  # the input files the keys hashed
    beam: BeamChoice = field(default_factory=lambda: BeamChoice("in_memory", 1, "", ()))

    def predict(self, store: Any | None) -> Plan:
        """What a full run does, node by node, against ``store``'s history (None: none yet).

        A baseline that changed only because the version now serving was pushed from the very
        model this run's candidate is (the run before pushed it) needs no evaluation: the
        candidate against itself is known. Such a node keeps the key of its last execution, so
        that it and what depends on it only through it are cached (the plan says why)."""
        history = earlier(store, self.pipe.name) if store is not None else {}
        predicted = plan(self.pipe, history, self.keys)
        if predicted.all_cached or store is None:
            return predicted
        known = baseline_is_candidate(store, self.pipe, predicted, history)
        if not known:
            return predicted
        with one_run(self.digests):
            keys = node_keys(self.pipe, self.span, {n: key for n, (key, _) in known.items()})
        settled = plan(self.pipe, history, keys)
        if not settled.all_cached:
            return predicted  # something else runs: the launch judges the baseline anew
        for step in settled.nodes:
            if step.node in known:
                step.known = step.reason = known[step.node][1]
        return settled


def baseline_is_candidate(
    store: Any, pipe: Pipeline, predicted: Plan, history: dict[str, list[Any]]
) -> dict[str, tuple[dict[str, Any], str]]:
    """The nodes that run only because the serving version changed (a BaselineModel) while
    that version was pushed from the model that a node reading them takes as its candidate,
    served from the cache: node → (the key of its last execution, why it is known)."""
    steps = {s.node: s for s in predicted.nodes}
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for node_id in pipe.order:
        step, past = steps[node_id], history.get(node_id) or []
        serving = ((step.key or {}).get("inputs") or {}).get("serving")
        if step.action != "run" or not serving or not past:
            continue
        before = key_of(past[0])
        if _without_serving(before) != _without_serving(step.key or {}):
            continue
        source = _pushed_from(serving)
        for reader, candidate in _candidates(pipe, node_id):
            up, output = candidate
            reused = steps[up].reuses if steps[up].action == "cached" else None
            uri = _output_uri(store, reused, output) if reused is not None else None
            if uri and source and (source == uri or source.startswith(uri.rstrip("/") + "/")):
                version = os.path.basename(serving.rstrip("/"))
                out[node_id] = (
                    before,
                    f"serving version {version} is {up}'s model, {reader}'s candidate: "
                    f"its evaluation against itself is known (as execution {past[0].id})",
                )
                break
    return out


def _without_serving(key: dict[str, Any]) -> dict[str, Any]:
    inputs = {k: v for k, v in (key.get("inputs") or {}).items() if k != "serving"}
    return {**key, "inputs": inputs}


def _pushed_from(version_folder: str) -> str:
    """The model a version was pushed from, as its manifest records it ("" when unknown)."""
    try:
        with open(os.path.join(version_folder, "manifest.json"), encoding="utf-8") as handle:
            return str(json.load(handle).get("source_model") or "")
    except (OSError, ValueError):
        return ""


def _candidates(pipe: Pipeline, node_id: str) -> list[tuple[str, tuple[str, str]]]:
    """(reader, its other Model input's (node, output)) for each node reading ``node_id``."""
    out = []
    for reader in pipe.order:
        node = pipe.nodes[reader]
        types = {name: kind for name, (kind, _) in node.type.inputs().items()}
        if not any(up == node_id for up, _ in node.inputs.values()):
            continue
        for name, (up, output) in sorted(node.inputs.items()):
            if up != node_id and types.get(name) == "Model":
                out.append((reader, (up, output)))
    return out


def _output_uri(store: Any, execution: Any, output: str) -> str | None:
    """The URI of ``execution``'s output artifact under the key ``output``."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    events = [
        e
        for e in store.get_events_by_execution_ids([execution.id])
        if e.type == mlmd.Event.OUTPUT and e.path.steps and e.path.steps[0].key == output
    ]
    if not events:
        return None
    [artifact] = store.get_artifacts_by_id([events[0].artifact_id])
    return artifact.uri


def pin_span(pipe: Pipeline, span: int | None) -> int | None:
    """The span a run reads: ``span`` (checked to be pinnable) or the newest file span (None for
    queries and streams, which a run resolves by itself)."""
    if span is not None:
        pinnable(pipe)
        return span
    return newest_file_span(pipe)


def open_history(pipe: Pipeline, *, writable: bool = False) -> Any | None:
    """The pipeline's ML Metadata store; None before a first local run made its SQLite file. A
    MySQL server that is down or refuses the login is an error now, before anything runs."""
    from tfxd.mlmd.store import connection_config, open_store

    try:
        connection_config(pipe.loaded)  # refuses a SQLite file that is not there yet
    except MetadataError:
        if pipe.file.body.metadata.mysql is not None:
            raise  # its credentials are not exported
        return None
    return open_store(pipe.loaded, readonly=not writable)


def prepare(
    pipe: Pipeline,
    runner: str,
    store: Any | None,
    *,
    span: int | None = None,
    pinned: bool = False,
    skipped: Iterable[str] = (),
    beam_args: Sequence[str] = (),
) -> Prepared:
    """Pin the span (unless ``pinned``: ``span`` is the pinned one) and compute the plan keys; a
    skipped node's key is the one recorded with the outputs the partial run reuses. The Beam mode
    follows the size of the input files the keys hashed (``beam_mode``); ``beam_args``: the
    run's own (``--beam-arg``)."""
    span = span if pinned else pin_span(pipe, span)
    skipped = tuple(skipped)
    reused = reused_keys(store, pipe.name, list(skipped)) if skipped and store is not None else {}
    with one_run() as digests:
        keys = node_keys(pipe, span, reused or None)
    beam = beam_mode.choose(pipe, beam_mode.input_bytes(digests), beam_args)
    return Prepared(pipe, runner, span, keys, skipped, digests, beam)


def partial_skips(pipe: Pipeline, from_nodes: list[str], only_nodes: list[str]) -> list[str]:
    """The nodes a partial run (``--from`` / ``--only``) does not run, as TFX's
    ``partial_run_utils.mark_pipeline`` marks them: all but the nodes downstream of the first
    (inclusive) and, with ``--only``, upstream of the last (inclusive)."""
    if not (from_nodes or only_nodes):
        return []
    downstream = {n: {m for m in pipe.order if n in pipe.nodes[m].upstream} for n in pipe.order}

    def closure(start: list[str], edges: dict[str, set[str]]) -> set[str]:
        seen, todo = set(start), list(start)
        while todo:
            for nxt in edges[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    runs = closure(from_nodes or only_nodes, downstream)
    if only_nodes:
        upstream = {n: set(pipe.nodes[n].upstream) for n in pipe.order}
        runs &= closure(only_nodes, upstream)
    return [n for n in pipe.order if n not in runs]


def cache_off(ir: Any, nodes: Iterable[str]) -> None:
    """Turn TFX's cache off in ``ir`` for ``nodes``: those never cached on this runner, and those
    whose own plan key changed (TFX's key misses what a module file imports)."""
    wanted = set(nodes)
    for node in ir.nodes:
        if node.pipeline_node.node_info.id in wanted:
            node.pipeline_node.execution_options.caching_options.enable_cache = False


def changed_nodes(store: Any, prepared: Prepared, nodes: Iterable[str] | None = None) -> set[str]:
    """Of ``nodes`` (default all), those whose own key matches no earlier successful execution."""
    keys = prepared.keys if nodes is None else {n: prepared.keys[n] for n in nodes}
    return must_run(earlier(store, prepared.pipe.name), keys)


def start(
    store: Any,
    prepared: Prepared,
    run_id: str,
    root: str,
    seeds: dict[str, int] | None = None,
    reproduces: str = "",
) -> None:
    """Write the run's record (once per run: an Airflow run's first task does) from the keys."""
    pipe = prepared.pipe
    start_record(
        store,
        pipe,
        run_id,
        prepared.span,
        prepared.runner,
        prepared.keys,
        root,
        seeds,
        reproduces,
        beam=prepared.beam.describe() if prepared.runner == "local" else "",
    )


def finish_node(
    store: Any, prepared: Prepared, node_id: str, execution_id: int, *, key: bool = True
) -> Any:
    """Write on a finished execution its plan key (done or cached) and what the run record reads
    (metrics, pushed version, bad rows, seeds); returns the execution."""
    [execution] = store.get_executions_by_id([execution_id])
    if key and execution.last_known_state in (COMPLETE, CACHED):
        write_key(store, execution_id, prepared.keys.get(node_id))
    annotate(store, execution_id, prepared.pipe.nodes[node_id].type.runs.evaluation)
    return execution


def unfinished(store: Any, pipeline: str) -> bool:
    """Whether an execution of the pipeline was left running (a killed run to repair)."""
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        return False
    executions = store.get_executions_by_context(context.id)
    return any(e.last_known_state in (NEW, RUNNING) for e in executions)


def repair_abandoned(
    connection_config: Any,
    pipeline_name: str,
    run_id: str,
    *,
    node_id: str | None = None,
    in_run: str | None = None,
    root: str | None = None,
) -> int:
    """Mark executions left RUNNING by a killed process as FAILED; returns how many. With
    ``root`` (the pipeline root, TFX's output layout under it), their partial outputs go too.

    The caller must know nothing else runs them: the local runner holds the pipeline lock (all
    of the pipeline's executions), an Airflow task attempt owns its node in its DAG run
    (``node_id`` and ``in_run``), ``run-spec`` holds its run's lock (``in_run``)."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    store = metadata_store.MetadataStore(connection_config)
    scope = [("pipeline", pipeline_name)]
    if node_id is not None:
        scope.append(("node", f"{pipeline_name}.{node_id}"))
    if in_run is not None:
        scope.append(("pipeline_run", in_run))
    ids: set[int] | None = None
    for kind, name in scope:
        context = store.get_context_by_type_and_name(kind, name)
        if context is None:
            return 0
        found = {e.id for e in store.get_executions_by_context(context.id)}
        ids = found if ids is None else ids & found
    stale = [
        e
        for e in store.get_executions_by_id(sorted(ids or []))
        if e.last_known_state in (NEW, RUNNING)
    ]
    for execution in stale:
        execution.last_known_state = mlmd.Execution.FAILED
        execution.custom_properties[
            ABANDONED
        ].string_value = f"process ended before the execution finished; repaired by run {run_id}"
    if stale:
        store.put_executions(stale)
    for folder in partial_outputs(store, root, stale) if root else []:
        shutil.rmtree(folder, ignore_errors=True)
    return len(stale)


def partial_outputs(store: Any, root: str, executions: list[Any]) -> list[Path]:
    """The folders unfinished ``executions`` wrote under ``root`` as TFX lays them out
    (``<node>/<output key>/<execution id>``, and the executor's ``.system`` scratch), none of
    them an artifact MLMD knows (TFX registers outputs when an execution succeeds)."""
    out = []
    for execution in executions:
        contexts = store.get_contexts_by_execution(execution.id)
        for node in [c.name.split(".", 1)[-1] for c in contexts if c.type == "node"]:
            folder = Path(root) / node
            found = [*folder.glob(f"*/{execution.id}"), *folder.glob(f".system/*/{execution.id}")]
            out += [p for p in found if p.is_dir() and not store.get_artifacts_by_uri(str(p))]
    return out


def cached_run(store: Any, prepared: Prepared, console: Console) -> Any:
    """The run recorded without TFX when every node would come from the cache; None when
    something would run, or a killed run left an execution to repair."""
    from tfxd.mlmd.records import write_record
    from tfxd.runners.locks import pipeline_lock
    from tfxd.runners.progress import RunOutcome, StepResult, report, summary
    from tfxd.runners.recording import compose

    pipe = prepared.pipe
    with pipeline_lock(pipe.root, pipe.name):
        if unfinished(store, pipe.name):
            return None
        predicted = prepared.predict(store)
        if not predicted.all_cached:
            return None
        run_id = dt.datetime.now().isoformat(timespec="microseconds")
        write_record(store, compose(pipe, run_id, prepared.span, "local", predicted.keys))
        record_cached_run(store, pipe.name, run_id, predicted.nodes)
    outcome = RunOutcome(pipeline=pipe.name, run_id=run_id)
    console.print(f"[bold]{pipe.name}[/] run {run_id}  (root {pipe.root})")
    for step in predicted.nodes:
        report(console, outcome, StepResult(step.node, "cached"), escape(step.known))
    summary(console, outcome)
    return outcome
