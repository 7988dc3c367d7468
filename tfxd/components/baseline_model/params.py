"""BaselineModel's ``with:`` block."""

from __future__ import annotations

from pydantic import Field

from tfxd.components.registry import Params, path_field


class BaselineModelParams(Params):
    source: str = Field(
        description="The serving folder a Pusher writes (relative to the pipeline file); the "
        "newest version in it becomes the Evaluator's baseline.",
        json_schema_extra=path_field("dir-create"),
    )
