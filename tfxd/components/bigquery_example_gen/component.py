"""BigQueryExampleGen: TFX's QueryBasedExampleGen over the BigQuery client and Storage Read API."""

from __future__ import annotations

from typing import Any

from tfx.components.example_gen.component import QueryBasedExampleGen
from tfx.dsl.components.base import executor_spec

from tfxd.components.bigquery_example_gen.executor import Executor
from tfxd.components.settings import Settings


class BigQueryExampleGen(QueryBasedExampleGen):
    """Examples from BigQuery queries or tables (one per split)."""

    def __init__(self, *, settings: Settings, **kwargs: Any):
        super().__init__(
            custom_config=settings.pack(),
            custom_executor_spec=executor_spec.BeamExecutorSpec(Executor),
            **kwargs,
        )
