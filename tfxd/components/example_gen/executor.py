"""The local CsvExampleGen's executor: TFX's CSV reading by file:line, bad rows set aside.

A row that cannot be read (a wrong number of fields, not UTF-8, a quote never closed) or that
breaks a required fact of the accepted schema (a number that does not parse in a numeric column,
no value where the schema's shape requires one) is left out of the Examples and written, as it
was in the file, into ``BadRows/rows.csv`` inside them (the header first: fix it and feed it back
as a file of a later span), with ``BadRows/why.txt`` naming each one's file:line and reason. Up
to ``max_bad_rows`` of a span's rows may be set aside; more fail the execution, naming the first.
"""

from __future__ import annotations

import math
import os
from typing import Any

import apache_beam as beam
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.utils import proto_utils

from tfxd.components.example_gen.csv_rows import (
    BAD_LINES,
    FACTS,
    HEADERS,
    OUTPUT,
    ROW_COUNTS,
    BadRow,
    CsvToExample,
    RowFacts,
    bad_order,
    files,
    header,
    read_aside,
    read_bad,
    row_facts,
)
from tfxd.components.example_gen.ingest import Ingested, in_process, ingest
from tfxd.components.settings import Settings
from tfxd.errors import TfxdError

BAD_ROWS = "tfxd_bad_rows"
BAD_ROWS_FILE = "tfxd_bad_rows_file"
ROWS_READ = "tfxd_rows"
DEFAULT_MAX_BAD_ROWS = 0.01


class CsvSettings(Settings):
    """What the executor reads back (packed into ``custom_config``)."""

    max_bad_rows: float = DEFAULT_MAX_BAD_ROWS
    accepted_schema: str = ""  # the history folder of the gate that checks these examples


def accepted_facts(history: str) -> RowFacts:
    """The required facts of the accepted schema a gate keeps in ``history`` ({} when there is
    none yet: the first span sets it). A type the accepted schema only guessed (its column held
    no values) is no fact a row can break."""
    from tfxd.infra.schema_store import SchemaStore

    if not history:
        return {}
    store = SchemaStore(history)
    found = store.accepted()
    if found is None:
        return {}
    facts = store.facts()
    return {
        name: (kind if facts.get(name, {}).get("type") != "guess" else "", required)
        for name, (kind, required) in row_facts(found[0]).items()
    }


def same_header(pattern: str, split_name: str) -> str:
    """The one header of the files ``pattern`` matches, or an error naming two that differ."""
    from tfx.dsl.io import fileio

    first: tuple[str, str] | None = None
    for path in sorted(fileio.glob(pattern)):
        found = header(path)
        if first is None:
            first = (path, found)
        elif found != first[1]:
            raise TfxdError(
                f"split '{split_name}': {path} has the header {found!r} but {first[0]} has "
                f"{first[1]!r}: the files of one split must share their columns; fix the file, "
                "or move it to its own span"
            )
    return first[1] if first else ""


def quarantine(folder: str, rows: list[BadRow], name: str = "rows.csv") -> str:
    """Write the set-aside ``rows`` under ``folder``: ``name`` (for CSV each file's header once,
    then its rows as they were) and why.txt. Returns the first one's path."""
    from tfx.dsl.io import fileio

    fileio.makedirs(folder)
    path = os.path.join(folder, name)
    csv = name.endswith(".csv")
    headers: dict[str, str] = {}
    lines: list[str] = []
    for row in rows:
        if not row.row:
            continue  # undecodable bytes: named in why.txt only
        source = row.where.rpartition(":")[0]
        if csv and source not in headers:
            headers[source] = header(source)
            if headers[source] not in lines:
                lines.append(headers[source])  # again only where the files' headers differ
        lines.append(row.row)
    with fileio.open(path, "w") as handle:
        handle.write("".join(f"{line}\n" for line in lines))
    with fileio.open(os.path.join(folder, "why.txt"), "w") as handle:
        handle.write("".join(f"{row.text()}\n" for row in rows))
    return path


def split_headers(exec_properties: dict) -> dict[str, str]:
    """Each input split pattern's one header, or an error naming a split with no file."""
    config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties["input_config"], config)
    base = exec_properties["input_base"]
    headers = {}
    for split in config.splits:
        pattern = os.path.join(base, split.pattern)
        if not files(exec_properties, split.pattern):
            raise TfxdError(f"split '{split.name}': no file matches {pattern}")
        headers[pattern] = same_header(pattern, split.name)
    return headers


def write_here(
    examples: Any, exec_properties: dict, headers: dict[str, str], facts: RowFacts
) -> Ingested:
    """``ingest`` in this process into ``examples``, its properties set as TFX's base executor
    sets them; the bad rows in file:line order."""
    done = ingest(exec_properties, examples.uri, headers, facts)
    examples.split_names = artifact_utils.encode_split_names(done.splits)
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    if exec_properties.get("output_file_format"):
        examples_utils.set_file_format(examples, "tfrecords_gzip")
    done.bad.sort(key=bad_order)
    return done


class CsvExecutor(BaseExampleGenExecutor):
    """TFX's CSV ExampleGen, its rows read by file:line and bad ones set aside (module doc)."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return CsvToExample

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: dict) -> dict:
        headers = split_headers(exec_properties)
        return super().GenerateExamplesByBeam(pipeline, {**exec_properties, HEADERS: headers})

    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        [examples] = output_dict["examples"]
        settings = CsvSettings.unpack(exec_properties.get("custom_config"))
        facts = accepted_facts(settings.accepted_schema)
        if in_process(self._beam_pipeline_args, exec_properties):
            done = write_here(examples, exec_properties, split_headers(exec_properties), facts)
            good, rows = done.rows, done.bad
        else:
            properties = {**exec_properties, OUTPUT: examples.uri, FACTS: facts}
            super().Do(input_dict, output_dict, properties)
            good = sum(int(n) for n in read_aside(os.path.join(examples.uri, ROW_COUNTS)))
            rows = read_bad(os.path.join(examples.uri, BAD_LINES))
        total = good + len(rows)
        allowed = math.floor(settings.max_bad_rows * total)
        examples.set_int_custom_property(BAD_ROWS, len(rows))
        examples.set_int_custom_property(ROWS_READ, good)
        if not rows:
            return
        kept = quarantine(os.path.join(examples.uri, "BadRows"), rows)
        examples.set_string_custom_property(BAD_ROWS_FILE, kept)
        if len(rows) > allowed:
            shown = "\n  ".join(row.text() for row in rows[:5])
            more = f"\n  … and {len(rows) - 5} more" if len(rows) > 5 else ""
            raise TfxdError(
                f"{len(rows)} of {total} CSV rows are bad ({len(rows) / total:.1%}), "
                f"max_bad_rows allows {settings.max_bad_rows:g} ({allowed} rows):\n  {shown}{more}"
                f"\nfix: fix the rows (all of them are in {kept}, the reasons beside it), or "
                "raise max_bad_rows; a column whose type changed on purpose: tfxd schema accept"
            )
