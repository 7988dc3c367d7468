"""S3ExampleGen executors, one per format, and the driver that fingerprints objects by ETag.

CSV, TFRecord and Parquet reuse TFX's own ExampleGen executors (splits, hash buckets, output
layout, span and version properties); JSON lines is ours. Every read goes through Beam's S3
filesystem; listing and the CSV header go through the boto3 fileio plugin registered on import.
"""

from __future__ import annotations

import hashlib
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

from tfxd.components import settings
from tfxd.components.records import BadRecord, record_to_example
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
    """TFX's CsvExampleGen executor on s3:// (header read through the fileio plugin), after a
    check that the files of each split share one header, naming the two that differ."""

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: dict) -> dict:
        config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties["input_config"], config)
        for split in config.splits:
            pattern = os.path.join(exec_properties["input_base"], split.pattern)
            filesystem.same_csv_header(pattern, split.name)
        return super().GenerateExamplesByBeam(pipeline, exec_properties)


class TFRecordExecutor(import_executor.Executor):
    """TFX's ImportExampleGen executor: serialized tf.Example records on s3://."""


class ParquetExecutor(parquet_executor.Executor):
    """TFX's Parquet executor (Beam's ReadFromParquet) on s3://."""


def json_to_example(line: str, source: str = "") -> tf.train.Example:
    """One JSON object → tf.Example: ints (and booleans as 0/1), floats, strings, lists of one
    kind; null and empty lists are missing values. ``source`` (file:line) names a bad line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise BadRecord(f"{source}: not a JSON object ({err.msg}): {line[:80]!r}") from err
    if not isinstance(record, dict):
        raise BadRecord(f"{source}: a JSON line must be an object, got {type(record).__name__}")
    return record_to_example(record)


BAD = "bad"
_OUTPUT = "_tfxd_output_uri"  # where bad lines are written, handed to the transform in process


class _ParseLines(beam.DoFn):
    """A file's lines → Examples; bad lines (file:line: why) to the ``bad`` output."""

    def process(self, path: str) -> Any:
        from tfx.dsl.io import fileio

        with fileio.open(path, "r") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield json_to_example(line, f"{path}:{number}")
                except BadRecord as err:
                    yield beam.pvalue.TaggedOutput(BAD, str(err))


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _JsonLinesToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    from tfx.dsl.io import fileio

    pattern = os.path.join(exec_properties["input_base"], split_pattern)
    files = sorted(fileio.glob(pattern))
    parsed = (
        pipeline
        | "Files" >> beam.Create(files)
        | "Spread" >> beam.Reshuffle()
        | "Parse" >> beam.ParDo(_ParseLines()).with_outputs(BAD, main="examples")
    )
    name = hashlib.sha1(split_pattern.encode()).hexdigest()[:8]
    _ = parsed[BAD] | "Bad lines" >> beam.io.WriteToText(
        os.path.join(exec_properties[_OUTPUT], BAD_LINES, name), shard_name_template=""
    )
    return parsed["examples"]


BAD_LINES = ".bad_lines"
BAD_ROWS = "tfxd_bad_rows"


class JsonLinesExecutor(BaseExampleGenExecutor):
    """JSON lines on s3:// → tf.Example; up to ``skip_bad_rows`` bad lines are dropped and
    counted (custom property ``tfxd_bad_rows``), more fail the run naming file and line."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _JsonLinesToExample

    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        from tfx.dsl.io import fileio

        [examples] = output_dict["examples"]
        allowed = int(settings.unpack(exec_properties.get("custom_config")).get("skip_bad_rows", 0))
        super().Do(input_dict, output_dict, {**exec_properties, _OUTPUT: examples.uri})
        folder = os.path.join(examples.uri, BAD_LINES)
        bad: list[str] = []
        for path in sorted(fileio.glob(os.path.join(folder, "*"))):
            with fileio.open(path, "r") as handle:
                bad += [line.rstrip("\n") for line in handle if line.strip()]
        fileio.rmtree(folder)
        examples.set_int_custom_property(BAD_ROWS, len(bad))
        if len(bad) > allowed:
            shown = "\n  ".join(sorted(bad)[:5])
            more = f"\n  … and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise TfxdError(
                f"{len(bad)} JSON line(s) cannot be read, skip_bad_rows allows {allowed}:\n  "
                f"{shown}{more}\nfix the files, or raise skip_bad_rows to drop them (counted "
                f"on the Examples artifact as {BAD_ROWS})"
            )


EXECUTORS = {
    "csv": CsvExecutor,
    "tfrecord": TFRecordExecutor,
    "parquet": ParquetExecutor,
    "jsonl": JsonLinesExecutor,
}
