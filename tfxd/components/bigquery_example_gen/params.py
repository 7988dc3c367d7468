"""BigQueryExampleGen's ``with:`` block and its component type."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tfxd.components.example_gen.params import QueryGenParams, day_inputs
from tfxd.components.registry import EXAMPLES, ComponentType, Runs, Spans
from tfxd.components.settings import Settings


class BigQueryExampleGenParams(QueryGenParams):
    project: str = Field(
        description="The project that runs the read sessions and query jobs (an id, not a "
        "credential); credentials come from the environment.",
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
    )
    streams: int = Field(8, ge=1, le=1000, description="Parallel read streams per table.")

    TABLE_NAME: ClassVar[str] = r"(?:[a-z][a-z0-9-]*[a-z0-9][.:])?\w+\.[\w$-]+"
    TABLE_HINT: ClassVar[str] = "[project.]dataset.table"

    def tables(self) -> list[str]:
        given = [v[len("table:") :] for v in self.input_splits.values() if v.startswith("table:")]
        return super().tables() + given

    def table_query(self, table: str) -> str:
        return f"table:{table}"  # read through the Storage Read API, not as a query


class BigQuerySettings(Settings):
    """What the executor reads back (packed into ``custom_config``)."""

    project: str
    streams: int = 8


TYPE = ComponentType(
    "BigQueryExampleGen",
    BigQueryExampleGenParams,
    "tfxd.components.bigquery_example_gen.component:BigQueryExampleGen",
    "tfxd.components.bigquery_example_gen.build:build",
    "BigQuery tables (parallel Storage Read streams) or queries (paged) → Examples",
    produces=EXAMPLES,
    runs=Runs(cache_inputs=day_inputs),
    spans=Spans(read="days"),
)
