"""BigQueryExampleGen executor: one split's table (parallel Storage Read streams) or query (paged
results) → tf.Examples. TFX's QueryBasedExampleGen base does splits, spans and output layout."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor

from tfxd.components.bigquery_example_gen import service
from tfxd.components.bigquery_example_gen.params import BigQuerySettings
from tfxd.components.row_examples import record_to_example

TABLE_PREFIX = "table:"  # a split pattern naming a table instead of holding a query


class _ReadStream(beam.DoFn):
    def process(self, stream: str) -> Iterator[tf.train.Example]:
        for row in service.read_stream(stream):
            yield record_to_example(row)


class _ReadQuery(beam.DoFn):
    def __init__(self, project: str):
        self.project = project

    def process(self, query: str) -> Iterator[tf.train.Example]:
        for row in service.query_rows(self.project, query):
            yield record_to_example(row)


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _BigQueryToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    config = BigQuerySettings.unpack(exec_properties.get("custom_config"))
    project = config.project
    if split_pattern.startswith(TABLE_PREFIX):
        table = split_pattern[len(TABLE_PREFIX) :]
        streams = service.table_streams(project, table, config.streams)
        return (
            pipeline
            | "Streams" >> beam.Create(streams)
            | "Spread" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(_ReadStream())
        )
    return (
        pipeline
        | "Query" >> beam.Create([split_pattern])
        | "Read" >> beam.ParDo(_ReadQuery(project))
    )


class Executor(BaseExampleGenExecutor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _BigQueryToExample
