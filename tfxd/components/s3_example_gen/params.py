"""S3ExampleGen's ``with:`` block and its component type."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tfxd.components.example_gen.params import PARAM_REF_TEXT, FileExampleGenParams
from tfxd.components.registry import EXAMPLES, RUNTIME, ComponentType, Resolver, Runs, Spans
from tfxd.components.settings import Settings
from tfxd.errors import TfxdError


class S3ExampleGenParams(FileExampleGenParams):
    input_base: str = Field(
        description="s3://bucket/prefix holding the objects; endpoint, region and credentials "
        "come from the environment (AWS_ENDPOINT_URL, AWS_PROFILE, ...), never from this file.",
        json_schema_extra=RUNTIME,
    )
    format: Literal["csv", "tfrecord", "parquet", "jsonl"] = Field(
        description="Object format: csv (with a header), tfrecord (tf.Example), parquet, jsonl."
    )
    skip_bad_rows: int = Field(
        0,
        ge=0,
        description="csv and jsonl: unreadable rows tolerated (dropped, counted in MLMD); more "
        "fail the run naming file and line.",
    )

    @model_validator(mode="after")
    def _bad_rows_for_text(self) -> S3ExampleGenParams:
        if self.skip_bad_rows and self.format not in ("csv", "jsonl"):
            raise ValueError(
                f"skip_bad_rows applies to format: csv or jsonl; {self.format} is read by "
                "TFX's and Beam's own readers, which stop at the first unreadable record"
            )
        return self

    @field_validator("input_base")
    @classmethod
    def _s3_uri(cls, value: str) -> str:
        if PARAM_REF_TEXT in value:
            return value
        if "@" in value.split("/", 3)[2] if value.count("/") >= 2 else False:
            raise ValueError(
                "credentials do not belong in the pipeline file: set AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY or AWS_PROFILE in the environment, and write s3://bucket/prefix"
            )
        if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?", value):
            raise ValueError(
                "expected s3://bucket/prefix (bucket: 3-63 lowercase letters, digits, . or -)"
            )
        return value


class S3Settings(Settings):
    """What the executor reads back (packed into ``custom_config``; absent when all defaults)."""

    skip_bad_rows: int = 0
    accepted_schema: str = ""  # the history folder of the gate that checks these examples


def s3_inputs(p: S3ExampleGenParams, resolve: Resolver, span: int | None) -> Any:
    """The span and the objects' ETag fingerprint, as the executor's driver computes it."""
    from tfxd.infra import s3

    if PARAM_REF_TEXT in p.input_base:
        return None
    splits = p.input_splits or {"single_split": "*"}
    if span is not None:
        splits = {k: v.replace("{SPAN}", str(span)) for k, v in splits.items()}
    try:
        return {"span": span, "etags": s3.splits_fingerprint(p.input_base, splits.items())}
    except TfxdError:
        return None


TYPE = ComponentType(
    "S3ExampleGen",
    S3ExampleGenParams,
    "tfxd.components.s3_example_gen.component:S3ExampleGen",
    "tfxd.components.s3_example_gen.build:build",
    "CSV / TFRecord / Parquet / JSON-lines objects under an s3:// prefix → Examples",
    produces=EXAMPLES,
    runs=Runs(cache_inputs=s3_inputs, kfp_driver="tfxd.components.s3_example_gen.kfp_driver"),
    spans=Spans(read="files"),
)
