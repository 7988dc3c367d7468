"""What the stream ExampleGens' builders share: their settings and output splits."""

from __future__ import annotations

from typing import Any, TypeVar

from tfxd.components.example_gen.build import hash_splits
from tfxd.components.registry import BuildContext
from tfxd.components.stream.params import StreamParams, StreamSettings, journal_path

S = TypeVar("S", bound=StreamSettings)


def stream_settings(
    ctx: BuildContext, p: StreamParams, journal: str, settings: type[S], **extra: Any
) -> S:
    """The executor's settings: the ``with:`` block, its journal and MLMD by reference."""
    return settings.read(
        {
            **p.model_dump(exclude_none=True),
            "journal": journal_path(ctx.pipeline_root, ctx.node_id, journal),
            "metadata": ctx.metadata,
            **extra,
        }
    )


def stream_outputs(p: StreamParams) -> dict[str, Any]:
    return {"output_config": hash_splits(p.output_splits)}
