"""The checked pipeline (`Pipeline`, `check`, `validate_file`): what needs the component registry,
types, parameters, inputs/outputs, files on disk, on top of the loader's checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tfxd.components.catalogue import registry
from tfxd.components.registry import ComponentType, Params
from tfxd.errors import PipelineFileError, Problem, TfxdError
from tfxd.file import (
    PARAM_REF,
    LoadedFile,
    PipelineFile,
    did_you_mean,
    is_uri,
    load_partial,
)
from tfxd.file.problems import pydantic_problems


@dataclass
class Node:
    """One checked node: its type, its parameters (parameters substituted) and its edges."""

    id: str
    type: ComponentType
    params: Params
    inputs: dict[str, tuple[str, str]]  # input name → (upstream node, output name)
    runtime_refs: dict[str, str]  # field name → pipeline parameter it takes at run time
    after: list[str] = field(default_factory=list)  # ordering-only upstream nodes

    @property
    def upstream(self) -> set[str]:
        return {u for u, _ in self.inputs.values()} | set(self.after)


@dataclass
class Pipeline:
    """A pipeline file that passed every check, with its nodes in topological order."""

    loaded: LoadedFile
    file: PipelineFile
    nodes: dict[str, Node]
    order: list[str]
    parameters: dict[str, Any]

    @property
    def name(self) -> str:
        return self.file.metadata.name

    @property
    def root(self) -> str:
        """The pipeline root of local runs (the body's ``root``, from the file's folder)."""
        return self.loaded.location(self.file.body.root)

    def module_folders(self) -> list[str]:
        """The folders of its local module files, then the pipeline file's folder."""
        folders = [
            str(self.loaded.resolve(m).parent)
            for node in self.nodes.values()
            if isinstance(m := getattr(node.params, "module_file", None), str)
            and m
            and "://" not in m
        ]
        return list(dict.fromkeys([*folders, str(self.loaded.folder)]))


def validate_file(path: str | Path, overrides: dict[str, str] | None = None) -> Pipeline:
    """Load ``path`` and run every check; raise ``PipelineFileError`` with all problems found."""
    return check(load_partial(path), overrides or {})


def coerce_overrides(loaded: LoadedFile, overrides: dict[str, str]) -> dict[str, Any]:
    """``--param name=value`` strings → typed values (the type of the declared default)."""
    declared = loaded.parameters
    values: dict[str, Any] = dict(declared)
    problems = []
    for name, raw in overrides.items():
        if name not in declared:
            hint = did_you_mean(name, declared)
            problems.append(
                loaded.doc.problem(
                    ("spec", "parameters"),
                    f"--param {name}: no such parameter",
                    hint or f"declared: {', '.join(sorted(declared)) or 'none'}",
                )
            )
            continue
        default = declared[name]
        try:
            if isinstance(default, bool):
                if raw.lower() not in ("true", "false"):
                    raise ValueError(raw)
                values[name] = raw.lower() == "true"
            else:
                values[name] = type(default)(raw)
        except ValueError:
            problems.append(
                loaded.doc.problem(
                    ("spec", "parameters", name),
                    f"--param {name}={raw}: not a {type(default).__name__}",
                    f"give a {type(default).__name__} like the default {default!r}",
                )
            )
    if problems:
        raise PipelineFileError(problems)
    return values


def substitute(value: Any, parameters: dict[str, Any]) -> Any:
    """Replace ``${{ parameters.x }}``: a whole-string reference keeps the parameter's type."""
    if isinstance(value, dict):
        return {k: substitute(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, parameters) for v in value]
    if isinstance(value, str):
        whole = PARAM_REF.fullmatch(value.strip())
        if whole:
            return parameters[whole.group(1)]
        return PARAM_REF.sub(lambda m: str(parameters[m.group(1)]), value)
    return value


def check(loaded: LoadedFile, overrides: dict[str, str]) -> Pipeline:
    types = registry()
    doc = loaded.doc
    problems: list[Problem] = list(loaded.problems)
    try:
        parameters = coerce_overrides(loaded, overrides)
    except PipelineFileError as err:
        problems += err.problems
        parameters = dict(loaded.parameters)
    nodes: dict[str, Node] = {}
    comps = loaded.components
    meta = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    pipeline_name = meta.get("name") if isinstance(meta, dict) else None
    for name, comp in comps.items():
        base = ("spec", "components", name)
        if name == pipeline_name:
            problems.append(
                doc.problem(
                    base,
                    f"node '{name}' has the pipeline's name, which TFX reserves for the pipeline",
                    f"rename the node (e.g. '{name}_gen') or the pipeline (metadata.name)",
                    key=True,
                )
            )
        ctype = types.get(comp.type)
        if ctype is None:
            hint = did_you_mean(comp.type, types)
            problems.append(
                doc.problem(
                    (*base, "type"),
                    f"unknown component type '{comp.type}' on node '{name}'",
                    hint or f"known types: {', '.join(sorted(types))}",
                )
            )
            continue
        try:
            params = ctype.params.model_validate(substitute(comp.with_, parameters))
        except (ValidationError, KeyError) as err:
            if isinstance(err, KeyError):  # undefined parameter: reported by the file loader
                continue
            problems += pydantic_problems(doc, err, ctype.params, (*base, "with"))
            params = None
        runtime_refs = {}
        for field_name, raw in comp.with_.items():
            match = PARAM_REF.fullmatch(raw.strip()) if isinstance(raw, str) else None
            if match and field_name in ctype.runtime_fields():
                runtime_refs[field_name] = match.group(1)
        inputs = dict(loaded.edges.get(name, {}))  # the loader parsed and checked them
        if params is not None:
            problems += _check_paths(loaded, ctype, params, base)
            after = [a for a in comp.after if a in comps and a != name]
            nodes[name] = Node(name, ctype, params, inputs, runtime_refs, after)
    problems += _check_edges(loaded, comps, types)
    problems += _check_column_names(loaded, nodes)
    problems += _check_expectations(loaded, nodes)
    if problems or loaded.file is None:
        raise PipelineFileError(problems)
    for node in nodes.values():
        if node.type.checks.settle is not None:
            node.params = node.type.checks.settle(node.id, nodes)
    order = topological_order({n: node.upstream for n, node in nodes.items()})
    return Pipeline(loaded, loaded.file, nodes=nodes, order=order, parameters=parameters)


def _data_sources(nodes: dict[str, Node], node_id: str) -> list[Node]:
    """The nearest nodes upstream of ``node_id`` (through inputs) whose type knows its columns."""
    found, seen = [], set()
    frontier = [u for u, _ in nodes[node_id].inputs.values()]
    while frontier:
        current = nodes.get(frontier.pop())
        if current is None or current.id in seen:
            continue
        seen.add(current.id)
        if current.type.checks.columns is not None:
            found.append(current)
        else:
            frontier += [u for u, _ in current.inputs.values()]
    return found


def _check_column_names(loaded: LoadedFile, nodes: dict[str, Node]) -> list:
    """Columns a node names (``ComponentType.checks.column_refs``, e.g. DriftValidator's thresholds
    and skip list) must be columns of the data upstream, where its source knows them before
    anything runs (``ComponentType.checks.columns``, e.g. a local CsvExampleGen's header)."""
    out = []
    for name, node in nodes.items():
        if node.type.checks.column_refs is None:
            continue
        sources = _data_sources(nodes, name)
        if len(sources) != 1:
            continue
        [source] = sources
        assert source.type.checks.columns is not None
        columns = source.type.checks.columns(source.params, loaded.location)
        if not columns:
            continue
        for path, is_key, column in node.type.checks.column_refs(node.params):
            if column in columns:
                continue
            out.append(
                loaded.doc.problem(
                    ("spec", "components", name, "with", *path),
                    f"{node.type.name} '{name}': no feature '{column}' in the data of "
                    f"'{source.id}' ({getattr(source.params, 'input_base', source.id)})",
                    did_you_mean(column, columns) or f"features: {', '.join(columns)}",
                    key=is_key,
                )
            )
    return out


def _check_expectations(loaded: LoadedFile, nodes: dict[str, Node]) -> list:
    """What a node needs of its inputs (``ComponentType.checks.expects``: raw or transformed
    Examples, an input its module cannot do without) against what its producers give."""
    from tfxd.pipelines.code import module_sources

    def sources(module_file: str) -> list[tuple[str, str]]:
        if not isinstance(module_file, str) or is_uri(module_file):
            return []
        path = loaded.resolve(module_file)
        if not path.is_file():
            return []
        return [(n, v["text"]) for n, v in module_sources(path, loaded.folder).items()]

    out = []
    for name, node in nodes.items():
        if node.type.checks.expects is None:
            continue
        base = ("spec", "components", name)
        for key, expect in node.type.checks.expects(node.params, sources).items():
            what = f"{node.type.name} '{name}'"
            if expect.kind == "given":
                if key not in node.inputs:
                    out.append(
                        loaded.doc.problem(
                            (*base, "inputs") if node.inputs else (*base, "type"),
                            f"{what} has no input '{key}', and {expect.why}",
                            expect.fix,
                        )
                    )
                continue
            if key not in node.inputs or node.inputs[key][0] not in nodes:
                continue
            up, output = node.inputs[key]
            kind = "transformed" if output in nodes[up].type.checks.transformed else "raw"
            if kind != expect.kind:
                out.append(
                    loaded.doc.problem(
                        (*base, "inputs", key),
                        f"{what}: '{key}' gets {kind} examples ({up}.{output}), but {expect.why}",
                        expect.fix,
                    )
                )
    return out


def _check_paths(loaded: LoadedFile, ctype: ComponentType, params: Params, base: tuple) -> list:
    out = []
    for field_name, kind in ctype.path_fields().items():
        value = getattr(params, field_name)
        if not isinstance(value, str) or is_uri(value) or kind == "dir-create":
            continue
        path = loaded.resolve(value)
        ok = path.is_file() if kind == "file" else path.is_dir()
        if not ok:
            what = "file" if kind == "file" else "folder"
            fix = f"create it, or fix the path (relative paths start at {loaded.folder})"
            if kind == "dir" and re.search(r"(^|/)data/?$", value):
                fix = "run `tfxd example <name>` to write the example data, or " + fix
            out.append(
                loaded.doc.problem((*base, "with", field_name), f"{what} not found: {path}", fix)
            )
    return out


def _check_edges(loaded: LoadedFile, comps: dict, types: dict[str, ComponentType]) -> list:
    """Input names exist on the type, required inputs are given, outputs exist and types match."""
    doc = loaded.doc
    out = []
    for name, comp in comps.items():
        ctype = types.get(comp.type)
        if ctype is None:
            continue
        declared = ctype.inputs()
        base = ("spec", "components", name)
        for key in comp.inputs:
            loc = (*base, "inputs", key)
            if key not in declared:
                hint = did_you_mean(key, declared)
                out.append(
                    doc.problem(
                        loc,
                        f"{comp.type} '{name}' has no input '{key}'",
                        hint or f"its inputs: {', '.join(sorted(declared))}",
                        key=True,
                    )
                )
                continue
            if key not in loaded.edges.get(name, {}):
                continue  # not a reference to another node: the loader reported it
            up_name, output = loaded.edges[name][key]
            up_type = types.get(comps[up_name].type)
            if up_type is None:
                continue
            produced = up_type.outputs()
            if output not in produced:
                hint = did_you_mean(output, produced)
                out.append(
                    doc.problem(
                        loc,
                        f"node '{up_name}' ({up_type.name}) has no output '{output}'",
                        hint or f"its outputs: {', '.join(sorted(produced))}",
                    )
                )
                continue
            want = declared[key][0]
            if produced[output] != want:
                out.append(
                    doc.problem(
                        loc,
                        f"type mismatch: '{name}.{key}' takes {want} but '{up_name}.{output}' "
                        f"is {produced[output]}",
                        "connect an output of type " + want,
                    )
                )
        for key, (type_name, optional) in declared.items():
            if not optional and key not in comp.inputs:
                out.append(
                    doc.problem(
                        (*base, "type"),
                        f"{comp.type} '{name}' needs input '{key}'",
                        f"add 'inputs: {{{key}: <node>.<output of type {type_name}>}}'",
                    )
                )
    return out


def topological_order(edges: dict[str, set[str]]) -> list[str]:
    """Nodes so that each comes after its upstreams; ties broken by name (stable output)."""
    done: list[str] = []
    remaining = dict(edges)
    while remaining:
        ready = sorted(n for n, ups in remaining.items() if not (ups - set(done)))
        if not ready:  # the loader reports a cycle with its file and line before this runs
            raise TfxdError(f"nodes in a cycle: {', '.join(sorted(remaining))}")
        done += ready
        for n in ready:
            del remaining[n]
    return done
