"""What the stream ExampleGens' builders share: their settings and output splits."""

from __future__ import annotations

from typing import Any

from tfxd.components.example_gen.build import hash_splits
from tfxd.components.registry import BuildContext
from tfxd.components.stream.params import StreamParams, journal_path


def stream_settings(ctx: BuildContext, p: StreamParams, journal: str) -> dict[str, Any]:
    """The executor's settings: the ``with:`` block, its journal and MLMD by reference."""
    config = p.model_dump(exclude={"output_splits"}, exclude_none=True)
    config["journal"] = journal_path(ctx.pipeline_root, ctx.node_id, journal)
    if ctx.metadata is not None:
        config["metadata"] = ctx.metadata
    return config


def stream_outputs(p: StreamParams) -> dict[str, Any]:
    return {"output_config": hash_splits(p.output_splits)}
