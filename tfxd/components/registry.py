"""Component types by YAML name: their parameters, their inputs and outputs, and how to build them.

Inputs and outputs are read from the TFX component's own ``SPEC_CLASS``, so they cannot drift from
what TFX builds. Adding a component type is one ``register(...)`` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tfxd.errors import TfxdError

Target = Literal["local", "kubeflow", "airflow"]
TARGETS: frozenset[str] = frozenset({"local", "kubeflow", "airflow"})


class Params(BaseModel):
    """Base of every component type's ``with:`` model: strict, documented fields."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())


def path_field(kind: Literal["file", "dir"]) -> dict[str, Any]:
    """``json_schema_extra`` marking a field as a path resolved against the pipeline file."""
    return {"x-tfxd-path": kind}


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


@dataclass(frozen=True)
class ComponentType:
    """A component type usable as ``type:`` in YAML."""

    name: str
    component_class: type
    params: type[Params]
    build: Callable[[BuildContext, dict[str, Any], Any], Any]
    summary: str = ""
    # Targets where it is never cached: its result depends on more than its inputs and
    # parameters there (elsewhere a driver may put what else it reads into the cache key).
    uncached_on: frozenset[str] = frozenset()
    # Keeps model versions: (node id, its params, the pipeline name, a path resolver) → where
    # (a ``tfxd.components.versions.Destination``); read by ``tfxd models`` and ``rollback``.
    model_versions: Callable[[str, Any, str, Callable[[str], str]], Any] | None = None
    # Gates spans on an accepted schema: (node id, its params, the pipeline root, a path
    # resolver) → the folder holding it; read by ``tfxd schema``.
    schema_history: Callable[[str, Any, str, Callable[[str], str]], str] | None = None
    # Reads data in spans: "files" ({SPAN} in an input_splits pattern), "days" (TFX's day
    # placeholders in a query) or "stream" (each run drains the next span); read by `tfxd watch`.
    spans: Literal["files", "days", "stream"] | None = None
    # A gate: a run it fails leaves its span rejected (not retried) rather than failed.
    gates: bool = False

    def inputs(self) -> dict[str, tuple[str, bool]]:
        """Input name → (artifact type name, optional)."""
        spec = self.component_class.SPEC_CLASS
        return {k: (v.type.TYPE_NAME, bool(v.optional)) for k, v in spec.INPUTS.items()}

    def outputs(self) -> dict[str, str]:
        """Output name → artifact type name."""
        spec = self.component_class.SPEC_CLASS
        return {k: v.type.TYPE_NAME for k, v in spec.OUTPUTS.items()}

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


_REGISTRY: dict[str, ComponentType] = {}


def register(component_type: ComponentType) -> ComponentType:
    if component_type.name in _REGISTRY:
        raise TfxdError(f"component type '{component_type.name}' is registered twice")
    _REGISTRY[component_type.name] = component_type
    return component_type


def registry() -> dict[str, ComponentType]:
    """Every known component type (standard TFX ones and ours), by YAML name."""
    if not _REGISTRY:
        from tfxd.components import standard  # noqa: F401  (registers on import)
    return dict(_REGISTRY)
