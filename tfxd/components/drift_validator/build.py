"""DriftValidator from its ``with:`` block."""

from __future__ import annotations

from typing import Any

from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen

from tfxd.components.drift_validator.component import DriftValidator
from tfxd.components.drift_validator.params import (
    DriftValidatorParams,
    drift_history,
    drift_settings,
)
from tfxd.components.registry import BuildContext
from tfxd.errors import TfxdError


def build(ctx: BuildContext, inputs: dict[str, Any], p: DriftValidatorParams) -> Any:
    history = drift_history(ctx.node_id, p, ctx.pipeline_root, ctx.path)
    config = drift_settings(p, ctx.pipeline_name)
    if config.baseline == "serving":
        if ctx.metadata is None:
            raise TfxdError(
                f"{ctx.node_id}: baseline: serving traces the serving model in ML Metadata, "
                f"which executors cannot reach on {ctx.target}: use previous_span there"
            )
        config.metadata = ctx.metadata
    # An imported schema is the accepted one for every span, the first included.
    producer = getattr(inputs.get("schema"), "producer_component", None)
    if isinstance(producer, ImportSchemaGen):
        config.schema_source = "imported"
        config.schema_file = producer.exec_properties["schema_file"]
    return DriftValidator(**inputs, config=config, history=history, split=p.split)
