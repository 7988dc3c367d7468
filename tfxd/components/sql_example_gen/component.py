"""SqlExampleGen: TFX's QueryBasedExampleGen over SQLAlchemy (PostgreSQL, MySQL/MariaDB, ...)."""

from __future__ import annotations

from typing import Any

from tfx.components.example_gen.component import QueryBasedExampleGen
from tfx.dsl.components.base import executor_spec

from tfxd.components.settings import Settings
from tfxd.components.sql_example_gen.executor import Executor


class SqlExampleGen(QueryBasedExampleGen):
    """Examples from SQL queries (one per split), read as parallel range reads."""

    def __init__(self, *, settings: Settings, **kwargs: Any):
        super().__init__(
            custom_config=settings.pack(),
            custom_executor_spec=executor_spec.BeamExecutorSpec(Executor),
            **kwargs,
        )
