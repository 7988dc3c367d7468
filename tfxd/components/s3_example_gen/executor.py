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

from tfxd.components.records import BadRecord, record_to_example, value_kind, widen
from tfxd.components.s3_example_gen import service
from tfxd.components.s3_example_gen.params import S3Settings
from tfxd.errors import TfxdError


class S3Driver(FileBasedDriver):
    """TFX's file-based driver (span, version and date patterns resolved over S3 listings), with
    a fingerprint of the matched objects' ETags and sizes instead of their modification times."""

    def resolve_exec_properties(
        self, exec_properties: dict, pipeline_info: Any, component_info: Any
    ):
        base = exec_properties["input_base"]
        service.require_objects(base)
        try:
            resolved = super().resolve_exec_properties(
                exec_properties, pipeline_info, component_info
            )
        except ValueError as err:
            raise TfxdError(f"{base}: {err}") from err
        config = example_gen_pb2.Input()
        proto_utils.json_to_proto(resolved["input_config"], config)
        fingerprint = service.splits_fingerprint(base, [(s.name, s.pattern) for s in config.splits])
        resolved[example_gen_utils.FINGERPRINT_PROPERTY_NAME] = fingerprint
        return resolved


class TFRecordExecutor(import_executor.Executor):
    """TFX's ImportExampleGen executor: serialized tf.Example records on s3://."""


class ParquetExecutor(parquet_executor.Executor):
    """TFX's Parquet executor (Beam's ReadFromParquet) on s3://, after a check that the files
    of each split share their columns and types (read from their footers)."""

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: dict) -> dict:
        for name, pattern in _split_patterns(exec_properties):
            service.same_parquet_columns(pattern, name)
        return super().GenerateExamplesByBeam(pipeline, exec_properties)


def _split_patterns(exec_properties: dict) -> list[tuple[str, str]]:
    """(split name, full s3:// pattern) of each input split."""
    config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties["input_config"], config)
    base = exec_properties["input_base"]
    return [(split.name, os.path.join(base, split.pattern)) for split in config.splits]


def json_record(line: bytes | str, source: str = "") -> dict[str, Any]:
    """One JSON line → its object; ``source`` (file:line) names a bad line."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        record = json.loads(text)
    except UnicodeDecodeError as err:
        raise BadRecord(f"{source}: not UTF-8 (byte {err.start})") from err
    except json.JSONDecodeError as err:
        raise BadRecord(f"{source}: not a JSON object ({err.msg}): {text[:80]!r}") from err
    if not isinstance(record, dict):
        raise BadRecord(f"{source}: a JSON line must be an object, got {type(record).__name__}")
    return record


BAD = "bad"
BAD_LINES = ".bad_lines"
DRIFT_LINES = ".drift"
BAD_ROWS = "tfxd_bad_rows"
_OUTPUT = "_tfxd_output_uri"  # where bad rows are written, handed to the transform in process
_HEADERS = "_tfxd_csv_headers"  # each split pattern's checked header, handed the same way


class _ParseLines(beam.DoFn):
    """A JSON-lines file → (file:line, object); bad lines (file:line: why) to ``bad``."""

    def process(self, path: str) -> Any:
        from tfx.dsl.io import fileio

        with fileio.open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    yield where, json_record(line, where)
                except BadRecord as err:
                    yield beam.pvalue.TaggedOutput(BAD, str(err))


DRIFT = "drift"


def _merge_kind(kinds: dict[str, tuple[str, str]], key: str, entry: tuple[str, str]) -> None:
    """Fold (kind, where) into ``kinds[key]``; a number meeting text becomes (drift, both
    places). Places are ordered, so the result does not depend on how Beam bundles rows."""
    first = kinds.get(key)
    if first is None:
        kinds[key] = entry
    elif first[0] == DRIFT or entry[0] == DRIFT:
        kinds[key] = min(e for e in (first, entry) if e[0] == DRIFT)
    else:
        a, b = sorted((first, entry), key=lambda e: e[1])
        kinds[key] = widen(a, b[0]) or (DRIFT, f"{a[0]} at {a[1]} and {b[0]} at {b[1]}")


class _FieldKinds(beam.CombineFn):
    """field → (kind, where first seen) over a split's JSON objects, as Pub/Sub spans infer
    them: ints widen to floats; a number in one row and text in another is schema drift."""

    def create_accumulator(self) -> dict[str, tuple[str, str]]:
        return {}

    def add_input(self, kinds: dict, located: tuple[str, dict]) -> dict:
        where, record = located
        for key, value in record.items():
            kind = value_kind(value)
            if kind is not None:
                _merge_kind(kinds, key, (kind, where))
        return kinds

    def merge_accumulators(self, accumulators: Any) -> dict:
        merged: dict[str, tuple[str, str]] = {}
        for kinds in accumulators:
            for key, entry in kinds.items():
                _merge_kind(merged, key, entry)
        return merged

    def extract_output(self, kinds: dict) -> dict:
        return kinds


class _TypedExample(beam.DoFn):
    """(where, object) → tf.Example with the split's one type per field."""

    def __init__(self) -> None:
        self._types: dict[str, str] | None = None

    def process(self, located: tuple[str, dict], kinds: dict) -> Any:
        if self._types is None:  # drifted fields as text: the execution fails on them anyway
            self._types = {k: "string" if v[0] == DRIFT else v[0] for k, v in kinds.items()}
        where, record = located
        present = {k: v for k, v in record.items() if k in self._types}  # the rest is null
        try:
            yield record_to_example(present, self._types)
        except BadRecord as err:
            yield beam.pvalue.TaggedOutput(BAD, f"{where}: {err}")


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
    _ = parsed[BAD] | "Bad rows" >> _WriteAside(exec_properties, BAD_LINES, split_pattern)
    return parsed["rows"]


@beam.ptransform_fn
def _WriteAside(
    lines: beam.PCollection, exec_properties: dict, folder: str, split_pattern: str, part: str = ""
):
    """Lines into a folder beside the Examples, for ``Do`` to read once the job is done."""
    name = hashlib.sha1(split_pattern.encode()).hexdigest()[:8] + part
    path = os.path.join(exec_properties[_OUTPUT], folder, name)
    return lines | beam.io.WriteToText(path, shard_name_template="")


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _JsonLinesToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    files = _files(exec_properties, split_pattern)
    rows = _parsed(pipeline, files, _ParseLines(), exec_properties, split_pattern)
    kinds = rows | "Kinds" >> beam.CombineGlobally(_FieldKinds())
    drift = kinds | "Drift" >> beam.FlatMap(
        lambda kinds: [f"field {k!r} is {v[1]}" for k, v in sorted(kinds.items()) if v[0] == DRIFT]
    )
    _ = drift | "Write drift" >> _WriteAside(exec_properties, DRIFT_LINES, split_pattern)
    typed = rows | "To Example" >> beam.ParDo(
        _TypedExample(), beam.pvalue.AsSingleton(kinds)
    ).with_outputs(BAD, main="examples")
    _ = typed[BAD] | "Bad values" >> _WriteAside(exec_properties, BAD_LINES, split_pattern, "-v")
    return typed["examples"]


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _CsvToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    """TFX's CSV semantics (column names from the first header, types inferred over the whole
    split, the same Example encoding), with bad records set aside instead of failing the job."""
    files = _files(exec_properties, split_pattern)
    header = exec_properties[_HEADERS][os.path.join(exec_properties["input_base"], split_pattern)]
    names = header.strip().split(",")  # as TFX splits it
    rows = _parsed(pipeline, files, _ReadCsvRecords(len(names)), exec_properties, split_pattern)
    types = beam.pvalue.AsSingleton(
        rows
        | "Infer types"
        >> beam.CombineGlobally(csv_decoder.ColumnTypeInferrer(names, skip_blank_lines=True))
    )
    return rows | "To Example" >> beam.ParDo(csv_executor._ParsedCsvToTfExample(), types)


def _read_aside(folder: str) -> list[str]:
    """The lines ``_WriteAside`` wrote into ``folder``, which is then removed."""
    from tfx.dsl.io import fileio

    lines: list[str] = []
    if not fileio.exists(folder):
        return lines
    for path in sorted(fileio.glob(os.path.join(folder, "*"))):
        with fileio.open(path, "r") as handle:
            lines += [line.rstrip("\n") for line in handle if line.strip()]
    fileio.rmtree(folder)
    return lines


class _CountsBadRows(BaseExampleGenExecutor):
    """Up to ``skip_bad_rows`` unreadable rows are dropped and counted (custom property
    ``tfxd_bad_rows``); more fail the execution, naming file and line, and publish nothing."""

    ROWS = "row(s)"

    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:

        [examples] = output_dict["examples"]
        allowed = S3Settings.unpack(exec_properties.get("custom_config")).skip_bad_rows
        super().Do(input_dict, output_dict, {**exec_properties, _OUTPUT: examples.uri})
        bad = _read_aside(os.path.join(examples.uri, BAD_LINES))
        drift = _read_aside(os.path.join(examples.uri, DRIFT_LINES))
        if drift:
            raise TfxdError(
                "schema drift between the rows of one split: "
                + "; ".join(sorted(set(drift)))
                + ": fix the files (one type per field: quote text, write numbers bare), or move "
                "the rows of the new shape to their own span"
            )
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
        headers = {
            pattern: service.same_csv_header(pattern, name)
            for name, pattern in _split_patterns(exec_properties)
        }
        return super().GenerateExamplesByBeam(pipeline, {**exec_properties, _HEADERS: headers})


EXECUTORS = {
    "csv": CsvExecutor,
    "tfrecord": TFRecordExecutor,
    "parquet": ParquetExecutor,
    "jsonl": JsonLinesExecutor,
}
