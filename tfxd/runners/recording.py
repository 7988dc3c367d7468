"""What the runners record of a run (see ``tfxd.mlmd.records``): the run record when it starts,
and on each execution when its node ends, the metrics, pushed version and seeds."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from tfxd.mlmd.records import (
    BAD_ROWS,
    INPUT_PROFILE,
    METRICS,
    PUSHED,
    SEEDS,
    RunRecord,
    has_record,
    write_record,
)
from tfxd.pipelines.code import module_sources
from tfxd.pipelines.pipeline import Pipeline
from tfxd.seeds import SEEDS_ENV, read_seeds

UNRECORDED = "unrecorded"  # a node input whose content a run cannot record (remote, a stream)


@cache
def installed_packages() -> dict[str, str]:
    """Name → version of every installed distribution."""
    from importlib import metadata

    out = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            out[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(out.items()))


def compose(
    pipe: Pipeline,
    run_id: str,
    span: int | None,
    runner: str,
    keys: dict[str, dict[str, Any] | None],
    reproduces: str = "",
    beam: str = "",
) -> RunRecord:
    """The record of a run of ``pipe``; ``keys``: the plan keys (``plan.node_keys``), whose
    ``inputs`` are the fingerprints of what each node reads besides upstream artifacts."""
    data = pipe.loaded.doc.text.encode()
    nodes: dict[str, dict[str, Any]] = {}
    modules: dict[str, dict[str, dict[str, str]]] = {}
    for node_id in pipe.order:
        node = pipe.nodes[node_id]
        entry: dict[str, Any] = {
            "type": node.type.name,
            "params": node.params.model_dump(mode="json"),
        }
        key = keys.get(node_id)
        if node.type.spans.read == "stream":
            entry["inputs"] = {UNRECORDED: "a stream: what a run drains is acknowledged and gone"}
        elif node.type.runs.cache_inputs is not None:
            found = (key or {}).get("inputs")
            entry["inputs"] = (
                found if found is not None else {UNRECORDED: "not readable before the run"}
            )
        module = getattr(node.params, "module_file", None)
        if isinstance(module, str) and module and "://" not in module:
            entry["module"] = module
            if module not in modules:
                modules[module] = module_sources(pipe.loaded.resolve(module), pipe.loaded.folder)
        nodes[node_id] = entry
    return RunRecord(
        pipeline=pipe.name,
        run_id=run_id,
        runner=runner,
        file={
            "path": str(pipe.loaded.path),
            "sha256": hashlib.sha256(data).hexdigest(),
            "text": data.decode("utf-8", errors="replace"),
        },
        parameters=dict(sorted(pipe.parameters.items())),
        span=span,
        nodes=nodes,
        modules=modules,
        packages=installed_packages(),
        started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        reproduces=reproduces,
        beam=beam,
    )


def seeds_file(root: str, run_id: str) -> Path:
    return Path(root) / ".seeds" / f"{run_id.replace(':', '-')}.json"


def start_record(
    store: Any,
    pipe: Pipeline,
    run_id: str,
    span: int | None,
    runner: str,
    keys: Any,
    root: str,
    seeds: dict[str, int] | None = None,
    reproduces: str = "",
    beam: str = "",
) -> None:
    """Write the run's record, unless an earlier task of the run did (Airflow), and point
    ``tfxd.seeds`` at the run's seeds file (inherited by executors, their workers and their child
    processes); ``seeds``: what it starts with (a reproduction's recorded seeds)."""
    if not has_record(store, pipe.name, run_id):
        write_record(store, compose(pipe, run_id, span, runner, keys, reproduces, beam))
    path = seeds_file(root, run_id)
    if seeds:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(seeds, sort_keys=True), encoding="utf-8")
    os.environ[SEEDS_ENV] = str(path)


def annotate(store: Any, execution_id: int, evaluation: str | None) -> None:
    """Write on a finished execution what its run record reads: the overall metrics of the
    evaluation its node outputs under ``evaluation`` (its type's), the version a pusher pushed,
    the rows an ExampleGen set aside, a Trainer's input profile, the seeds the run's modules
    asked for so far."""
    [execution] = store.get_executions_by_id([execution_id])
    changed = False
    outputs = _outputs(store, execution_id)
    if evaluation and evaluation in outputs:
        # A Kubeflow task writes them on its evaluation (``kfp_entrypoint``): no TFMA here then.
        written = outputs[evaluation].custom_properties.get(METRICS)
        metrics = (
            json.loads(written.string_value)
            if written is not None
            else overall_metrics(outputs[evaluation].uri)
        )
        if metrics:
            execution.custom_properties[METRICS].string_value = json.dumps(metrics, sort_keys=True)
            changed = True
    for artifact in outputs.values():
        props = artifact.custom_properties
        if "pushed_version" in props and props["pushed"].int_value == 1:
            execution.custom_properties[PUSHED].string_value = props["pushed_version"].string_value
            changed = True
        if props.get(BAD_ROWS) is not None and props[BAD_ROWS].int_value > 0:
            bad = props[BAD_ROWS].int_value
            good = props["tfxd_rows"].int_value if "tfxd_rows" in props else 0
            found = props.get("tfxd_bad_rows_file")
            where = {"file": found.string_value} if found is not None else {}
            text = json.dumps({"rows": bad, "of": bad + good, **where}, sort_keys=True)
            execution.custom_properties[BAD_ROWS].string_value = text
            changed = True
        if INPUT_PROFILE in props:
            execution.custom_properties[INPUT_PROFILE].string_value = props[
                INPUT_PROFILE
            ].string_value
            changed = True
    seeds = read_seeds(os.environ.get(SEEDS_ENV, ""))
    if seeds:
        execution.custom_properties[SEEDS].string_value = json.dumps(seeds, sort_keys=True)
        changed = True
    if changed:
        store.put_executions([execution])


def output_notes(store: Any, execution_id: int) -> list[str]:
    """What an execution's outputs say a person should know: why a pusher pushed nothing, the
    rows an ExampleGen set aside, a baseline the Evaluator could not compare."""
    from tfxd.infra.versions import NOT_PUSHED

    notes = []
    for artifact in _outputs(store, execution_id).values():
        props = artifact.custom_properties
        if NOT_PUSHED in props:
            notes.append(f"not pushed: {props[NOT_PUSHED].string_value}")
        if props.get(BAD_ROWS) is not None and props[BAD_ROWS].int_value > 0:
            found = props.get("tfxd_bad_rows_file")
            where = f": {found.string_value}" if found is not None else ""
            notes.append(f"{props[BAD_ROWS].int_value} bad row(s) set aside{where}")
        if "tfxd_baseline_not_comparable" in props:
            why = props["tfxd_baseline_not_comparable"].string_value
            notes.append(f"baseline not comparable (judged without it): {why}")
    return notes


def _outputs(store: Any, execution_id: int) -> dict[str, Any]:
    """Output key → the execution's (first) output artifact under it."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    events = [
        e for e in store.get_events_by_execution_ids([execution_id]) if e.type == mlmd.Event.OUTPUT
    ]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    out = {}
    for event in events:
        key = event.path.steps[0].key if event.path.steps else ""
        out.setdefault(key, artifacts[event.artifact_id])
    return out


def overall_metrics(uri: str) -> dict[str, float]:
    """The candidate model's metrics on the overall slice of a TFMA evaluation at ``uri``."""
    try:
        import tensorflow_model_analysis as tfma

        results = list(tfma.load_metrics(uri))
    except Exception:  # an evaluation without metrics (or unreadable): nothing to record
        return {}
    out: dict[str, float] = {}
    for result in results:
        if result.slice_key.single_slice_keys:
            continue
        for item in result.metric_keys_and_values:
            key, value = item.key, item.value
            if key.is_diff or key.model_name not in ("", "candidate"):
                continue
            if not value.HasField("double_value"):
                continue
            name = key.name
            if key.HasField("sub_key"):
                sub = key.sub_key
                for part in ("class_id", "k", "top_k"):
                    if sub.HasField(part):
                        name += f"/{part}={getattr(sub, part).value}"
            out[name] = value.double_value.value
    return dict(sorted(out.items()))
