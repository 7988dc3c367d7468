"""CSV records read with their file:line; the ones that cannot become a row set aside.

TFX's CSV semantics are kept (column names from the header, types inferred over the whole
split, the same Example encoding); what differs is that a record TFX would fail the job on (a
wrong number of fields, bytes that are not UTF-8, a quote never closed), or one that breaks a
required fact of the accepted schema (``RowFacts``), goes to a side output with where it was and
why, instead of failing the job or widening a column's type for everyone.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx_bsl.coders import csv_decoder

BAD = "bad"
BAD_LINES = ".bad_lines"
ROW_COUNTS = ".rows"
OUTPUT = "_tfxd_output_uri"  # where set-aside rows are written, handed to the transform in process
HEADERS = "_tfxd_csv_headers"  # each split pattern's checked header, handed the same way
FACTS = "_tfxd_row_facts"  # the accepted schema's required facts, handed the same way
_INT = re.compile(r"\s*[-+]?\d+\s*")

# column → (kind the accepted schema gives it: "int" | "float" | "" for text, whether its shape
# makes a value required)
RowFacts = dict[str, tuple[str, bool]]


@dataclass(frozen=True)
class BadRow:
    where: str  # file:line
    why: str
    row: str = ""  # the record as it was in the file (empty where it could not be decoded)

    def text(self) -> str:
        return f"{self.where}: {self.why}"


def bad(where: str, why: str, row: str = "") -> str:
    """A set-aside row as the side output carries it."""
    return json.dumps({"where": where, "why": why, "row": row})


def row_facts(schema: Any) -> RowFacts:
    """What a row must hold to fit ``schema`` (a TFMD Schema): the type of each numeric column,
    and whether its fixed shape makes a value required (SchemaGen's ``infer_feature_shape``)."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    kinds = {schema_pb2.INT: "int", schema_pb2.FLOAT: "float"}
    return {
        f.name: (kinds.get(f.type, ""), f.HasField("shape") and len(f.shape.dim) > 0)
        for f in schema.feature
    }


def check_cells(names: list[str], cells: list[str], facts: RowFacts) -> str:
    """Why ``cells`` break ``facts`` ('' when they fit)."""
    for name, cell in zip(names, cells, strict=True):
        kind, required = facts.get(name, ("", False))
        if not cell.strip():
            if required:
                return f"{name} has no value, and the accepted schema's shape requires one"
            continue
        if kind == "int" and not _INT.fullmatch(cell):
            return f"{name}: {cell[:40]!r} is not an integer (INT in the accepted schema)"
        if kind == "float":
            try:
                float(cell)
            except ValueError:
                return f"{name}: {cell[:40]!r} is not a number (FLOAT in the accepted schema)"
    return ""


class ReadCsvRecords(beam.DoFn):
    """A CSV file → each record's cells, as TFX's CSV reader makes them (header skipped, quoted
    fields may span lines, blank lines dropped). A record with another number of fields than the
    header, one that is not UTF-8, quotes never closed, or cells against ``facts`` go to ``BAD``."""

    def __init__(self, names: list[str], facts: RowFacts | None = None):
        self.names = names
        self.facts = facts or {}

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
                    yield from self.cells(b"".join(parts), f"{path}:{start}")
                    parts, quotes = [], 0
            if parts:
                yield beam.pvalue.TaggedOutput(
                    BAD, bad(f"{path}:{start}", "a quoted field is never closed")
                )

    def cells(self, record: bytes, where: str) -> Any:
        """One record's cells, or its reason to be set aside (``BAD``)."""
        try:
            text = record.decode("utf-8")
            cells = next(csv.reader([text]), [])
        except UnicodeDecodeError as err:
            yield beam.pvalue.TaggedOutput(BAD, bad(where, f"not UTF-8 (byte {err.start})"))
            return
        except csv.Error as err:
            yield beam.pvalue.TaggedOutput(BAD, bad(where, str(err), text))
            return
        if not cells:
            return
        why = (
            f"{len(cells)} field(s), the header has {len(self.names)}"
            if len(cells) != len(self.names)
            else check_cells(self.names, cells, self.facts)
        )
        if why:
            yield beam.pvalue.TaggedOutput(BAD, bad(where, why, text.rstrip("\r\n")))
            return
        yield [cell.encode("utf-8") for cell in cells]


def files(exec_properties: dict, split_pattern: str) -> list[str]:
    from tfx.dsl.io import fileio

    return sorted(fileio.glob(os.path.join(exec_properties["input_base"], split_pattern)))


@beam.ptransform_fn
def WriteAside(
    lines: beam.PCollection, exec_properties: dict, folder: str, split_pattern: str, part: str = ""
):
    """Lines into a folder beside the Examples, for the executor to read once the job is done."""
    name = hashlib.sha1(split_pattern.encode()).hexdigest()[:8] + part
    path = os.path.join(exec_properties[OUTPUT], folder, name)
    return lines | beam.io.WriteToText(path, shard_name_template="")


def parsed(
    pipeline: beam.Pipeline,
    paths: list[str],
    parse: beam.DoFn,
    exec_properties: dict,
    split_pattern: str,
) -> beam.PCollection:
    """``parse`` over each file; its bad rows are written aside. The good rows are returned."""
    out = (
        pipeline
        | "Files" >> beam.Create(paths)
        | "Spread" >> beam.Reshuffle()
        | "Parse" >> beam.ParDo(parse).with_outputs(BAD, main="rows")
    )
    _ = out[BAD] | "Bad rows" >> WriteAside(exec_properties, BAD_LINES, split_pattern)
    return out["rows"]


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def CsvToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    """A split's CSV files → tf.Examples as TFX's CsvExampleGen makes them, bad rows aside and
    the good ones counted."""
    paths = files(exec_properties, split_pattern)
    header = exec_properties[HEADERS][os.path.join(exec_properties["input_base"], split_pattern)]
    names = header.strip().split(",")  # as TFX splits it
    parse = ReadCsvRecords(names, exec_properties.get(FACTS))
    rows = parsed(pipeline, paths, parse, exec_properties, split_pattern)
    _ = (
        rows
        | "Count" >> beam.combiners.Count.Globally()
        | "As text" >> beam.Map(str)
        | "Write count" >> WriteAside(exec_properties, ROW_COUNTS, split_pattern)
    )
    types = beam.pvalue.AsSingleton(
        rows
        | "Infer types"
        >> beam.CombineGlobally(csv_decoder.ColumnTypeInferrer(names, skip_blank_lines=True))
    )
    return rows | "To Example" >> beam.ParDo(csv_executor._ParsedCsvToTfExample(), types)


def read_aside(folder: str) -> list[str]:
    """The lines ``WriteAside`` wrote into ``folder``, which is then removed."""
    from tfx.dsl.io import fileio

    lines: list[str] = []
    if not fileio.exists(folder):
        return lines
    for path in sorted(fileio.glob(os.path.join(folder, "*"))):
        with fileio.open(path, "r") as handle:
            lines += [line.rstrip("\n") for line in handle if line.strip()]
    fileio.rmtree(folder)
    return lines


def bad_order(row: BadRow) -> tuple[str, int]:
    """Set-aside rows sort by file, then line."""
    path, _, line = row.where.rpartition(":")
    return (path, int(line) if line.isdigit() else 0)


def read_bad(folder: str) -> list[BadRow]:
    """The set-aside rows written into ``folder``, in file:line order; the folder is removed."""
    return sorted((BadRow(**json.loads(line)) for line in read_aside(folder)), key=bad_order)


def header(path: str) -> str:
    """A CSV file's first line, without its line break."""
    from tfx.dsl.io import fileio

    with fileio.open(path, "rb") as handle:
        return handle.readline().decode("utf-8", errors="replace").rstrip("\r\n")
