"""Component types by YAML name: their parameters, their inputs and outputs, how to build them,
and what generic layers may ask of them (capabilities) instead of switching on type names.

A type is declared in its component's folder (``params.py``: the ``with:`` model and its
``ComponentType``) and listed in ``catalogue.py``. Declaring a type imports no TFX: the component
class and the builder are named as ``"module:attr"`` and imported when a pipeline is built. Inputs
and outputs are read from the TFX component's own ``SPEC_CLASS``, so they cannot drift from what
TFX builds.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tfxd.file.uris import local

Target = Literal["local", "kubeflow", "airflow"]
TARGETS: frozenset[str] = frozenset({"local", "kubeflow", "airflow"})


class Params(BaseModel):
    """Base of every component type's ``with:`` model: strict, documented fields."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())


def path_field(kind: Literal["file", "dir"]) -> dict[str, Any]:
    """``json_schema_extra`` marking a field as a path resolved against the pipeline file."""
    return {"x-tfxd-path": kind}


LOCAL_FOLDER = local(  # a pusher destination's check: renames and fsync need a filesystem
    "model versions (each is renamed into place in a folder): give a local or mounted folder "
    "(KServe reads a mounted volume as pvc://)"
)

RUNTIME = {"x-tfxd-runtime": True}
"""``json_schema_extra``: a field that may take a runtime parameter where the target has them."""


@dataclass
class BuildContext:
    """What a builder needs besides its inputs: where paths point and how parameters resolve."""

    target: Target
    resolve_path: Callable[[str], str]
    module_import: Callable[[str], str] | None = None
    beam_args: list[str] = field(default_factory=list)
    pipeline_root: str = ""
    node_id: str = ""  # the node being built
    span: int | None = None  # the span file-based ExampleGens read (None: the newest)
    pipeline_name: str = ""
    metadata: dict[str, Any] | None = None  # MLMD by reference, where executors can reach it
    # ExampleGen node → the folder where the gate that checks its examples keeps the accepted
    # schema (the ExampleGen sets aside rows against it)
    accepted_schemas: dict[str, str] = field(default_factory=dict)

    def path(self, value: Any) -> Any:
        """A path from the file, resolved for the target; runtime parameters pass through."""
        return self.resolve_path(value) if isinstance(value, str) else value

    def user_function(self, module_file: str, function: str) -> dict[str, str]:
        """Keyword arguments naming a user function: the module file where the machine that runs
        the pipeline has it (TFX packages it, so an edit invalidates the cache), or an import path
        inside the container image (``module_import`` maps the file to its module name)."""
        if self.module_import is None:
            return {"module_file": self.resolve_path(module_file)}
        return {function: f"{self.module_import(module_file)}.{function}"}


def load(ref: str) -> Any:
    """The object a ``"package.module:attr"`` reference names."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


Resolver = Callable[[str], str]

# Declared artifact types (TFX's TYPE_NAME; "?" marks an optional input), shared by several types.
EXAMPLES = {"examples": "Examples"}
TRAINER_INPUTS = {
    "examples": "Examples",
    "transform_graph": "TransformGraph?",
    "schema": "Schema?",
    "base_model": "Model?",
    "hyperparameters": "HyperParameters?",
}
TRAINER_OUTPUTS = {"model": "Model", "model_run": "ModelRun"}


@dataclass(frozen=True)
class Expect:
    """What one input of a node must be, where its settings or its module tell before anything
    runs: ``raw`` or ``transformed`` Examples, or ``given`` (an optional input it cannot do
    without)."""

    kind: Literal["raw", "transformed", "given"]
    why: str
    fix: str


# A node's module files as ``tfxd validate`` reads them: a module file → (name, text) of it and
# of each local module it imports.
Sources = Callable[[str], list[tuple[str, str]]]


def find_marker(sources: list[tuple[str, str]], markers: tuple[str, ...]) -> str | None:
    """``file:line (text)`` of the first line in ``sources`` holding one of ``markers``."""
    for name, text in sources:
        for number, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            for marker in markers:
                if marker in code:
                    return f"{os.path.basename(name)}:{number} ({marker.rstrip('(')})"
    return None


@dataclass(frozen=True)
class Stream:
    """A stream ExampleGen's hooks: ``source``, "module:function" (params, pipeline name, node
    id) → the connected source (``waiting()``, ``close()``); ``journal``, its drain journal's
    folder name under the node's."""

    source: str
    journal: str


@dataclass(frozen=True)
class Runs:
    """What the runners and ``tfxd plan`` ask of a type."""

    # Targets where it is never cached: its result depends on more than its inputs and
    # parameters there (elsewhere a driver may put what else it reads into the cache key).
    uncached_on: frozenset[str] = frozenset()
    # What its result depends on besides its parameters, its module files and its inputs, where
    # a local run's cache key holds it: (params, path resolver, the run's span) → a JSON-able
    # value (None: only the run can tell); read by ``tfxd plan``.
    cache_inputs: Callable[[Any, Resolver, int | None], Any] | None = None
    # Its Beam work gives the same outputs in worker processes (--direct_running_mode=
    # multi_processing, tested): ``spec.beam`` may run it there.
    beam_workers: bool = False
    # The module that runs as the Kubeflow preCacheCheck instead of TFX's file-based driver.
    kfp_driver: str | None = None
    # The output holding a TFMA evaluation, whose overall metrics the runners record on the run.
    evaluation: str | None = None


@dataclass(frozen=True)
class Spans:
    """What ``tfxd watch`` and ``tfxd reproduce`` ask of a type in the span loop."""

    # How it reads data in spans: "files" ({SPAN} in an input_splits pattern), "days" (TFX's
    # day placeholders in a query) or "stream" (each run drains the next span).
    read: Literal["files", "days", "stream"] | None = None
    # read="stream": its connected source and drain journal (``Stream``).
    stream: Stream | None = None
    # A gate: a run it fails leaves its span rejected (not retried) rather than failed.
    gates: bool = False
    # Reads back Examples that a run of a stream ExampleGen drained: (their folder, the split
    # names) → its with: block; ``tfxd reproduce`` puts such a node in the stream's place.
    replay: Callable[[str, list[str]], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Models:
    """What ``tfxd models``, ``rollback``, ``schema`` and ``reproduce`` ask of a type that keeps
    model versions, reads the serving one, or keeps an accepted schema."""

    # Keeps model versions: (node id, its params, the pipeline name, a path resolver) → where
    # (a ``tfxd.infra.versions.Destination``).
    versions: Callable[[str, Any, str, Resolver], Any] | None = None
    # Gates spans on an accepted schema: (node id, its params, the pipeline root, a path
    # resolver) → the folder holding it; read by ``tfxd schema`` and the ExampleGens.
    schema_history: Callable[[str, Any, str, Resolver], str] | None = None
    # The with: field naming a serving folder it pushes to (with versions) or reads the
    # serving version from; ``tfxd reproduce`` points it into the reproduction's own folder.
    serving_field: str | None = None


@dataclass(frozen=True)
class Checks:
    """What ``tfxd validate`` asks of a type before anything runs."""

    # The columns of the data it reads, where a local file tells them before anything runs:
    # (params, path resolver) → column names, or None when unknown.
    columns: Callable[[Any, Resolver], list[str] | None] | None = None
    # Columns of upstream data it names: params → ((field path under with:, is a key), column).
    column_refs: Callable[[Any], list[tuple[tuple[Any, ...], bool, str]]] | None = None
    # Settles ``with:`` fields left unset whose value depends on the rest of the pipeline:
    # (node id, the checked nodes by id: ``tfxd.pipelines.pipeline.Node``) → its params, set.
    settle: Callable[[str, dict[str, Any]], Params] | None = None
    # Its outputs that hold Examples after Transform; every other Examples output is raw.
    transformed: frozenset[str] = frozenset()
    # What it needs of its inputs, where its settings or module tell: (params, the module
    # sources) → input name → ``Expect``; ``tfxd validate`` checks the wiring against it.
    expects: Callable[[Any, Sources], dict[str, Expect]] | None = None


@dataclass(frozen=True)
class ComponentType:
    """A component type usable as ``type:`` in YAML.

    Hooks come in two forms, by one rule: a ``"module:attr"`` string names code that imports TFX
    or a vendor client (the component class, the builder, the Kubeflow driver, a stream's
    source), imported only when a pipeline is built or run; a callable is plain Python from the
    type's own ``params.py``, which imports neither (checking a pipeline imports no TFX)."""

    name: str
    params: type[Params]
    component: str  # "module:Class": the TFX component class
    build: str  # "module:function": (BuildContext, inputs, params) → the component
    summary: str = ""
    # Its inputs and outputs: name → TFX artifact TYPE_NAME ("?": optional input). Declared here
    # so that checking a pipeline imports no TFX; a test holds them equal to the SPEC_CLASS.
    consumes: dict[str, str] = field(default_factory=dict)
    produces: dict[str, str] = field(default_factory=dict)
    runs: Runs = field(default_factory=Runs)
    spans: Spans = field(default_factory=Spans)
    models: Models = field(default_factory=Models)
    checks: Checks = field(default_factory=Checks)

    def component_class(self) -> type:
        return load(self.component)

    def builder(self) -> Callable[[BuildContext, dict[str, Any], Any], Any]:
        return load(self.build)

    def inputs(self) -> dict[str, tuple[str, bool]]:
        """Input name → (artifact type name, optional)."""
        return {k: (v.rstrip("?"), v.endswith("?")) for k, v in self.consumes.items()}

    def outputs(self) -> dict[str, str]:
        """Output name → artifact type name."""
        return dict(self.produces)

    def path_fields(self) -> dict[str, str]:
        return {
            name: extra["x-tfxd-path"]
            for name, f in self.params.model_fields.items()
            if isinstance(extra := f.json_schema_extra, dict) and "x-tfxd-path" in extra
        }

    def runtime_fields(self) -> set[str]:
        return {
            name
            for name, f in self.params.model_fields.items()
            if isinstance(extra := f.json_schema_extra, dict) and extra.get("x-tfxd-runtime")
        }
