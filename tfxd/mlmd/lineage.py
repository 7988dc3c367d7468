"""Lineage, read from ML Metadata: an artifact, the execution that produced it, that execution's
inputs, back to the input files an ExampleGen read; the latest, pushed and serving models.

The tree reads at 80 columns: the folder every artifact lies under is named once above it and
each artifact's URI shown below its label relative to that folder, digests are cut to 12
characters and a path still too long for its line loses its middle (``…``), never wraps inside a
word; ``--wide`` shows everything whole."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from tfxd.errors import MetadataError
from tfxd.mlmd.store import open_store
from tfxd.mlmd.text import middle, slashed
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
    # The push itself: runs served from the cache record copies of its output events later.
    made = min(
        (
            e
            for e in store.get_events_by_artifact_ids([pushes[0].id])
            if e.type == mlmd.Event.OUTPUT
        ),
        key=lambda e: e.execution_id,
    )
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
    pipeline_file: str | None = None,
    console: Console,
    checked: Any = None,
    wide: bool = False,
) -> LineageNode:
    """The lineage tree of a model; ``model="serving"`` needs the checked pipeline (``checked``)
    to know where its pusher serves; ``wide``: every path and digest whole."""
    loaded = find_pipeline_file(pipeline, pipeline_file)
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
    show_tree(root, console, wide)
    return root


def show_tree(root: LineageNode, console: Console, wide: bool = False) -> None:
    """Print the tree under ``root`` to fit ``console``'s width (``wide``: everything whole)."""
    base = _common_folder(root)
    width = None if wide else console.width
    view = _View(base, width)
    tree = Tree(view.label(root, 0))
    view.grow(tree, root, set(), 1)
    saved = console.width
    if wide:
        console.width = 100_000
    try:
        if base:
            console.print("artifacts under", markup=False)
            for line in slashed(base + "/", width):
                console.print(line, markup=False, highlight=False)
        console.print(tree)
    finally:
        console.width = saved


def serving_model(store: Any, pipe: Any) -> Any:
    """The Model artifact behind the version that serves now (the checked pipeline's pusher)."""
    from tfxd.mlmd.models import destinations

    [dest, *_] = destinations(pipe)
    version = dest.serving()
    if version is None:
        raise MetadataError(f"nothing serves yet under {dest.model_dir} (no models.config)")
    return pushed_model(store, pipe.name, str(dest.model_dir / str(version)))


def _uris(node: LineageNode) -> list[str]:
    return [node.uri] + [u for child in node.inputs for u in _uris(child)]


def _common_folder(root: LineageNode) -> str:
    """The folder every local artifact of the tree lies under ("" when they share none)."""
    local = [u for u in _uris(root) if u and "://" not in u]
    if len(local) < 2:
        return ""
    common = os.path.commonpath(local)
    return "" if common in ("", "/") else common


def _fingerprint(text: str) -> list[str]:
    """TFX's ``input_fingerprint`` a line per split, its digests cut to 12 characters."""
    out = []
    for line in text.splitlines():
        fields = dict(f.partition(":")[::2] for f in line.split(","))
        split = fields.pop("split", "?")
        count = fields.pop("num_files", "?")
        rest = ", ".join(f"{k} {v[:12]}" for k, v in fields.items())
        out.append(f"{split}: {count} file(s), {rest}")
    return out


@dataclass
class _View:
    """How the tree is drawn: URIs relative to ``base``; lines fitted to ``width`` (None: whole)."""

    base: str
    width: int | None

    def fit(self, text: str, depth: int) -> str:
        if self.width is None:
            return text
        return middle(text, self.width - 4 * depth - 1)

    def uri(self, node: LineageNode) -> str:
        uri = node.uri
        if self.base and uri.startswith(self.base + "/"):
            uri = uri[len(self.base) + 1 :]
        return uri

    def label(self, n: LineageNode, depth: int) -> str:
        head = f"[bold]{n.type}[/] #{n.artifact_id}"
        if n.producer:
            head += f" ← [cyan]{n.producer}[/] (execution {n.execution_id}, {n.state})"
        return head + "\n[dim]" + escape(self.fit(self.uri(n), depth)) + "[/]"

    def details(self, node: LineageNode, depth: int) -> list[str]:
        out = []
        for line in node.details:
            kind, _, value = line.strip().partition(": ")
            if self.width is None:
                out.append(line.strip())
            elif kind == "fingerprint":
                out += [f"{kind} {f}" for f in _fingerprint(value)]
            elif kind == "input files":
                out.append(f"{kind}: {self.fit(value, depth + 3)}")
            else:  # the files read, ", "-separated: wrapped between names
                out.append(line.strip())
        return out

    def grow(self, tree: Tree, node: LineageNode, shown: set[int], depth: int) -> None:
        for line in self.details(node, depth):
            tree.add(f"[dim]{escape(line)}[/]")
        for child in node.inputs:
            if child.artifact_id in shown:
                tree.add(self.label(child, depth) + " [dim](shown above)[/]")
                continue
            shown.add(child.artifact_id)
            self.grow(tree.add(self.label(child, depth)), child, shown, depth + 1)
