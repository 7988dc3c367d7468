"""CSV files read a batch of columns at a time in the executor's process, with TFX's semantics.

Each file is read in chunks of lines. A record that is one plain line (no quote, NUL or lone CR,
UTF-8, exactly as many cells as the header: checked for all lines at once) is parsed by pyarrow,
where pyarrow and Python's ``csv`` agree cell for cell; any other record (quoted fields, which may
span lines, and every line the check refuses) by the record reader's rules (``ReadCsvRecords``:
bad rows by file:line). Cells stay bytes; rows against the accepted schema's facts are found by
pattern, and only the doubtful cells are judged by the Python rules (``check_cells``). Column
types are inferred over the split with tfx_bsl's rules, the common forms by pattern and the rest
value by value.
"""

from __future__ import annotations

import json
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

SCAN_BYTES = 8 << 20  # a chunk of lines; its plain ones make one batch
INT = r"^-?[0-9]{1,18}$"  # an int64 for int() and for pyarrow alike
DECIMAL = r"^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"  # float() and pyarrow agree
FLOAT = r"^-?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$|^-?[0-9]+[eE][-+]?[0-9]+$"  # no int()
VISIBLE = "[!-~]"  # a cell holding one of these is not blank for str.strip()
Kind = csv_decoder.ColumnType


def _counts(data: np.ndarray, byte: int, bounds: np.ndarray) -> np.ndarray:
    """How many of ``byte`` each line (between consecutive ``bounds``) holds."""
    return np.diff(np.searchsorted(np.flatnonzero(data == byte), bounds))


def _pyarrow(lines: bytes, width: int) -> pa.RecordBatch:
    from pyarrow import csv

    spill = [f"c{i}" for i in range(width)]  # the header's names may repeat
    table = csv.read_csv(
        pa.BufferReader(lines),
        read_options=csv.ReadOptions(column_names=spill, block_size=max(len(lines), 1 << 20)),
        parse_options=csv.ParseOptions(quote_char=False, ignore_empty_lines=True),
        convert_options=csv.ConvertOptions(
            column_types={n: pa.binary() for n in spill},
            strings_can_be_null=False,
            null_values=[],
            check_utf8=False,
        ),
    )
    return table.combine_chunks().to_batches()[0] if table.num_rows else _as_batch([], width)


def _as_batch(rows: list[list[bytes]], width: int) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    return pa.RecordBatch.from_arrays(
        [pa.array(c, pa.binary()) for c in columns], [f"c{i}" for i in range(width)]
    )


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
    fast: int = 0  # of them, rows pyarrow parsed


class _Reader:
    """One file's records, a chunk of lines at a time (module doc)."""

    def __init__(self, path: str, names: list[str], facts: RowFacts, found: FileRows):
        self.path, self.names, self.facts, self.found = path, names, facts, found
        self.parse = ReadCsvRecords(names, facts)

    def batches(self) -> Iterator[pa.RecordBatch]:
        from tfx.dsl.io import fileio

        with fileio.open(self.path, "rb") as handle:
            handle.readline()  # the header: read, and checked across files, before
            first, carry = 2, b""
            while True:
                chunk = handle.read(SCAN_BYTES)
                data = carry + chunk
                if not chunk and data and not data.endswith(b"\n"):
                    data += b"\n"  # the last line, as a line
                used, lines = yield from self._chunk(data, first, final=not chunk)
                if not chunk:
                    return
                first, carry = first + lines, data[used:]

    def _chunk(self, data: bytes, first: int, final: bool) -> Any:
        """The records of ``data``'s lines (line ``first`` on) as batches; returns the bytes and
        lines they used (a quoted record still open waits for the next chunk)."""
        raw = np.frombuffer(data, np.uint8)
        bounds = np.concatenate(([0], np.flatnonzero(raw == 10) + 1))  # line i: bounds[i:i + 2]
        quotes = _counts(raw, 34, bounds)
        even = np.cumsum(quotes) % 2 == 0  # a record can end after these lines
        closed = np.flatnonzero(even)
        n = int(closed[-1]) + 1 if len(closed) else 0
        if final and n < len(quotes):  # as the record reader: named by where it began
            self.found.bad.append(
                BadRow(f"{self.path}:{first + n}", "a quoted field is never closed")
            )
        if not n:
            return 0, 0
        bounds, quotes = bounds[: n + 1], quotes[:n]
        size = np.diff(bounds)
        alone = np.concatenate(([True], even[: n - 1]))  # the line starts a record
        crlf = (size >= 2) & (raw[np.maximum(bounds[1:] - 2, 0)] == 13)
        blank = alone & ((size == 1) | ((size == 2) & crlf))
        plain = alone & ~blank & (quotes == 0) & (_counts(raw, 0, bounds) == 0)
        plain &= _counts(raw, 44, bounds) == len(self.names) - 1
        plain &= _counts(raw, 13, bounds) == crlf  # no CR but the one of a CRLF
        plain = self._utf8(data, bounds, plain)
        if plain.any():
            batch = _pyarrow(raw[: bounds[-1]][np.repeat(plain, size)].tobytes(), len(self.names))
            batch = self._checked(batch, np.flatnonzero(plain), data, bounds, first)
            self.found.rows += batch.num_rows
            self.found.fast += batch.num_rows
            yield batch
        rows: list[list[bytes]] = []
        begins = np.flatnonzero(alone & ~blank & ~plain)
        for a, z in zip(begins, closed[np.searchsorted(closed, begins)], strict=True):
            record = data[bounds[a] : bounds[z + 1]]
            for out in self.parse.cells(record, f"{self.path}:{first + int(a)}"):
                if getattr(out, "tag", None) == BAD:
                    self.found.bad.append(BadRow(**json.loads(out.value)))
                else:
                    rows.append(out)
        if rows:
            self.found.rows += len(rows)
            yield _as_batch(rows, len(self.names))
        return int(bounds[-1]), n

    @staticmethod
    def _utf8(data: bytes, bounds: np.ndarray, plain: np.ndarray) -> np.ndarray:
        """``plain`` without the lines that are not UTF-8 (the record reader names them)."""
        try:
            data[: int(bounds[-1])].decode("utf-8")
            return plain
        except UnicodeDecodeError:
            pass
        plain = plain.copy()
        for i in np.flatnonzero(plain):
            try:
                data[bounds[i] : bounds[i + 1]].decode("utf-8")
            except UnicodeDecodeError:
                plain[i] = False
        return plain

    def _checked(
        self, batch: pa.RecordBatch, lines: np.ndarray, data: bytes, bounds: np.ndarray, first: int
    ) -> pa.RecordBatch:
        """The batch (of these ``lines``) without its rows against the facts, which land in
        ``found.bad``."""
        if not self.facts:
            return batch
        keep = np.ones(batch.num_rows, bool)
        for row in np.flatnonzero(_doubtful(batch, self.names, self.facts)):
            cells = [batch.column(i)[row].as_py().decode("utf-8") for i in range(len(self.names))]
            why = check_cells(self.names, cells, self.facts)
            if why:
                i = int(lines[row])
                text = data[bounds[i] : bounds[i + 1]].decode("utf-8").rstrip("\r\n")
                self.found.bad.append(BadRow(f"{self.path}:{first + i}", why, text))
                keep[row] = False
        return batch if keep.all() else batch.filter(pa.array(keep))


def read_file(
    path: str, names: list[str], facts: RowFacts, found: FileRows
) -> Iterator[pa.RecordBatch]:
    """A file's good rows as batches of bytes columns; its bad rows land in ``found.bad``."""
    yield from _Reader(path, names, facts, found).batches()


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
