"""S3ExampleGen executors, one per format, and the driver that fingerprints objects by ETag.

CSV, TFRecord and Parquet reuse TFX's own ExampleGen executors (splits, hash buckets, output
layout, span and version properties); JSON lines is ours. Every read goes through Beam's S3
filesystem; listing and the CSV header go through the boto3 fileio plugin registered on import.
"""

from __future__ import annotations

import json
import os
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.components.example_gen.custom_executors import parquet_executor
from tfx.components.example_gen.driver import FileBasedDriver
from tfx.components.example_gen.import_example_gen import executor as import_executor
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from tfxd.components.records import record_to_example
from tfxd.components.s3_example_gen import filesystem
from tfxd.errors import TfxdError


class S3Driver(FileBasedDriver):
    """TFX's file-based driver (span, version and date patterns resolved over S3 listings), with
    a fingerprint of the matched objects' ETags and sizes instead of their modification times."""

    def resolve_exec_properties(
        self, exec_properties: dict, pipeline_info: Any, component_info: Any
    ):
        base = exec_properties["input_base"]
        filesystem.require_objects(base)
        try:
            resolved = super().resolve_exec_properties(
                exec_properties, pipeline_info, component_info
            )
        except ValueError as err:
            raise TfxdError(f"{base}: {err}") from err
        config = example_gen_pb2.Input()
        proto_utils.json_to_proto(resolved["input_config"], config)
        fingerprint = filesystem.splits_fingerprint(
            base, [(s.name, s.pattern) for s in config.splits]
        )
        resolved[example_gen_utils.FINGERPRINT_PROPERTY_NAME] = fingerprint
        return resolved


class CsvExecutor(csv_executor.Executor):
    """TFX's CsvExampleGen executor on s3:// (header read through the fileio plugin)."""


class TFRecordExecutor(import_executor.Executor):
    """TFX's ImportExampleGen executor: serialized tf.Example records on s3://."""


class ParquetExecutor(parquet_executor.Executor):
    """TFX's Parquet executor (Beam's ReadFromParquet) on s3://."""


def json_to_example(line: str, source: str = "") -> tf.train.Example:
    """One JSON object → tf.Example: ints (and booleans as 0/1), floats, strings, lists of one
    kind; null and empty lists are missing values."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise TfxdError(
            f"{source}: not a JSON object on this line ({err.msg}): {line[:80]!r}"
        ) from err
    if not isinstance(record, dict):
        raise TfxdError(f"{source}: a JSON line must be an object, got {type(record).__name__}")
    return record_to_example(record)


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _JsonLinesToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    pattern = os.path.join(exec_properties["input_base"], split_pattern)
    return (
        pipeline
        | "Read" >> beam.io.ReadFromText(pattern)
        | "Skip blank" >> beam.Filter(lambda line: line.strip())
        | "Parse" >> beam.Map(json_to_example, source=pattern)
    )


class JsonLinesExecutor(BaseExampleGenExecutor):
    """JSON lines on s3:// → tf.Example."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _JsonLinesToExample


EXECUTORS = {
    "csv": CsvExecutor,
    "tfrecord": TFRecordExecutor,
    "parquet": ParquetExecutor,
    "jsonl": JsonLinesExecutor,
}
