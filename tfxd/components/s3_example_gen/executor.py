"""S3ExampleGen executors, one per format, and the driver that fingerprints objects by ETag.

TFRecord and Parquet reuse TFX's own ExampleGen executors (splits, hash buckets, output layout,
span and version properties). CSV and JSON lines are read per file with line numbers, so that an
unreadable row is named ``file:line`` and up to ``skip_bad_rows`` of them are dropped and counted;
CSV keeps TFX's parsing, column type inference and Example encoding. Objects are read through
Beam's S3 filesystem; listing and headers go through the boto3 fileio plugin registered on import.
"""

from __future__ import annotations

import csv
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
from tfx_bsl.coders import csv_decoder

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
BAD_LINES = ".bad_lines"
BAD_ROWS = "tfxd_bad_rows"
_OUTPUT = "_tfxd_output_uri"  # where bad rows are written, handed to the transform in process


class _ParseLines(beam.DoFn):
    """A JSON-lines file → Examples; bad lines (file:line: why) to the ``bad`` output."""

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


class _ReadCsvRecords(beam.DoFn):
    """A CSV file → each record's cells, as TFX's CSV reader makes them (header skipped, quoted
    fields may span lines, blank lines dropped). A record with another number of fields than
    the header, one that is not UTF-8, or quotes never closed go to ``bad`` as file:line: why."""

    def __init__(self, columns: int):
        self.columns = columns

    def process(self, path: str) -> Any:
        with beam.io.filesystems.FileSystems.open(path) as handle:
            handle.readline()  # the header: read, and checked across files, before the job
            parts: list[bytes] = []
            quotes = start = 0
            for number, line in enumerate(handle, start=2):
                if not parts:
                    start = number
                parts.append(line)
                quotes += line.count(b'"')  # '"' is never inside a multi-byte UTF-8 character
                if quotes % 2 == 0:
                    yield from self._cells(b"".join(parts), f"{path}:{start}")
                    parts, quotes = [], 0
            if parts:
                yield beam.pvalue.TaggedOutput(
                    BAD, f"{path}:{start}: a quoted field is never closed"
                )

    def _cells(self, record: bytes, where: str) -> Any:
        try:
            cells = next(csv.reader([record.decode("utf-8")]), [])
        except UnicodeDecodeError as err:
            yield beam.pvalue.TaggedOutput(BAD, f"{where}: not UTF-8 (byte {err.start})")
            return
        except csv.Error as err:
            yield beam.pvalue.TaggedOutput(BAD, f"{where}: {err}")
            return
        if not cells:
            return
        if len(cells) != self.columns:
            yield beam.pvalue.TaggedOutput(
                BAD, f"{where}: {len(cells)} field(s), the header has {self.columns}"
            )
            return
        yield [cell.encode("utf-8") for cell in cells]


def _files(exec_properties: dict, split_pattern: str) -> list[str]:
    from tfx.dsl.io import fileio

    return sorted(fileio.glob(os.path.join(exec_properties["input_base"], split_pattern)))


def _parsed(
    pipeline: beam.Pipeline,
    files: list[str],
    parse: beam.DoFn,
    exec_properties: dict,
    split_pattern: str,
) -> beam.PCollection:
    """``parse`` over each file; its bad rows are written beside the output for ``Do`` to
    count. The good rows are returned."""
    parsed = (
        pipeline
        | "Files" >> beam.Create(files)
        | "Spread" >> beam.Reshuffle()
        | "Parse" >> beam.ParDo(parse).with_outputs(BAD, main="rows")
    )
    name = hashlib.sha1(split_pattern.encode()).hexdigest()[:8]
    _ = parsed[BAD] | "Bad rows" >> beam.io.WriteToText(
        os.path.join(exec_properties[_OUTPUT], BAD_LINES, name), shard_name_template=""
    )
    return parsed["rows"]


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _JsonLinesToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    files = _files(exec_properties, split_pattern)
    return _parsed(pipeline, files, _ParseLines(), exec_properties, split_pattern)


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _CsvToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    """TFX's CSV semantics (column names from the first header, types inferred over the whole
    split, the same Example encoding), with bad records set aside instead of failing the job."""
    files = _files(exec_properties, split_pattern)
    names = filesystem.csv_header(files[0]).strip().split(",")  # as TFX splits it
    rows = _parsed(pipeline, files, _ReadCsvRecords(len(names)), exec_properties, split_pattern)
    types = beam.pvalue.AsSingleton(
        rows
        | "Infer types"
        >> beam.CombineGlobally(csv_decoder.ColumnTypeInferrer(names, skip_blank_lines=True))
    )
    return rows | "To Example" >> beam.ParDo(csv_executor._ParsedCsvToTfExample(), types)


class _CountsBadRows(BaseExampleGenExecutor):
    """Up to ``skip_bad_rows`` unreadable rows are dropped and counted (custom property
    ``tfxd_bad_rows``); more fail the execution, naming file and line, and publish nothing."""

    ROWS = "row(s)"

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
                f"{len(bad)} {self.ROWS} cannot be read, skip_bad_rows allows {allowed}:\n  "
                f"{shown}{more}\nfix the files, or raise skip_bad_rows to drop them (counted "
                f"on the Examples artifact as {BAD_ROWS})"
            )


class JsonLinesExecutor(_CountsBadRows):
    """JSON lines on s3:// → tf.Example."""

    ROWS = "JSON line(s)"

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _JsonLinesToExample


class CsvExecutor(_CountsBadRows):
    """CSV on s3:// → tf.Example as TFX's CsvExampleGen makes them, after a check that the
    files of each split share one header (naming the two that differ)."""

    ROWS = "CSV row(s)"

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _CsvToExample

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: dict) -> dict:
        config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties["input_config"], config)
        for split in config.splits:
            pattern = os.path.join(exec_properties["input_base"], split.pattern)
            filesystem.same_csv_header(pattern, split.name)
        return super().GenerateExamplesByBeam(pipeline, exec_properties)


EXECUTORS = {
    "csv": CsvExecutor,
    "tfrecord": TFRecordExecutor,
    "parquet": ParquetExecutor,
    "jsonl": JsonLinesExecutor,
}
