"""S3ExampleGen executors, one per format, and the driver that fingerprints objects by ETag.

TFRecord and Parquet reuse TFX's own ExampleGen executors (splits, hash buckets, output layout,
span and version properties). CSV and JSON lines are read per file with line numbers, so that an
unreadable row is named ``file:line`` and up to ``skip_bad_rows`` of them are dropped and counted;
CSV keeps TFX's parsing, column type inference and Example encoding, and is read in the
executor's process as the local CsvExampleGen reads it (``example_gen/ingest.py``) unless the Beam
args name another runner. Listing, headers and that reading go through the boto3 fileio plugin
registered on import; Beam's pipelines read objects through Beam's S3 filesystem.
"""

from __future__ import annotations

import json
import os
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen.custom_executors import parquet_executor
from tfx.components.example_gen.driver import FileBasedDriver
from tfx.components.example_gen.import_example_gen import executor as import_executor
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from tfxd.components.example_gen.csv_rows import (
    BAD,
    BAD_LINES,
    FACTS,
    HEADERS,
    OUTPUT,
    ROW_COUNTS,
    BadRow,
    CsvToExample,
    RowFacts,
    WriteAside,
    bad,
    files,
    parsed,
    read_aside,
    read_bad,
)
from tfxd.components.example_gen.executor import (
    BAD_ROWS,
    BAD_ROWS_FILE,
    ROWS_READ,
    accepted_facts,
    quarantine,
    write_here,
)
from tfxd.components.example_gen.ingest import in_process
from tfxd.components.row_examples import BadRecord, record_to_example, value_kind, widen
from tfxd.components.s3_example_gen import service
from tfxd.components.s3_example_gen.params import S3Settings
from tfxd.errors import TfxdError
from tfxd.infra import s3


class S3Driver(FileBasedDriver):
    """TFX's file-based driver (span, version and date patterns resolved over S3 listings), with
    a fingerprint of the matched objects' ETags and sizes instead of their modification times."""

    def resolve_exec_properties(
        self, exec_properties: dict, pipeline_info: Any, component_info: Any
    ):
        base = exec_properties["input_base"]
        s3.require_objects(base)
        try:
            resolved = super().resolve_exec_properties(
                exec_properties, pipeline_info, component_info
            )
        except ValueError as err:
            raise TfxdError(f"{base}: {err}") from err
        config = example_gen_pb2.Input()
        proto_utils.json_to_proto(resolved["input_config"], config)
        fingerprint = s3.splits_fingerprint(base, [(s.name, s.pattern) for s in config.splits])
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


DRIFT_LINES = ".drift"


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
                    why = str(err).removeprefix(f"{where}: ")
                    text = line.decode("utf-8", "replace").rstrip()
                    yield beam.pvalue.TaggedOutput(BAD, bad(where, why, text))


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
            yield beam.pvalue.TaggedOutput(BAD, bad(where, str(err)))


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _JsonLinesToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    paths = files(exec_properties, split_pattern)
    rows = parsed(pipeline, paths, _ParseLines(), exec_properties, split_pattern)
    kinds = rows | "Kinds" >> beam.CombineGlobally(_FieldKinds())
    drift = kinds | "Drift" >> beam.FlatMap(
        lambda kinds: [f"field {k!r} is {v[1]}" for k, v in sorted(kinds.items()) if v[0] == DRIFT]
    )
    _ = drift | "Write drift" >> WriteAside(exec_properties, DRIFT_LINES, split_pattern)
    typed = rows | "To Example" >> beam.ParDo(
        _TypedExample(), beam.pvalue.AsSingleton(kinds)
    ).with_outputs(BAD, main="examples")
    _ = typed[BAD] | "Bad values" >> WriteAside(exec_properties, BAD_LINES, split_pattern, "-v")
    return typed["examples"]


class _CountsBadRows(BaseExampleGenExecutor):
    """Up to ``skip_bad_rows`` unreadable rows (CSV: also rows against the accepted schema's
    types and shapes, as the local CsvExampleGen checks them) are set aside into the Examples'
    ``BadRows/`` and counted (custom property ``tfxd_bad_rows``); more fail the execution,
    naming file and line, and publish nothing."""

    ROWS = "row(s)"
    KEEP = "rows.jsonl"

    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:

        [examples] = output_dict["examples"]
        settings = S3Settings.unpack(exec_properties.get("custom_config"))
        allowed = settings.skip_bad_rows
        facts = accepted_facts(settings.accepted_schema)
        good, rows, drift = self._read(input_dict, output_dict, exec_properties, facts)
        bad = [row.text() for row in rows]
        if drift:
            raise TfxdError(
                "schema drift between the rows of one split: "
                + "; ".join(sorted(set(drift)))
                + ": fix the files (one type per field: quote text, write numbers bare), or move "
                "the rows of the new shape to their own span"
            )
        examples.set_int_custom_property(BAD_ROWS, len(bad))
        if good:
            examples.set_int_custom_property(ROWS_READ, good)
        if rows:
            kept = quarantine(os.path.join(examples.uri, "BadRows"), rows, self.KEEP)
            examples.set_string_custom_property(BAD_ROWS_FILE, kept)
        if len(bad) > allowed:
            shown = "\n  ".join(bad[:5])
            more = f"\n  … and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise TfxdError(
                f"{len(bad)} {self.ROWS} cannot be read, skip_bad_rows allows {allowed}:\n  "
                f"{shown}{more}\nfix the files, or raise skip_bad_rows to drop them (counted "
                f"on the Examples artifact as {BAD_ROWS})"
            )

    def _read(
        self, input_dict: dict, output_dict: dict, exec_properties: dict, facts: RowFacts
    ) -> tuple[int, list[BadRow], list[str]]:
        """The Beam pipeline: rows written, rows set aside, drift between rows."""
        [examples] = output_dict["examples"]
        props = {**exec_properties, OUTPUT: examples.uri, FACTS: facts}
        super().Do(input_dict, output_dict, props)
        good = sum(int(n) for n in read_aside(os.path.join(examples.uri, ROW_COUNTS)))
        rows = read_bad(os.path.join(examples.uri, BAD_LINES))
        return good, rows, read_aside(os.path.join(examples.uri, DRIFT_LINES))


class JsonLinesExecutor(_CountsBadRows):
    """JSON lines on s3:// → tf.Example."""

    ROWS = "JSON line(s)"

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _JsonLinesToExample


class CsvExecutor(_CountsBadRows):
    """CSV on s3:// → tf.Example as TFX's CsvExampleGen makes them, after a check that the
    files of each split share one header (naming the two that differ)."""

    ROWS = "CSV row(s)"
    KEEP = "rows.csv"

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return CsvToExample

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: dict) -> dict:
        return super().GenerateExamplesByBeam(
            pipeline, {**exec_properties, HEADERS: _csv_headers(exec_properties)}
        )

    def _read(
        self, input_dict: dict, output_dict: dict, exec_properties: dict, facts: RowFacts
    ) -> tuple[int, list[BadRow], list[str]]:
        """In this process, as the local CsvExampleGen reads (``example_gen/ingest.py``), unless
        the Beam args name another runner."""
        if not in_process(self._beam_pipeline_args, exec_properties):
            return super()._read(input_dict, output_dict, exec_properties, facts)
        [examples] = output_dict["examples"]
        done = write_here(examples, exec_properties, _csv_headers(exec_properties), facts)
        return done.rows, done.bad, []


def _csv_headers(exec_properties: dict) -> dict[str, str]:
    return {
        pattern: service.same_csv_header(pattern, name)
        for name, pattern in _split_patterns(exec_properties)
    }


EXECUTORS = {
    "csv": CsvExecutor,
    "tfrecord": TFRecordExecutor,
    "parquet": ParquetExecutor,
    "jsonl": JsonLinesExecutor,
}
