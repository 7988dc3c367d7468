"""Pusher's ``with:`` block and its component type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from tfxd.components.registry import (
    LOCAL_FOLDER,
    ComponentType,
    Models,
    Params,
    Resolver,
    path_field,
)
from tfxd.components.settings import Settings
from tfxd.infra.versions import Destination


class PusherParams(Params):
    destination: Annotated[str, LOCAL_FOLDER] = Field(
        description="Serving folder; versions go under it (relative to the pipeline file).",
        json_schema_extra=path_field("dir-create"),
    )


class PusherSettings(Settings):
    """What the executor reads back from TFX Pusher's ``custom_config`` (keys prefixed, as the
    dict is TFX's)."""

    model_name: str | None = Field(None, alias="tfxd_model_name")
    node: str = Field("", alias="tfxd_node")
    span: int | None = Field(None, alias="tfxd_span")


def versions(node: str, p: PusherParams, pipeline: str, resolve: Resolver) -> Destination:
    folder = Path(resolve(p.destination))
    return Destination(node, folder, pipeline, folder)


TYPE = ComponentType(
    "Pusher",
    PusherParams,
    "tfxd.components.pusher.component:Pusher",
    "tfxd.components.pusher.build:build",
    "blessed model → a new version in a serving folder, served",
    consumes={
        "model": "Model?",
        "model_blessing": "ModelBlessing?",
        "infra_blessing": "InfraBlessing?",
    },
    produces={"pushed_model": "PushedModel"},
    models=Models(versions=versions, serving_field="destination"),
)
