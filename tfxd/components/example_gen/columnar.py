"""CSV files read a batch of columns at a time in the executor's process, with TFX's semantics.

A file whose records are all plain lines (no quote, NUL or lone CR, valid UTF-8, exactly as many
cells as the header on every non-blank line: checked at memory speed first) is parsed by
pyarrow, where pyarrow and Python's ``csv`` agree cell for cell; any other file is read record by
record (``ReadCsvRecords``: quoted fields over lines, bad rows by file:line). Cells stay bytes;
rows against the accepted schema's facts are found by pattern, and only the doubtful cells are
judged by the Python rules (``check_cells``). Column types are inferred over the split with
tfx_bsl's rules, the common forms by pattern and the rest value by value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tfx_bsl.coders import csv_decoder

from tfxd.components.example_gen.csv_rows import (
    BAD,
    BadRow,
    ReadCsvRecords,
    RowFacts,
    check_cells,
)

BATCH_ROWS = 65_536
BLOCK_BYTES = 8 << 20
SCAN_BYTES = 16 << 20
INT = r"^-?[0-9]{1,18}$"  # an int64 for int() and for pyarrow alike
DECIMAL = r"^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"  # float() and pyarrow agree
FLOAT = r"^-?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$|^-?[0-9]+[eE][-+]?[0-9]+$"  # no int()
VISIBLE = "[!-~]"  # a cell holding one of these is not blank for str.strip()
Kind = csv_decoder.ColumnType


def _plain_lines(lines: bytes, width: int) -> bool:
    if b'"' in lines or b"\x00" in lines or lines.count(b"\r") != lines.count(b"\r\n"):
        return False
    try:
        lines.decode("utf-8")
    except UnicodeDecodeError:
        return False
    data = np.frombuffer(lines, np.uint8)
    ends = np.flatnonzero(data == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    commas = np.searchsorted(np.flatnonzero(data == 44), ends)
    per_line = np.diff(np.concatenate(([0], commas)))
    length = ends - starts
    blank = (length == 0) | ((length == 1) & (data[np.minimum(starts, len(data) - 1)] == 13))
    return bool(np.all(blank | (per_line == width - 1)))


def plain(path: str, width: int) -> bool:
    """Whether every record after the header is one plain line of ``width`` cells (module doc)."""
    from tfx.dsl.io import fileio

    with fileio.open(path, "rb") as handle:
        handle.readline()
        rest = b""
        while chunk := handle.read(SCAN_BYTES):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            data, rest = data[:cut], data[cut:]
            if data and not _plain_lines(data, width):
                return False
    return not rest or _plain_lines(rest + b"\n", width)


def _pyarrow_batches(path: str, names: list[str]) -> Iterator[pa.RecordBatch]:
    from pyarrow import csv
    from tfx.dsl.io import fileio

    with fileio.open(path, "rb") as probe:
        probe.readline()
        if not probe.read(1):
            return  # the header alone: no rows (pyarrow would refuse to skip it)
    spill = [f"c{i}" for i in range(len(names))]  # the header's names may repeat
    local = "://" not in path
    with open(path, "rb") if local else fileio.open(path, "rb") as handle:
        source = handle if local else pa.PythonFile(handle, mode="r")
        reader = csv.open_csv(
            source,
            read_options=csv.ReadOptions(column_names=spill, skip_rows=1, block_size=BLOCK_BYTES),
            parse_options=csv.ParseOptions(quote_char=False, ignore_empty_lines=True),
            convert_options=csv.ConvertOptions(
                column_types={n: pa.binary() for n in spill},
                strings_can_be_null=False,
                null_values=[],
                check_utf8=False,
            ),
        )
        yield from reader


def _as_batch(rows: list[list[bytes]], width: int) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    return pa.RecordBatch.from_arrays(
        [pa.array(c, pa.binary()) for c in columns], [f"c{i}" for i in range(width)]
    )


def _record_batches(
    path: str, parse: ReadCsvRecords, bad: list[BadRow]
) -> Iterator[pa.RecordBatch]:
    import json

    rows: list[list[bytes]] = []
    for out in parse.process(path):
        if getattr(out, "tag", None) == BAD:
            bad.append(BadRow(**json.loads(out.value)))
            continue
        rows.append(out)
        if len(rows) == BATCH_ROWS:
            yield _as_batch(rows, len(parse.names))
            rows = []
    if rows:
        yield _as_batch(rows, len(parse.names))


def _text(column: pa.Array) -> pa.Array:
    return column.view(pa.string())


def _doubtful(batch: pa.RecordBatch, names: list[str], facts: RowFacts) -> np.ndarray:
    """Rows that may break ``facts``: the ones whose cells a pattern does not clear."""
    doubt = np.zeros(batch.num_rows, bool)
    for i, name in enumerate(names):
        kind, required = facts.get(name, ("", False))
        if not kind and not required:
            continue
        text = _text(batch.column(i))
        pattern = {"int": INT, "float": DECIMAL}.get(kind, VISIBLE)
        ok = pc.match_substring_regex(text, pattern)
        if kind and not required:
            ok = pc.or_(ok, pc.equal(pc.binary_length(text), 0))
        doubt |= ~ok.to_numpy(zero_copy_only=False)
    return doubt


@dataclass
class FileRows:
    """What reading one file found: how many good rows, and the bad ones with where they were."""

    bad: list[BadRow] = field(default_factory=list)
    rows: int = 0


def _lines_of(path: str, wanted: dict[int, str]) -> list[BadRow]:
    """The file:line and text of plain records by their index among the non-blank lines."""
    from tfx.dsl.io import fileio

    found: list[BadRow] = []
    index = -1
    with fileio.open(path, "rb") as handle:
        handle.readline()
        for number, line in enumerate(handle, start=2):
            if not line.rstrip(b"\r\n"):
                continue
            index += 1
            if index in wanted:
                text = line.decode("utf-8").rstrip("\r\n")
                found.append(BadRow(f"{path}:{number}", wanted[index], text))
                if len(found) == len(wanted):
                    break
    return found


def read_file(
    path: str, names: list[str], facts: RowFacts, found: FileRows
) -> Iterator[pa.RecordBatch]:
    """A file's good rows as batches of bytes columns; its bad rows land in ``found.bad``."""
    if not plain(path, len(names)):
        for batch in _record_batches(path, ReadCsvRecords(names, facts), found.bad):
            found.rows += batch.num_rows
            yield batch
        return
    wanted: dict[int, str] = {}
    offset = 0
    for batch in _pyarrow_batches(path, names):
        if facts and batch.num_rows:
            keep = np.ones(batch.num_rows, bool)
            for row in np.flatnonzero(_doubtful(batch, names, facts)):
                cells = [batch.column(i)[row].as_py().decode("utf-8") for i in range(len(names))]
                why = check_cells(names, cells, facts)
                if why:
                    wanted[offset + int(row)] = why
                    keep[row] = False
            offset += batch.num_rows
            if not keep.all():
                batch = batch.filter(pa.array(keep))
        found.rows += batch.num_rows
        yield batch
    if wanted:
        found.bad.extend(_lines_of(path, wanted))


class Kinds:
    """Each column's type over a split, by tfx_bsl's rules (UNKNOWN < INT < FLOAT < STRING)."""

    def __init__(self, width: int):
        self.kinds = [Kind.UNKNOWN] * width

    def add(self, batch: pa.RecordBatch) -> None:
        for i, kind in enumerate(self.kinds):
            if kind != Kind.STRING:
                self.kinds[i] = max(kind, self._kind(batch.column(i)))

    @staticmethod
    def _kind(column: pa.Array) -> Any:
        text = _text(column)
        values = text.filter(pc.not_equal(pc.binary_length(text), 0))
        if not len(values):
            return Kind.UNKNOWN
        rest = values.filter(pc.invert(pc.match_substring_regex(values, INT)))
        if not len(rest):
            return Kind.INT
        odd = rest.filter(pc.invert(pc.match_substring_regex(rest, FLOAT)))
        kind = Kind.FLOAT if len(odd) < len(rest) else Kind.INT
        for value in pc.unique(odd).to_pylist():
            kind = max(kind, csv_decoder._InferValueType(value.encode("utf-8")))
            if kind == Kind.STRING:
                break
        return kind
