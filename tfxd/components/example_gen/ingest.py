"""CSV splits → gzipped TFRecords of tf.Example in the executor's own process, in bounded memory.

Two passes per input split: the first reads each file (``columnar.read_file``), sets its bad rows
aside, infers the column types and spills the good cells to a local Arrow stream; the second
encodes them a batch at a time (``encoding``), picks each row's output split as TFX does and
writes it (a shard, and a thread, per ``SHARD_ROWS`` rows of a split, up to the cores). Memory
holds a few batches whatever the split's size. Used where the node's Beam work would run in this
process anyway (no ``--runner`` other than the DirectRunner): faster than Beam's per-element
path, and the same Examples in the same splits.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa
from tfx.components.example_gen import utils
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from tfxd.components.example_gen.columnar import FileRows, Kind, Kinds, read_file
from tfxd.components.example_gen.csv_rows import BadRow, RowFacts, files
from tfxd.components.example_gen.encoding import SplitWriter, examples, splits_of
from tfxd.errors import TfxdError
from tfxd.infra.cores import usable_cpus

IN_PROCESS_RUNNERS = {"DirectRunner", "direct"}
SPILL = ".cells"  # inside the Examples while they are written
SHARD_ROWS = 250_000  # a split gets a shard (a writing thread) per this many rows, up to the cores


def in_process(beam_args: list[str] | None, exec_properties: dict) -> bool:
    """Whether this ingestion runs here: no other Beam runner named, tf.Example output."""
    for arg in beam_args or []:
        name, _, value = arg.partition("=")
        if name == "--runner" and value not in IN_PROCESS_RUNNERS:
            return False
    payload = exec_properties.get("output_data_format") or example_gen_pb2.FORMAT_TF_EXAMPLE
    return payload == example_gen_pb2.FORMAT_TF_EXAMPLE


@dataclass
class Ingested:
    rows: int = 0
    bad: list[BadRow] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)  # the output splits' names


def _partition_key(config: example_gen_pb2.SplitConfig, names: list[str], kinds: list) -> str:
    """The feature the split is hashed on ('' for the whole Example), checked as TFX does."""
    name = config.partition_feature_name
    if not name:
        return ""
    if name not in names:
        raise TfxdError(
            f"output_config.split_config.partition_feature_name: {name!r} is no column of the "
            f"CSV (columns: {', '.join(names)}); fix: name one of them"
        )
    kind = kinds[len(names) - 1 - names[::-1].index(name)]
    if kind not in (Kind.INT, Kind.STRING):
        raise TfxdError(
            f"output_config.split_config.partition_feature_name: {name!r} holds "
            f"{'no value' if kind == Kind.UNKNOWN else 'floats'}; TFX splits only on an INT or "
            "STRING feature; fix: name another column"
        )
    return name


@contextmanager
def _spill_folder(uri: str) -> Iterator[str]:
    """A folder for the spilled cells: inside the output (a killed run's repair removes it with
    the partial outputs) where that is a local path, else a local temporary one."""
    if "://" in uri:
        with tempfile.TemporaryDirectory(prefix="tfxd-csv-") as tmp:
            yield tmp
        return
    folder = os.path.join(uri, SPILL)
    os.makedirs(folder, exist_ok=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Output:
    """An output split's shards, a thread each, each fed its share of every batch."""

    def __init__(self, folder: str, rows: int):
        shards = max(1, min(usable_cpus(), rows // SHARD_ROWS))
        self.shards = [SplitWriter(folder, i, shards) for i in range(shards)]

    def put(self, records: list[bytes]) -> None:
        n = len(self.shards)
        for i, shard in enumerate(self.shards):
            shard.put(records[len(records) * i // n : len(records) * (i + 1) // n])

    def close(self) -> None:
        for shard in self.shards:
            shard.close()


@contextmanager
def _gc_frozen() -> Iterator[None]:
    """The process's objects out of the garbage collector's sight while the files are read: on
    Python 3.10 each pyarrow CSV read scans every tracked object (``gc.get_referrers``, 40 ms with
    TensorFlow imported; pyarrow's ``SignalStopHandler``), once per chunk."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _split(
    paths: list[str],
    names: list[str],
    facts: RowFacts,
    folders: list[str],
    config: example_gen_pb2.SplitConfig | None,
    done: Ingested,
) -> None:
    """One input split into ``folders`` (one per output split)."""
    schema = pa.schema([(f"c{i}", pa.binary()) for i in range(len(names))])
    kinds = Kinds(len(names))
    buckets = [0]
    for s in config.splits if config else []:
        buckets.append(buckets[-1] + s.hash_buckets)
    with _spill_folder(os.path.dirname(folders[0])) as tmp:
        spill = os.path.join(tmp, "cells.arrow")
        rows = 0
        with (
            pa.OSFile(spill, "wb") as sink,
            pa.ipc.new_stream(sink, schema) as stream,
            _gc_frozen(),
        ):
            for path in paths:
                found = FileRows()
                for batch in read_file(path, names, facts, found):
                    kinds.add(batch)
                    stream.write_batch(batch)
                rows += found.rows
                done.bad.extend(found.bad)
        done.rows += rows
        key = _partition_key(config, names, kinds.kinds) if config else ""
        shares = [s.hash_buckets / buckets[-1] for s in config.splits] if config else [1]
        outputs = [Output(f, int(rows * share)) for f, share in zip(folders, shares, strict=True)]
        try:
            with pa.OSFile(spill, "rb") as source:  # read, not mapped: RSS stays a few batches
                for batch in pa.ipc.open_stream(source):
                    serialized, values = examples(batch, names, kinds.kinds)
                    records = serialized.to_pylist()
                    if len(outputs) == 1:
                        outputs[0].put(records)
                        continue
                    keys = values[key].to_pylist() if key else records
                    parts: list[list[bytes]] = [[] for _ in outputs]
                    for record, part in zip(records, splits_of(keys, buckets[1:]), strict=True):
                        parts[part].append(record)
                    for output, part in zip(outputs, parts, strict=True):
                        output.put(part)
        finally:
            for output in outputs:
                output.close()


def ingest(exec_properties: dict, uri: str, headers: dict[str, str], facts: RowFacts) -> Ingested:
    """Write the Examples of every split of ``exec_properties`` under ``uri`` (module doc)."""
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties["input_config"], input_config)
    output_config = example_gen_pb2.Output()
    proto_utils.json_to_proto(exec_properties["output_config"], output_config)
    names = utils.generate_output_split_names(input_config, output_config)
    config = output_config.split_config if output_config.split_config.splits else None
    groups = (
        [(input_config.splits[0], names)]
        if config
        else [(split, [name]) for split, name in zip(input_config.splits, names, strict=True)]
    )
    done = Ingested(splits=names)
    for split, outputs in groups:
        pattern = os.path.join(exec_properties["input_base"], split.pattern)
        columns = headers[pattern].strip().split(",")  # as TFX splits it
        folders = [os.path.join(uri, f"Split-{name}") for name in outputs]
        paths = files(exec_properties, split.pattern)
        _split(paths, columns, facts, folders, config, done)
    return done
