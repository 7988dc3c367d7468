"""SqlExampleGen executor: a query or table read as parallel range reads through SQLAlchemy.

TFX's QueryBasedExampleGen machinery does the splits, spans and output layout; this executor turns
one split's query into tf.Examples. The connection URL is read from the environment variable the
pipeline names, in the worker that runs the read, and never stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor

from tfxd.components.row_examples import record_to_example
from tfxd.components.sql_example_gen import service
from tfxd.components.sql_example_gen.params import SqlSettings


def to_example(row: dict[str, Any]) -> tf.train.Example:
    """A row → tf.Example: NULL is a missing value, every type as ``records.value_feature``
    maps it (DATE → days, TIMESTAMP → µs since the epoch, DECIMAL → float, BYTEA/BLOB → bytes)."""
    return record_to_example(row)


class _ReadRange(beam.DoFn):
    def __init__(self, env_var: str, query: str, column: str | None):
        self.env_var, self.query, self.column = env_var, query, column

    def setup(self) -> None:
        self.engine = service.engine(self.env_var)

    def process(self, bounds: tuple[Any, Any, bool] | None) -> Iterator[tf.train.Example]:
        for row in service.rows(self.engine, self.env_var, self.query, self.column, bounds):
            yield to_example(row)

    def teardown(self) -> None:
        self.engine.dispose()


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _SqlToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    config = SqlSettings.unpack(exec_properties.get("custom_config"))
    env_var, column = config.connection_env, config.partition_column
    reads = service.plan(env_var, split_pattern, column, config.partitions)
    return (
        pipeline
        | "Ranges" >> beam.Create(reads)
        | "Spread" >> beam.Reshuffle()
        | "Read" >> beam.ParDo(_ReadRange(env_var, split_pattern, column))
    )


class Executor(BaseExampleGenExecutor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _SqlToExample
