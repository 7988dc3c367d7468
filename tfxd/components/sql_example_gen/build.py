"""SqlExampleGen from its ``with:`` block."""

from __future__ import annotations

from typing import Any

from tfxd.components.example_gen.build import query_configs
from tfxd.components.registry import BuildContext
from tfxd.components.sql_example_gen.component import SqlExampleGen
from tfxd.components.sql_example_gen.params import SqlExampleGenParams, SqlSettings


def build(ctx: BuildContext, inputs: dict[str, Any], p: SqlExampleGenParams) -> Any:
    settings = SqlSettings(
        connection_env=p.connection_env,
        partition_column=p.partition_column,
        partitions=p.partitions,
    )
    return SqlExampleGen(settings=settings, **query_configs(ctx, p))
