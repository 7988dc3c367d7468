"""Pusher from its ``with:`` block."""

from __future__ import annotations

from typing import Any

from tfx.proto import pusher_pb2

from tfxd.components.pusher.component import Pusher
from tfxd.components.pusher.params import PusherParams, PusherSettings
from tfxd.components.registry import BuildContext


def build(ctx: BuildContext, inputs: dict[str, Any], p: PusherParams) -> Any:
    folder = pusher_pb2.PushDestination.Filesystem(base_directory=ctx.path(p.destination))
    return Pusher(
        **inputs,
        push_destination=pusher_pb2.PushDestination(filesystem=folder),
        custom_config=PusherSettings(
            model_name=ctx.pipeline_name, node=ctx.node_id, span=ctx.span
        ).dump(),
    )
