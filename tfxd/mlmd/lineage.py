"""Lineage, read from ML Metadata: an artifact, the execution that produced it, that execution's
inputs, back to the input files an ExampleGen read; the latest, pushed and serving models."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.tree import Tree

from tfxd.errors import MetadataError
from tfxd.mlmd.store import open_store
from tfxd.mlmd.views import STATE, find_pipeline_file, node_of_executions


@dataclass
class LineageNode:
    """An artifact, the execution that produced it, and that execution's inputs."""

    artifact_id: int
    type: str
    uri: str
    producer: str = ""  # node id
    execution_id: int | None = None
    state: str = ""
    inputs: list[LineageNode] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


REIMPORT = "tfxd_baseline"  # set on a Model that copies a served version (BaselineModel)


def latest_artifact(store: Any, pipeline: str, type_name: str) -> Any:
    """The pipeline's newest live artifact of ``type_name``; for models, the newest *trained*
    one (a re-import of a served version, as BaselineModel makes, is not a new model)."""
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        raise MetadataError(f"no runs of pipeline '{pipeline}' in ML Metadata")
    found = [
        a
        for a in store.get_artifacts_by_context(context.id)
        if a.type == type_name and a.state == a.LIVE and REIMPORT not in a.custom_properties
    ]
    if not found:
        raise MetadataError(f"pipeline '{pipeline}' has no {type_name} artifact yet")
    return max(found, key=lambda a: (a.create_time_since_epoch, a.id))


def pushed_model(store: Any, pipeline: str, version_folder: str) -> Any:
    """The Model artifact whose push made ``version_folder``: the PushedModel recording that
    destination, then the push execution's ``model`` input."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    context = store.get_context_by_type_and_name("pipeline", pipeline)
    pushes = [
        a
        for a in (store.get_artifacts_by_context(context.id) if context else [])
        if a.type == "PushedModel"
        and a.custom_properties.get("pushed_destination", mlmd.Value()).string_value
        == version_folder
    ]
    if not pushes:
        raise MetadataError(
            f"no push of pipeline '{pipeline}' in ML Metadata made {version_folder}: it was "
            "pushed by another pipeline or store, or by hand"
        )
    [made] = [
        e for e in store.get_events_by_artifact_ids([pushes[0].id]) if e.type == mlmd.Event.OUTPUT
    ]
    inputs = [
        e.artifact_id
        for e in store.get_events_by_execution_ids([made.execution_id])
        if e.type == mlmd.Event.INPUT and e.path.steps and e.path.steps[0].key == "model"
    ]
    if not inputs:
        raise MetadataError(f"the push that made {version_folder} records no model input")
    [model] = store.get_artifacts_by_id(inputs[:1])
    return model


def input_files(base: str, props: Any, examples: Any) -> list[str]:
    """The files under a local ``input_base`` that an ExampleGen read: its split patterns with
    the span of its Examples filled in (``span-{SPAN}/*`` → ``span-3/data.csv``)."""
    import json
    import re

    if not Path(base).is_dir():
        return []
    patterns = ["*"]
    if "input_config" in props:
        splits = json.loads(props["input_config"].string_value or "{}").get("splits", [])
        patterns = [split["pattern"] for split in splits if split.get("pattern")] or patterns
    custom = examples.custom_properties
    span = custom["span"].int_value if "span" in custom else 0

    def fill(match: re.Match) -> str:
        width = match.group(1)
        return str(span).zfill(int(width)) if width else str(span)

    found = {
        str(path.relative_to(base))
        for pattern in patterns
        for path in Path(base).glob(re.sub(r"\{SPAN(?::(\d+))?\}", fill, pattern))
        if path.is_file()
    }
    return sorted(found)


def trace(store: Any, pipeline: str, artifact: Any) -> LineageNode:
    """Walk from ``artifact`` back to the pipeline's inputs through OUTPUT and INPUT events."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    node_of = node_of_executions(store, pipeline)
    types = {t.id: t.name for t in store.get_artifact_types()}

    def visit(a: Any, seen: set[int]) -> LineageNode:
        out = LineageNode(artifact_id=a.id, type=types.get(a.type_id, a.type), uri=a.uri)
        producers = [
            e
            for e in store.get_events_by_artifact_ids([a.id])
            if e.type in (mlmd.Event.OUTPUT, mlmd.Event.DECLARED_OUTPUT)
        ]
        if not producers or a.id in seen:
            return out
        [execution] = store.get_executions_by_id([producers[0].execution_id])
        out.producer = node_of.get(execution.id, execution.type)
        out.execution_id = execution.id
        out.state = STATE.get(execution.last_known_state, "unknown")
        props = execution.custom_properties
        if "input_base" in props:
            base = props["input_base"].string_value
            out.details.append(f"input files: {base}")
            files = input_files(base, props, a)
            if files:
                out.details.append("  " + ", ".join(files[:10]) + (" …" if len(files) > 10 else ""))
            if "input_fingerprint" in props:
                out.details.append(f"fingerprint: {props['input_fingerprint'].string_value}")
        inputs = [
            e.artifact_id
            for e in store.get_events_by_execution_ids([execution.id])
            if e.type == mlmd.Event.INPUT
        ]
        for art in store.get_artifacts_by_id(sorted(set(inputs))):
            out.inputs.append(visit(art, seen | {a.id}))
        return out

    return visit(artifact, set())


def print_lineage(
    pipeline: str,
    *,
    model: str = "latest",
    spec_file: str | None = None,
    console: Console,
    checked: Any = None,
) -> LineageNode:
    """The lineage tree of a model; ``model="serving"`` needs the checked pipeline (``checked``)
    to know where its pusher serves."""
    loaded = find_pipeline_file(pipeline, spec_file)
    store = open_store(loaded)
    if model == "latest":
        artifact = latest_artifact(store, pipeline, "Model")
    elif model == "serving":
        artifact = serving_model(store, checked)
    else:
        try:
            [artifact] = store.get_artifacts_by_id([int(model)])
        except (ValueError, TypeError):
            raise MetadataError(
                f"--model {model}: give 'latest', 'serving' or an artifact id"
            ) from None
        except Exception:
            raise MetadataError(f"--model {model}: no artifact with that id") from None
    root = trace(store, pipeline, artifact)
    tree = Tree(_label(root))
    _grow(tree, root, set())
    console.print(tree)
    return root


def serving_model(store: Any, pipe: Any) -> Any:
    """The Model artifact behind the version that serves now (the checked pipeline's pusher)."""
    from tfxd.mlmd.models import destinations

    [dest, *_] = destinations(pipe)
    version = dest.serving()
    if version is None:
        raise MetadataError(f"nothing serves yet under {dest.model_dir} (no models.config)")
    return pushed_model(store, pipe.name, str(dest.model_dir / str(version)))


def _label(n: LineageNode) -> str:
    head = f"[bold]{n.type}[/] #{n.artifact_id} {n.uri}"
    if n.producer:
        head += f"  ← [cyan]{n.producer}[/] (execution {n.execution_id}, {n.state})"
    return head


def _grow(tree: Tree, node: LineageNode, shown: set[int]) -> None:
    for line in node.details:
        tree.add(f"[dim]{line}[/]")
    for child in node.inputs:
        if child.artifact_id in shown:
            tree.add(_label(child) + " [dim](shown above)[/]")
            continue
        shown.add(child.artifact_id)
        _grow(tree.add(_label(child)), child, shown)
