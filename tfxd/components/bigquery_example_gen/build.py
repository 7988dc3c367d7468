"""BigQueryExampleGen from its ``with:`` block."""

from __future__ import annotations

from typing import Any

from tfxd.components.bigquery_example_gen.component import BigQueryExampleGen
from tfxd.components.bigquery_example_gen.params import BigQueryExampleGenParams, BigQuerySettings
from tfxd.components.example_gen.build import query_configs
from tfxd.components.registry import BuildContext


def build(ctx: BuildContext, inputs: dict[str, Any], p: BigQueryExampleGenParams) -> Any:
    settings = BigQuerySettings(project=p.project, streams=p.streams)
    return BigQueryExampleGen(settings=settings, **query_configs(ctx, p))
