"""tf.Examples serialized a column at a time, as TFX's CsvExampleGen makes them, and written.

A row's bytes are the deterministic serialization of the Example TFX builds from it (map entries
by key), the bytes TFX hashes to pick its split: an empty cell is an empty list of its column's
type, a column with no value anywhere a feature of no kind, an INT cell ``int(cell)``, a FLOAT
one ``float(cell)`` as float32, a STRING one the cell's bytes. Numbers in their common forms are
parsed by pyarrow; the rest by Python's ``int``/``float``, as TFX parses every one.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import queue
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tfxd.components.example_gen.columnar import DECIMAL, INT, Kind

FILE_NAME = "data_tfrecord-{shard:05d}-of-{shards:05d}.gz"  # as TFX's Beam names shards
_TAGS = {Kind.INT: 0x1A, Kind.FLOAT: 0x12, Kind.STRING: 0x0A}  # Feature's oneof fields


_LIMITS = np.array([1 << (7 * k) for k in range(1, 10)], np.uint64)


def sizes(values: np.ndarray) -> np.ndarray:
    """Each value's varint length in bytes (1 to 10)."""
    return np.searchsorted(_LIMITS, values.astype(np.uint64, copy=False), side="right") + 1


def varints(values: np.ndarray) -> pa.Array:
    """Each value's protobuf varint (an int64 as its two's complement, as protobuf writes it)."""
    u = values.view(np.uint64) if values.dtype == np.int64 else values.astype(np.uint64)
    size = sizes(u)
    widest = int(size.max()) if len(u) else 1
    if widest == 1:
        return _binary(np.arange(len(u) + 1), u.astype(np.uint8))
    k = np.arange(widest, dtype=np.uint64)
    groups = (u[:, None] >> (np.uint64(7) * k)) & np.uint64(0x7F)
    more = k[None, :] < (size[:, None] - 1).astype(np.uint64)
    raw = (groups | (more.astype(np.uint64) << np.uint64(7))).astype(np.uint8)
    data = raw[k[None, :] < size[:, None].astype(np.uint64)]
    return _binary(np.concatenate(([0], np.cumsum(size))), data)


def _binary(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(
        pa.binary(),
        len(offsets) - 1,
        [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(np.ascontiguousarray(data))],
    )


def _fixed(raw: np.ndarray) -> pa.Array:
    """Rows of a 2-D uint8 array as binary values."""
    n, width = raw.shape
    return _binary(np.arange(0, n * width + 1, width), raw.reshape(-1))


def _bytes(data: bytes) -> pa.Scalar:
    return pa.scalar(data, pa.binary())


def _join(*parts: pa.Array | pa.Scalar) -> pa.Array:
    return pc.binary_join_element_wise(*parts, _bytes(b""))


def _lengths(cells: pa.Array) -> np.ndarray:
    offsets = np.frombuffer(cells.buffers()[1], np.int32, len(cells) + 1, cells.offset * 4)
    return np.diff(offsets).astype(np.int64)


def _numbers(
    text: pa.Array, empty: np.ndarray, pattern: str, kind: pa.DataType, parse: type
) -> np.ndarray:
    fast = pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False)
    clean = pc.if_else(pa.array(fast), text, pa.scalar("0"))
    out = pc.cast(clean, kind).to_numpy(zero_copy_only=False).copy()
    for i in np.flatnonzero(~fast & ~empty):
        out[i] = parse(text[int(i)].as_py().encode("utf-8"))  # TFX's own rule, on the rare form
    return out


def feature_values(cells: pa.Array, kind: Kind) -> tuple[pa.Array, np.ndarray]:
    """Each cell's serialized ``tf.train.Feature`` in a column of ``kind``, and its length."""
    n = len(cells)
    if kind == Kind.UNKNOWN:
        return _binary(np.zeros(n + 1), np.zeros(0, np.uint8)), np.zeros(n, np.int64)
    lengths = _lengths(cells)
    empty = lengths == 0
    text = cells.view(pa.string())
    if kind == Kind.INT:
        ints = _numbers(text, empty, INT, pa.int64(), int)
        width = sizes(ints.view(np.uint64))  # int64_list { value: [packed] }
        head = np.stack([np.full(n, 0x1A), width + 2, np.full(n, 0x0A), width], 1)
        values = _join(_fixed(head.astype(np.uint8)), varints(ints))
        size = width + 4
    elif kind == Kind.FLOAT:
        floats = _numbers(text, empty, DECIMAL, pa.float64(), float).astype(np.float32)
        raw = np.empty((n, 8), np.uint8)
        raw[:, :4] = (0x12, 6, 0x0A, 4)  # float_list { value: [packed, 4 bytes] }
        raw[:, 4:] = floats.astype("<f4").view(np.uint8).reshape(n, 4)
        values, size = _fixed(raw), np.full(n, 8)
    else:
        inner = 1 + sizes(lengths) + lengths  # bytes_list { value: [cell] }
        values = _join(_bytes(b"\x0a"), varints(inner), _bytes(b"\x0a"), varints(lengths), cells)
        size = 1 + sizes(inner) + inner
    if empty.any():
        values = pc.if_else(pa.array(empty), _bytes(bytes([_TAGS[kind], 0])), values)
        size = np.where(empty, 2, size)
    return values, size


def examples(
    batch: pa.RecordBatch, names: list[str], kinds: list[Kind]
) -> tuple[pa.Array, dict[str, pa.Array]]:
    """The batch's rows as serialized Examples, and each feature's serialized values."""
    last = {name: i for i, name in enumerate(names)}  # a repeated name: the last cell wins
    parts: list[pa.Array | pa.Scalar] = []
    total = np.zeros(batch.num_rows, np.int64)
    values = {}
    for name in sorted(last):  # map entries by key, as deterministic serialization orders them
        feature, size = feature_values(batch.column(last[name]), kinds[last[name]])
        key = name.encode("utf-8")
        head = b"\x0a" + varints(np.array([len(key)]))[0].as_py() + key + b"\x12"
        entry = len(head) + sizes(size) + size  # key, then value: the Feature
        parts += [_bytes(b"\x0a"), varints(entry), _bytes(head), varints(size), feature]
        total += 1 + sizes(entry) + entry
        values[name] = feature
    return _join(_bytes(b"\x0a"), varints(total), *parts), values


def splits_of(keys: list[bytes], buckets: list[int]) -> list[int]:
    """TFX's split of each record: sha256 of its key, modulo the buckets, bisected."""
    total = buckets[-1]
    return [
        bisect.bisect(buckets, int.from_bytes(hashlib.sha256(k).digest(), "big") % total)
        for k in keys
    ]


class SplitWriter:
    """A shard of a split, a gzipped TFRecord file written by a thread of its own (compression
    runs while the next batch is encoded)."""

    def __init__(self, folder: str, shard: int = 0, shards: int = 1):
        from tfx.dsl.io import fileio

        fileio.makedirs(folder)
        self.path = os.path.join(folder, FILE_NAME.format(shard=shard, shards=shards))
        self.error: BaseException | None = None
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=4)
        self._thread = threading.Thread(target=self._write, daemon=True)
        self._thread.start()

    def _write(self) -> None:
        import tensorflow as tf

        try:
            with tf.io.TFRecordWriter(self.path, "GZIP") as writer:
                while (records := self._queue.get()) is not None:
                    for record in records:
                        writer.write(record)
        except BaseException as e:  # handed to the caller by put/close
            self.error = e
            while self._queue.get() is not None:
                pass

    def put(self, records: list[bytes]) -> None:
        if self.error:
            raise self.error
        self._queue.put(records)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self.error:
            raise self.error
