"""The one place that wires components into a ``tfx.dsl.Pipeline``."""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import tfx.orchestration.pipeline
from tfx.orchestration import data_types

from tfxd.components.registry import BuildContext, Target
from tfxd.errors import TfxdError
from tfxd.file import is_uri
from tfxd.mlmd.store import connection_config, reference
from tfxd.pipelines.pipeline import Pipeline
from tfxd.pipelines.staged import module_stager


@dataclass
class Built:
    """A TFX pipeline plus what the build decided that a user should hear about."""

    pipeline: Any
    notes: list[str] = field(default_factory=list)
    runtime_parameters: dict[str, Any] = field(default_factory=dict)
    always_run: set[str] = field(default_factory=set)  # node ids never taken from the cache


def default_pipeline_dir(pipe: Pipeline) -> str:
    """Where the pipeline's folder sits in the image unless the YAML says otherwise."""
    return f"/tfxd/pipelines/{pipe.loaded.folder.name}"


def path_resolver(pipe: Pipeline, target: Target):
    """Paths in the file resolve against its folder, or its folder inside the image on Kubeflow."""
    if target == "kubeflow":
        kfp = pipe.file.body.runners.kubeflow
        base = (kfp.pipeline_dir if kfp and kfp.pipeline_dir else None) or default_pipeline_dir(
            pipe
        )

        def resolve(value: str) -> str:
            if is_uri(value) or value.startswith("/"):
                return value
            return posixpath.normpath(posixpath.join(base, value))

        return resolve
    return pipe.loaded.location


def module_importer(pipe: Pipeline):
    """Module file → its import name in the image (``runners.kubeflow.python_path``)."""
    kfp = pipe.file.body.runners.kubeflow
    python_path = kfp.python_path if kfp else "/tfxd"
    resolve = path_resolver(pipe, "kubeflow")

    def module_name(module_file: str) -> str:
        in_image = resolve(module_file)
        relative = posixpath.relpath(in_image, python_path)
        if relative.startswith("..") or not relative.endswith(".py"):
            raise TfxdError(
                f"{pipe.loaded.path}: module file {module_file} is at {in_image} in the image, "
                f"outside runners.kubeflow.python_path ({python_path}): put pipeline_dir under it"
            )
        return relative.removesuffix(".py").replace("/", ".")

    return module_name


def accepted_schemas(pipe: Pipeline, root: str) -> dict[str, str]:
    """ExampleGen node → the history folder of the gate that reads its examples (where that
    gate keeps the accepted schema), for each gate with one."""
    out: dict[str, str] = {}
    for node_id in pipe.order:
        node = pipe.nodes[node_id]
        upstream = node.inputs.get("examples")
        if node.type.models.schema_history is not None and upstream is not None:
            history = node.type.models.schema_history(
                node_id, node.params, root, pipe.loaded.location
            )
            out.setdefault(upstream[0], history)
    return out


def build(
    pipe: Pipeline,
    target: Target,
    *,
    root: str | None = None,
    enable_cache: bool = True,
    with_metadata: bool = True,
    span: int | None = None,
    beam_args: Sequence[str] = (),
    node_beam_args: Mapping[str, Sequence[str]] | None = None,
    beam_elsewhere: Collection[str] = (),
) -> Built:
    """Build the TFX pipeline of ``pipe`` for ``target``; ``beam_args`` after its own, and
    ``node_beam_args`` after those on the nodes it names. The nodes in ``beam_elsewhere`` run
    their Beam work in other processes: they take user functions from staged modules
    (``staged``)."""
    body = pipe.file.body
    notes: list[str] = []
    runtime: dict[str, Any] = {}
    resolve = path_resolver(pipe, target)

    # On Kubeflow, TFX makes primitive exec properties pipeline parameters. Elsewhere the
    # pipeline is rebuilt with each run's parameter values (Airflow: in every task).
    runtime_refs = target == "kubeflow"

    def runtime_parameter(name: str, is_path: bool) -> Any:
        if name not in runtime:
            default = pipe.parameters[name]
            if is_path:
                default = resolve(default)
            runtime[name] = data_types.RuntimeParameter(
                name=name, ptype=type(default), default=default
            )
        return runtime[name]

    pipeline_root = root or (
        body.runners.kubeflow.pipeline_root
        if target == "kubeflow" and body.runners.kubeflow and body.runners.kubeflow.pipeline_root
        else pipe.root
    )
    ctx = BuildContext(
        target=target,
        resolve_path=resolve,
        module_import=module_importer(pipe) if target == "kubeflow" else None,
        beam_args=[
            *body.beam_args,
            *(body.runners.local.beam_args if target == "local" else []),
            *beam_args,
        ],
        pipeline_root=pipeline_root,
        span=span,
        pipeline_name=pipe.name,
        metadata=reference(pipe.loaded) if target != "kubeflow" else None,
        accepted_schemas=accepted_schemas(pipe, pipeline_root),
    )
    channels: dict[str, Any] = {}
    components = []
    in_process = ctx.module_import
    stager = module_stager(pipe, pipeline_root) if beam_elsewhere else None
    for node_id in pipe.order:
        node = pipe.nodes[node_id]
        params = node.params
        updates = {}
        paths = node.type.path_fields()
        for field_name, param in node.runtime_refs.items() if runtime_refs else ():
            updates[field_name] = runtime_parameter(param, field_name in paths)
        if runtime_refs:
            for field_name, raw in pipe.file.body.components[node_id].with_.items():
                if isinstance(raw, str) and "${{" in raw and field_name not in updates:
                    notes.append(
                        f"{node_id}.with.{field_name}: fixed at compile time to "
                        f"{getattr(params, field_name)!r} (not a run-time parameter on {target})"
                    )
        if updates:
            params = params.model_copy(update=updates)
        inputs = {key: channels[up].outputs[out] for key, (up, out) in node.inputs.items()}
        ctx.node_id = node_id
        ctx.module_import = stager if node_id in beam_elsewhere else in_process
        component = node.type.builder()(ctx, inputs, params).with_id(node_id)
        if (node_beam_args or {}).get(node_id):
            component.with_beam_pipeline_args(list(node_beam_args[node_id]))
        for upstream in node.after:
            component.add_upstream_node(channels[upstream])
        channels[node_id] = component
        components.append(component)

    kwargs: dict[str, Any] = {}
    if with_metadata and target != "kubeflow":
        kwargs["metadata_connection_config"] = connection_config(pipe.loaded, readonly=False)
    pipeline = tfx.orchestration.pipeline.Pipeline(
        pipeline_name=pipe.name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=enable_cache,
        beam_pipeline_args=ctx.beam_args,
        **kwargs,
    )
    always_run = {n for n in pipe.order if target in pipe.nodes[n].type.runs.uncached_on}
    return Built(pipeline=pipeline, notes=notes, runtime_parameters=runtime, always_run=always_run)
