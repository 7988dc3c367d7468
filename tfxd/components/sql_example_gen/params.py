"""SqlExampleGen's ``with:`` block and its component type."""

from __future__ import annotations

from pydantic import Field

from tfxd.components.example_gen.params import QueryGenParams, day_inputs
from tfxd.components.registry import EXAMPLES, ComponentType, Runs, Spans
from tfxd.components.settings import Settings


class SqlExampleGenParams(QueryGenParams):
    connection_env: str = Field(
        description="Name of the environment variable holding the SQLAlchemy URL (never the URL).",
        pattern=r"^[A-Z_][A-Z0-9_]*$",
    )
    partition_column: str | None = Field(
        None,
        description="A numeric, date or timestamp column to cut into parallel range reads.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$",
    )
    partitions: int = Field(1, ge=1, le=1024, description="Range reads per split.")


class SqlSettings(Settings):
    """What the executor reads back (packed into ``custom_config``)."""

    connection_env: str
    partition_column: str | None = None
    partitions: int = 1


TYPE = ComponentType(
    "SqlExampleGen",
    SqlExampleGenParams,
    "tfxd.components.sql_example_gen.component:SqlExampleGen",
    "tfxd.components.sql_example_gen.build:build",
    "SQL queries or a table (PostgreSQL, MySQL/MariaDB) → Examples, in parallel range reads",
    produces=EXAMPLES,
    runs=Runs(cache_inputs=day_inputs),
    spans=Spans(read="days"),
)
