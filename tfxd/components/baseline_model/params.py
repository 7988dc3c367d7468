"""BaselineModel's ``with:`` block and its component type."""

from __future__ import annotations

from pydantic import Field

from tfxd.components.registry import ComponentType, Params, path_field


class BaselineModelParams(Params):
    source: str = Field(
        description="The serving folder a Pusher writes (relative to the pipeline file); the "
        "newest version in it becomes the Evaluator's baseline.",
        json_schema_extra=path_field("dir-create"),
    )


TYPE = ComponentType(
    "BaselineModel",
    BaselineModelParams,
    "tfxd.components.baseline_model.component:BaselineModel",
    "tfxd.components.baseline_model.build:build",
    "the serving model → the Evaluator's baseline (cached while serving is unchanged)",
    uncached_on=frozenset({"kubeflow"}),  # KFP's cache cannot see what serves
    produces={"model": "Model"},
)
