"""S3ExampleGen from its ``with:`` block."""

from __future__ import annotations

from typing import Any

from tfxd.components.example_gen.build import file_configs
from tfxd.components.registry import BuildContext
from tfxd.components.s3_example_gen.component import S3ExampleGen
from tfxd.components.s3_example_gen.params import S3ExampleGenParams, S3Settings


def build(ctx: BuildContext, inputs: dict[str, Any], p: S3ExampleGenParams) -> Any:
    accepted = ctx.accepted_schemas.get(ctx.node_id, "")
    settings = S3Settings(skip_bad_rows=p.skip_bad_rows, accepted_schema=accepted)
    extra = {"custom_config": settings.pack()} if p.skip_bad_rows or accepted else {}
    return S3ExampleGen(format=p.format, input_base=p.input_base, **extra, **file_configs(ctx, p))
