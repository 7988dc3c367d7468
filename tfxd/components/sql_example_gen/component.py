"""SqlExampleGen: TFX's QueryBasedExampleGen over SQLAlchemy (PostgreSQL, MySQL/MariaDB, ...)."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2
from tfx.components.example_gen.component import QueryBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from tfxd.components.sql_example_gen.executor import Executor


class SqlExampleGen(QueryBasedExampleGen):
    """Examples from SQL queries (one per split), read as parallel range reads."""

    def __init__(self, *, settings: dict[str, Any], **kwargs: Any):
        packed = struct_pb2.Struct()
        packed.update(settings)
        custom = example_gen_pb2.CustomConfig()
        custom.custom_config.Pack(packed)
        super().__init__(
            custom_config=custom,
            custom_executor_spec=executor_spec.BeamExecutorSpec(Executor),
            **kwargs,
        )
