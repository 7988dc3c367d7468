"""TFLitePusher from its ``with:`` block."""

from __future__ import annotations

from typing import Any

from tfxd.components.registry import BuildContext
from tfxd.components.tflite_pusher.component import TFLitePusher
from tfxd.components.tflite_pusher.params import TFLitePusherParams, TFLiteSettings


def build(ctx: BuildContext, inputs: dict[str, Any], p: TFLitePusherParams) -> Any:
    config = TFLiteSettings.read(
        {
            **p.model_dump(exclude={"destination"}),
            "model_name": p.model_name or ctx.pipeline_name,
            "span": ctx.span,
            "node": ctx.node_id,
        }
    )
    return TFLitePusher(destination=ctx.path(p.destination), config=config, **inputs)
