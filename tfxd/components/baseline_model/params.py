"""BaselineModel's ``with:`` block and its component type."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tfxd.components.registry import ComponentType, Models, Params, Resolver, Runs, path_field


class BaselineModelParams(Params):
    source: str = Field(
        description="The serving folder a Pusher writes (relative to the pipeline file); the "
        "newest version in it becomes the Evaluator's baseline.",
        json_schema_extra=path_field("dir-create"),
    )


def serving_inputs(p: BaselineModelParams, resolve: Resolver, span: int | None) -> Any:
    """The version folder serving now, which the driver puts into the cache key."""
    from tfxd.components.baseline_model import serving

    source = resolve(p.source)
    return None if "://" in source else {"serving": serving.resolve(source)}


TYPE = ComponentType(
    "BaselineModel",
    BaselineModelParams,
    "tfxd.components.baseline_model.component:BaselineModel",
    "tfxd.components.baseline_model.build:build",
    "the serving model → the Evaluator's baseline (cached while serving is unchanged)",
    produces={"model": "Model"},
    runs=Runs(uncached_on=frozenset({"kubeflow"}), cache_inputs=serving_inputs),
    models=Models(serving_field="source"),
)
