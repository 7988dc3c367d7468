"""Load a pipeline file: parse, check structure, and collect every problem with its location."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tfxd.errors import PipelineFileError, Problem, TfxdError
from tfxd.file.models import PARAM_REF, Component, PipelineFile
from tfxd.file.problems import did_you_mean, pydantic_problems
from tfxd.file.uris import URI
from tfxd.file.yaml_loader import Document, Loc, load_document

SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)s?$",
    re.IGNORECASE,
)
SECRET_VALUE = [
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"://[^/\s:@]+:[^/\s@]+@"), "a URL with an embedded password"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"), "a Slack token"),
]
# Keys that hold references to secrets, never secret values.
REFERENCE_KEY = re.compile(r"(_env|_secret|_ref)$|^(secret|key)$", re.IGNORECASE)


@dataclass
class LoadedFile:
    """A parsed pipeline file. ``file`` is None when its structure is invalid; ``components`` holds
    every node that parsed on its own, so later checks can still report their problems."""

    file: PipelineFile | None
    doc: Document
    components: dict[str, Component] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # The graph, parsed once: node → input name → (upstream node, output), for every reference
    # that names another node of the file (the others are among ``problems``).
    edges: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    def checked(self) -> PipelineFile:
        """The pipeline file, or ``PipelineFileError`` with every problem found so far."""
        if self.problems or self.file is None:
            raise PipelineFileError(self.problems)
        return self.file

    @property
    def path(self) -> Path:
        return self.doc.path

    @property
    def folder(self) -> Path:
        return self.doc.path.parent

    def resolve(self, relative: str) -> Path:
        """A local path from the file, resolved against the file's folder (``location`` takes
        URIs too: a ``Path`` would fold ``s3://b/x`` into ``s3:/b/x``)."""
        if is_uri(relative):
            raise TfxdError(f"{self.path}: {relative} is a URI, where a local path is needed")
        return (self.folder / relative).resolve()

    def location(self, value: str) -> str:
        """Where a path of the file points: a URI as it is, a local path against its folder."""
        return value if is_uri(value) else str(self.resolve(value))


def is_uri(value: str) -> bool:
    return bool(URI.match(value))


def load(path: str | Path, text: str | None = None) -> LoadedFile:
    """Load and check ``path``; raise ``PipelineFileError`` listing every problem found."""
    loaded = load_partial(path, text)
    loaded.checked()
    return loaded


def load_partial(path: str | Path, text: str | None = None) -> LoadedFile:
    """Load ``path`` and collect its problems without raising (unless it is not YAML at all)."""
    doc = load_document(Path(path).resolve() if text is None else Path(path), text)
    if doc.data is None:
        raise PipelineFileError(doc.problems)
    problems: list[Problem] = list(doc.problems)  # duplicate keys: keep checking the rest
    problems += find_secrets(doc, doc.data, ())
    file: PipelineFile | None = None
    try:
        file = PipelineFile.model_validate(doc.data)
    except ValidationError as err:
        problems += pydantic_problems(doc, err, PipelineFile)
    body = doc.data.get("spec") if isinstance(doc.data, dict) else None
    body = body if isinstance(body, dict) else {}
    if file is not None:
        components, parameters = file.body.components, file.body.parameters
    else:
        components = _lenient_components(body.get("components"))
        raw = body.get("parameters")
        parameters = raw if isinstance(raw, dict) else {}
    reference_problems, edges = check_references(doc, components)
    problems += reference_problems
    kubeflow = (
        (body.get("runners") or {}).get("kubeflow")
        if isinstance(body.get("runners"), dict)
        else None
    )
    pods = kubeflow.get("nodes") if isinstance(kubeflow, dict) else None
    if isinstance(pods, dict):
        problems += check_pod_nodes(doc, pods, components)
    problems += check_parameters(doc, body.get("components"), parameters)
    return LoadedFile(file, doc, dict(components), dict(parameters), problems, edges)


def _lenient_components(raw: Any) -> dict[str, Component]:
    """Nodes that are valid on their own (their problems are already reported)."""
    out = {}
    for name, value in raw.items() if isinstance(raw, dict) else []:
        try:
            out[str(name)] = Component.model_validate(value)
        except ValidationError:
            continue
    return out


def find_secrets(doc: Document, value: Any, loc: Loc) -> list[Problem]:
    """Literal credentials anywhere: a key that names a secret, or a value that is one."""
    out: list[Problem] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if (
                isinstance(item, (str, int))
                and not isinstance(item, bool)
                and SECRET_KEY.search(str(key))
                and not REFERENCE_KEY.search(str(key))
                and str(item)
                and not PARAM_REF.fullmatch(str(item))
            ):
                out.append(
                    doc.problem(
                        (*loc, key),
                        f"'{key}' holds a literal secret; secrets never go into pipeline files",
                        f"put the value in an environment variable and write '{key}_env: VAR_NAME'"
                        " (or a Kubernetes Secret under runners.kubeflow.secrets)",
                    )
                )
            else:
                out += find_secrets(doc, item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += find_secrets(doc, item, (*loc, i))
    elif isinstance(value, str):
        for pattern, what in SECRET_VALUE:
            if pattern.search(value):
                out.append(
                    doc.problem(
                        loc,
                        f"value looks like {what}; secrets never go into pipeline files",
                        "move it to an environment variable and refer to the variable's name",
                    )
                )
                break
    return out


def parse_reference(ref: str) -> tuple[str, str] | None:
    node, dot, output = ref.partition(".")
    if not dot or not node or not output or "." in output:
        return None
    return node, output


def check_references(
    doc: Document, nodes: dict[str, Component]
) -> tuple[list[Problem], dict[str, dict[str, tuple[str, str]]]]:
    """Dangling or malformed ``node.output`` references, and cycles; and the inputs that refer to
    another node, parsed (node → input name → (upstream node, output))."""
    out: list[Problem] = []
    edges: dict[str, set[str]] = {name: set() for name in nodes}
    inputs: dict[str, dict[str, tuple[str, str]]] = {name: {} for name in nodes}
    for name, comp in nodes.items():
        for key, ref in comp.inputs.items():
            loc = ("spec", "components", name, "inputs", key)
            parsed = parse_reference(ref)
            if parsed is None:
                out.append(
                    doc.problem(
                        loc,
                        f"input '{key}' of '{name}': '{ref}' is not a 'node.output' reference",
                        "write it as <node id>.<output name>, e.g. examples.examples",
                    )
                )
                continue
            upstream, _ = parsed
            if upstream not in nodes:
                hint = did_you_mean(upstream, nodes)
                out.append(
                    doc.problem(
                        loc,
                        f"input '{key}' of '{name}' refers to unknown node '{upstream}'",
                        hint or f"existing nodes: {', '.join(sorted(nodes))}",
                    )
                )
                continue
            if upstream == name:
                out.append(
                    doc.problem(
                        loc,
                        f"node '{name}' takes its own output as input",
                        "an input must come from another node",
                    )
                )
                continue
            edges[name].add(upstream)
            inputs[name][key] = parsed
        for i, upstream in enumerate(comp.after):
            loc = ("spec", "components", name, "after", i)
            if upstream not in nodes or upstream == name:
                hint = did_you_mean(upstream, set(nodes) - {name})
                what = "itself" if upstream == name else f"unknown node '{upstream}'"
                out.append(
                    doc.problem(
                        loc,
                        f"'after' of '{name}' names {what}",
                        hint or f"existing nodes: {', '.join(sorted(set(nodes) - {name}))}",
                    )
                )
                continue
            edges[name].add(upstream)
    cycle = find_cycle(edges)
    if cycle:
        first = cycle[0]
        out.append(
            doc.problem(
                ("spec", "components", first),
                f"cycle between nodes: {' → '.join([*cycle, first])}",
                "remove one of these inputs; data must flow one way",
                key=True,
            )
        )
    return out, inputs


def check_pod_nodes(doc: Document, pods: dict[str, Any], nodes: dict[str, Any]) -> list[Problem]:
    """``runners.kubeflow.nodes`` may only name nodes of the pipeline."""
    return [
        doc.problem(
            ("spec", "runners", "kubeflow", "nodes", name),
            f"runners.kubeflow.nodes: no node '{name}' in this pipeline",
            did_you_mean(name, nodes) or f"existing nodes: {', '.join(sorted(nodes))}",
            key=True,
        )
        for name in pods
        if name not in nodes
    ]


def find_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle in ``node → upstream`` edges, listed in data-flow order, or [] if acyclic."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for up in sorted(edges.get(node, ())):
            if state.get(up) == 1:
                return list(reversed(stack[stack.index(up) :]))
            if up not in state:
                found = visit(up)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def check_parameters(doc: Document, components: Any, declared: dict[str, Any]) -> list[Problem]:
    """Every ``${{ parameters.x }}`` refers to a declared parameter."""
    out: list[Problem] = []

    def walk(value: Any, loc: Loc) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*loc, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*loc, i))
        elif isinstance(value, str):
            for match in PARAM_REF.finditer(value):
                name = match.group(1)
                if name not in declared:
                    hint = did_you_mean(name, declared)
                    out.append(
                        doc.problem(
                            loc,
                            f"undefined parameter '{name}'",
                            hint or f"declare it under spec.parameters, e.g. '{name}: <default>'",
                        )
                    )

    walk(components, ("spec", "components"))
    return out
