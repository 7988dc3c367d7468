"""``tfxd plan``: which nodes a local run executes and which the cache serves, and why.

Each node's *plan key* is what its cached result depends on, as TFX's cache key sees it, computed
without importing TFX: its type and parameters (parameters substituted), its module file and the
local modules it imports (``pipelines.code``; TFX's own key hashes only the module file's text, so
the runners make TFX run a node whose own key changed: ``must_run``), what its type declares
beyond them (``ComponentType.runs.cache_inputs``: the content of the files an ExampleGen reads, as
its driver fingerprints them; the serving version a BaselineModel copies), which upstream result
each input takes (the upstream node's key, standing for the artifact ids in TFX's key; for a node a
partial run skips, the key recorded with the outputs it reuses) and, through the order of the walk,
whether an upstream node runs (new input artifacts). The local runner writes the key on every
execution it finishes (``tfxd_plan_key``); a node is cached when an earlier successful execution of
it has the same key and no upstream node runs. Where nothing in the pipeline runs, ``tfxd run``
records the run from these keys alone (:func:`record_cached_run`), without TensorFlow or Beam. The
runners reach all of this through one protocol, ``runners.launch``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from tfxd.file import is_uri
from tfxd.file.changes import keyed_changes
from tfxd.infra.fingerprints import input_changes
from tfxd.pipelines.code import source_digests
from tfxd.pipelines.pipeline import Pipeline

PLAN_KEY = "tfxd_plan_key"  # execution custom property: the node's key when it ran or was cached
CACHED_FROM = "tfxd_cached_from"  # execution custom property: the execution a recorded one reuses
# ml_metadata's Execution.State values: unfinished, and successful
NEW, RUNNING, COMPLETE, CACHED = 1, 2, 3, 5


@dataclass
class NodePlan:
    node: str
    action: Literal["run", "cached", "unknown"]
    reason: str = ""
    key: dict[str, Any] | None = None
    reuses: Any = None  # the earlier execution a cached node's outputs come from
    known: str = ""  # why a node that changed needs no run (a baseline that is the candidate)


@dataclass
class Plan:
    nodes: list[NodePlan] = field(default_factory=list)
    keys: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # what it judged by

    @property
    def all_cached(self) -> bool:
        return bool(self.nodes) and all(n.action == "cached" for n in self.nodes)

    def lines(self, columns: int | None = None) -> list[str]:
        """A line per node (its reason wrapped between words to ``columns``; None: unwrapped)."""
        import textwrap

        width = max((len(n.node) for n in self.nodes), default=4) + 2
        out = []
        for n in self.nodes:
            head = f"{n.node:<{width}}{n.action:<8}"
            room = None if columns is None else max(columns - len(head), 20)
            reason = textwrap.wrap(n.reason, room, break_long_words=False) if room else []
            reason = reason or [n.reason]
            out.append((head + reason[0]).rstrip())
            out += [" " * len(head) + more for more in reason[1:]]
        return out


def module_digests(pipe: Pipeline, module_file: str) -> dict[str, str]:
    """sha256 of the module file and of each local module it imports (``pipelines.code``); none
    of a module at a URI, which only the run reads."""
    if is_uri(module_file):
        return {}
    return source_digests(pipe.loaded.resolve(module_file), pipe.loaded.folder)


def node_keys(
    pipe: Pipeline, span: int | None, fixed: dict[str, dict[str, Any] | None] | None = None
) -> dict[str, dict[str, Any] | None]:
    """Each node's plan key; None for a node never cached on local runs (a stream drain) or
    whose extra inputs only the run can tell. ``fixed``: the keys of nodes a partial run skips,
    whose latest outputs it reuses (the keys recorded with them)."""
    keys: dict[str, dict[str, Any] | None] = {}
    for node_id in pipe.order:
        node = pipe.nodes[node_id]
        if fixed is not None and node_id in fixed:
            keys[node_id] = fixed[node_id]
            continue
        if "local" in node.type.runs.uncached_on:
            keys[node_id] = None
            continue
        key: dict[str, Any] = {
            "type": node.type.name,
            "params": node.params.model_dump(mode="json"),
            # Which upstream result each input takes: an upstream node served from the cache by
            # another earlier execution (another serving version, say) hands over other artifacts.
            "upstream": {
                name: [up, output, _digest(keys.get(up))]
                for name, (up, output) in sorted(node.inputs.items())
            },
        }
        module = getattr(node.params, "module_file", None)
        if isinstance(module, str) and module:
            key["module"] = module_digests(pipe, module)
        if node.type.runs.cache_inputs is not None:
            try:
                extra = node.type.runs.cache_inputs(node.params, pipe.loaded.location, span)
            except Exception:  # a key is advice: the run reports what it cannot read
                extra = None
            if extra is None:
                keys[node_id] = None
                continue
            key["inputs"] = extra
        keys[node_id] = key
    return keys


def _digest(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def earlier(store: Any, pipeline: str) -> dict[str, list[Any]]:
    """Each node's successful executions that recorded a plan key, newest first."""
    out: dict[str, list[Any]] = {}
    for context in store.get_contexts_by_type("node"):
        if not context.name.startswith(pipeline + "."):
            continue
        node_id = context.name[len(pipeline) + 1 :]
        executions = [
            e
            for e in store.get_executions_by_context(context.id)
            if e.last_known_state in (COMPLETE, CACHED) and PLAN_KEY in e.custom_properties
        ]
        out[node_id] = sorted(executions, key=lambda e: -e.id)
    return out


def must_run(history: dict[str, list[Any]], keys: dict[str, dict[str, Any] | None]) -> set[str]:
    """The nodes whose own key matches no earlier successful execution in ``history``
    (:func:`earlier`; a parameter, the code, an input changed): the runners turn TFX's cache off
    for them, since TFX's own key misses what a module file imports."""
    return {
        node
        for node, key in keys.items()
        if key is not None and _same(history.get(node, []), key) is None
    }


def plan(
    pipe: Pipeline, history: dict[str, list[Any]], keys: dict[str, dict[str, Any] | None]
) -> Plan:
    """What a full local run of ``pipe`` does, node by node, given its ``keys``
    (:func:`node_keys`) and the earlier executions in ``history`` (:func:`earlier`)."""
    result, running = Plan(keys=keys), set()
    for node_id in pipe.order:
        node, key = pipe.nodes[node_id], keys[node_id]
        upstream = sorted({u for u, _ in node.inputs.values()} & running)
        past = history.get(node_id, [])
        if key is None:
            why = (
                "never cached here"
                if "local" in node.type.runs.uncached_on
                else "only the run can tell"
            )
            step = NodePlan(
                node_id, "run" if "local" in node.type.runs.uncached_on else "unknown", why
            )
        elif upstream:
            step = NodePlan(node_id, "run", f"upstream {', '.join(upstream)} runs", key)
        elif (match := _same(past, key)) is not None:
            step = NodePlan(node_id, "cached", f"as execution {match.id}", key, match)
        elif not past:
            step = NodePlan(node_id, "run", "no earlier execution", key)
        else:
            step = NodePlan(node_id, "run", _changed(key_of(past[0]), key), key)
        if step.action != "cached":
            running.add(node_id)
        result.nodes.append(step)
    return result


def key_of(execution: Any) -> dict[str, Any]:
    """The plan key recorded on an execution."""
    return json.loads(execution.custom_properties[PLAN_KEY].string_value)


def reused_keys(store: Any, pipeline: str, skipped: list[str]) -> dict[str, dict[str, Any] | None]:
    """The keys of the latest outputs a partial run reuses for the nodes it skips."""
    history = earlier(store, pipeline)
    return {n: key_of(history[n][0]) if history.get(n) else None for n in skipped}


def _same(past: Iterable[Any], key: dict[str, Any]) -> Any:
    text = json.dumps(key, sort_keys=True)
    for execution in past:
        if execution.custom_properties[PLAN_KEY].string_value == text:
            return execution
    return None


def _changed(before: dict[str, Any], now: dict[str, Any]) -> str:
    """What differs between an earlier key and this one, in the user's words."""
    reasons = []
    old, new = before.get("params", {}), now.get("params", {})
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            reasons.append(f"{name}: {_short(old.get(name))} → {_short(new.get(name))}")
    imports = {"added": "now imported", "removed": "no longer imported", "changed": "changed"}
    for name, how in keyed_changes(before.get("module", {}), now.get("module", {})):
        reasons.append(f"{name} {imports[how]}")
    old_up, new_up = before.get("upstream", {}), now.get("upstream", {})
    for name in sorted(set(old_up) | set(new_up)):
        if old_up.get(name) != new_up.get(name) and name in new_up:
            up, output, _ = new_up[name]
            reasons.append(f"input {name}: another result of {up}.{output}")
    changes = input_changes(before.get("inputs") or {}, now.get("inputs") or {})
    files = [phrase for name, phrase in changes if name == "files"]
    reasons += [phrase for name, phrase in changes if name != "files"]
    if files:
        more = f" and {len(files) - 5} more" if len(files) > 5 else ""
        reasons.append("input files: " + ", ".join(files[:5]) + more)
    return "; ".join(reasons) or "its type changed"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "…"


def write_key(store: Any, execution_id: int, key: dict[str, Any] | None) -> None:
    """Record ``key`` on an execution the run finished (done or cached)."""
    if key is None:
        return
    [execution] = store.get_executions_by_id([execution_id])
    execution.custom_properties[PLAN_KEY].string_value = json.dumps(key, sort_keys=True)
    store.put_executions([execution])


def record_cached_run(store: Any, pipeline: str, run_id: str, steps: list[NodePlan]) -> None:
    """Record a run in which every node was served by the cache, as TFX records a cached
    execution: a new execution per node, state CACHED, with the earlier execution's inputs and
    outputs, in the pipeline's, the run's and the node's contexts."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    [run_type] = [t for t in store.get_context_types() if t.name == "pipeline_run"]
    run = mlmd.Context(type_id=run_type.id, name=run_id)
    [run_id_] = store.put_contexts([run])
    pipe_ctx = store.get_context_by_type_and_name("pipeline", pipeline)
    for step in steps:
        earlier_execution = step.reuses
        node_ctx = store.get_context_by_type_and_name("node", f"{pipeline}.{step.node}")
        execution = mlmd.Execution(type_id=earlier_execution.type_id)
        execution.last_known_state = mlmd.Execution.CACHED
        for name, value in earlier_execution.properties.items():
            execution.properties[name].CopyFrom(value)
        for name, value in earlier_execution.custom_properties.items():
            execution.custom_properties[name].CopyFrom(value)
        execution.custom_properties[CACHED_FROM].int_value = earlier_execution.id
        events = store.get_events_by_execution_ids([earlier_execution.id])
        artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
        pairs = []
        for event in events:
            copy = mlmd.Event(type=event.type)
            copy.path.CopyFrom(event.path)
            pairs.append((artifacts[event.artifact_id], copy))
        contexts = [c for c in (pipe_ctx, node_ctx) if c is not None]
        run_ctx = store.get_contexts_by_id([run_id_])
        store.put_execution(execution, pairs, [*contexts, *run_ctx])
