"""The ``with:`` model every stream ExampleGen shares, and where a node keeps its journal."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tfxd.components.registry import Params
from tfxd.components.settings import Settings


class StreamParams(Params):
    """What every stream ExampleGen takes besides where its stream is."""

    format: Literal["json", "csv", "tfexample"] = Field(
        description="Message payload: a JSON object, one CSV line (no header), or a serialized "
        "tf.Example."
    )
    columns: dict[str, Literal["int", "float", "string"]] = Field(
        default_factory=dict,
        description="Field name → type, in CSV order; required for csv, optional for json "
        "(default: each field's JSON type, one per span).",
    )
    max_messages: int = Field(100_000, ge=1, le=1_000_000, description="Most messages a span.")
    idle_timeout_seconds: float = Field(
        30, gt=0, description="End the span after this long without a new message."
    )
    window_seconds: float = Field(600, gt=0, description="End the span after this long in all.")
    skip_bad_rows: int = Field(
        0, ge=0, description="Undecodable messages tolerated (dropped, counted in MLMD)."
    )
    output_splits: dict[str, int] = Field(
        default_factory=lambda: {"train": 2, "eval": 1},
        description="Split name → hash buckets.",
    )

    @model_validator(mode="after")
    def _csv_columns(self) -> StreamParams:
        if self.format == "csv" and not self.columns:
            raise ValueError("format: csv needs columns (name: int|float|string, in CSV order)")
        if self.format == "tfexample" and self.columns:
            raise ValueError("columns do not apply to format: tfexample")
        return self


class StreamSettings(StreamParams, Settings):
    """What a stream executor reads back: the ``with:`` block, its journal and ML Metadata by
    reference (to settle a span a crash left open); each stream type adds its source's fields."""

    journal: str
    metadata: dict[str, Any] | None = None


def journal_path(root: str, node_id: str, journal: str) -> str:
    """Where a stream ExampleGen node keeps its drain journal (``journal``: the type's folder
    name, ``Stream.journal``)."""
    return f"{root}/{node_id}/{journal}"
