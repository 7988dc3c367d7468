"""A run's outputs against another run's, node by node and file by file (``tfxd reproduce``).

Data outputs (examples, statistics, schemas, anomalies) must be identical; what "identical" means
for files whose bytes vary between equal results: a gzip file is compared uncompressed (its header
holds the time it was written), a file of TFRecords record by record in any order (Beam writes them
in the order its bundles finish), each tf.Example by its content (the order of its feature map in
its bytes is not fixed), and TFDV statistics with floats to 9 significant digits (sums over
floats depend on the order Beam combines them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfxd.mlmd.views import Run

IDENTICAL_TYPES = ("Examples", "ExampleStatistics", "Schema", "ExampleAnomalies")
STATISTICS = "FeatureStats.pb"  # TFDV's statistics file in an ExampleStatistics artifact


@dataclass
class OutputCheck:
    node: str
    output: str
    type: str
    identical: bool
    detail: str
    required: bool


def tree_digest(uri: str) -> dict[str, str]:
    """A digest of every file under ``uri`` (a folder or a file), by relative path: a gzip file by
    its uncompressed bytes (its header carries the time it was written), and a file of TFRecords by
    its records in any order (Beam writes them in the order its bundles finish), each tf.Example
    by its content."""
    path = Path(uri)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {(str(f.relative_to(path)) if f != path else f.name): _digest(f) for f in files}


def _digest(path: Path) -> str:
    import gzip

    data = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    if path.name == STATISTICS:
        return "statistics:" + _statistics_digest(data)
    records = _records(data)
    if records is None:
        return hashlib.sha256(data).hexdigest()
    digests = sorted(hashlib.sha256(_canonical(r)).hexdigest() for r in records)
    return "records:" + hashlib.sha256("".join(digests).encode()).hexdigest()


def _statistics_digest(data: bytes) -> str:
    """TFDV statistics with every float rounded to 9 significant digits: sums over floats (means,
    deviations) depend on the order Beam combines them, in the last bits."""
    import json

    from google.protobuf import json_format
    from tensorflow_metadata.proto.v0 import statistics_pb2

    stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(data)

    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            return float(f"{value:.9g}")
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value

    shown = rounded(json_format.MessageToDict(stats))
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def _canonical(record: bytes) -> bytes:
    """A tf.Example serialized with its feature map in key order (the order a writer emits map
    entries in is not fixed); other records as they are."""
    import warnings

    from tensorflow.core.example import example_pb2

    try:
        with warnings.catch_warnings():  # a record that is not an Example may parse partly
            warnings.simplefilter("ignore", RuntimeWarning)
            example = example_pb2.Example.FromString(record)
    except Exception:  # not an Example
        return record
    return example.SerializeToString(deterministic=True)


def _records(data: bytes) -> list[bytes] | None:
    """The records of TFRecord-framed ``data`` (length, its CRC, the record, its CRC); None when
    ``data`` is not framed so."""
    import struct

    out, at = [], 0
    while at < len(data):
        if at + 12 > len(data):
            return None
        (length,) = struct.unpack_from("<Q", data, at)
        end = at + 12 + length + 4
        if end > len(data):
            return None
        out.append(data[at + 12 : at + 12 + length])
        at = end
    return out if out else None


def outputs_of(store: Any, run: Run) -> dict[tuple[str, str], Any]:
    """(node, output key) → the artifact each node of ``run`` output (or reused, when cached)."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    ids = {n.execution_id: n.node for n in run.nodes}
    events = [
        e for e in store.get_events_by_execution_ids(list(ids)) if e.type == mlmd.Event.OUTPUT
    ]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    types = {t.id: t.name for t in store.get_artifact_types()}
    out = {}
    for event in events:
        key = event.path.steps[0].key if event.path.steps else ""
        artifact = artifacts[event.artifact_id]
        out[(ids[event.execution_id], key)] = (artifact, types.get(artifact.type_id, ""))
    return out


def compare_outputs(
    old: dict[tuple[str, str], Any], new: dict[tuple[str, str], Any]
) -> list[OutputCheck]:
    checks = []
    for (node, key), (artifact, type_name) in sorted(old.items()):
        if (node, key) not in new:  # e.g. an output the component makes only when asked
            detail = "only in the recorded run: the reproduction did not produce it"
            checks.append(OutputCheck(node, key, type_name, False, detail, False))
            continue
        was, now = tree_digest(artifact.uri), tree_digest(new[(node, key)][0].uri)
        differing = sorted(n for n in set(was) | set(now) if was.get(n) != now.get(n))
        detail = (
            f"{len(was)} file(s) identical"
            if not differing
            else f"{len(differing)} of {len(set(was) | set(now))} file(s) differ: "
            + ", ".join(differing[:3])
            + (" …" if len(differing) > 3 else "")
        )
        checks.append(
            OutputCheck(node, key, type_name, not differing, detail, type_name in IDENTICAL_TYPES)
        )
    return checks
