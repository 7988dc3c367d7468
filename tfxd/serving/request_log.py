"""The serving log: sampled request rows, as tf.Examples, in spans that are whole or absent.

Each logged row is the tf.Example the model was given (the features as the client sent them),
plus ``tfxd.version`` (the version that answered) and ``tfxd.<output>`` (its prediction). Rows
go to a span being written under a hidden name (``.tmp-span-…/data.tfrecord``) in a staging
folder (the log's own folder, or a local one for an S3 prefix); when it holds ``span_rows``
rows, is ``span_seconds`` old, another version answers, or the server stops, it is closed,
fsynced, renamed ``.ready-span-…`` and published as ``span-<N>`` (``log_store``). A crash
leaves only hidden folders: an open span, which no reader takes and the next start removes (at
most one open span's rows are lost, never half a span), or a closed one, which the next start
publishes. Writing happens on a thread of its own; a request only samples and queues.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import random
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfxd.serving.log_store import FolderLog, LogStore, open_log

log = logging.getLogger("tfxd.serve")
PREFIX = "tfxd."  # features the log adds; skew checks leave them out
TMP = ".tmp-span-"
READY = ".ready-span-"
RETRY_SECONDS = 30.0  # between tries to publish a span the store refused


@dataclass(frozen=True)
class LogSettings:
    location: str  # a folder or an s3:// prefix
    sample: float = 1.0
    span_rows: int = 100_000
    span_seconds: float = 3600.0
    staging: Path | None = None  # where spans are written before publishing (S3 only)

    def staging_folder(self, store: LogStore) -> Path:
        """The folder itself; for an S3 prefix the given staging folder or one per prefix in
        the temp folder (kept across restarts, so a span closed but not published is not lost)."""
        if isinstance(store, FolderLog):
            return store.folder
        if self.staging is not None:
            return self.staging
        digest = hashlib.sha256(self.location.encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / "tfxd-serving-log" / digest


def spans(location: str | Path) -> list[int]:
    """The published spans of a serving log, oldest first."""
    return open_log(str(location)).spans()


def record(serialized: bytes, version: int, outputs: dict[str, Any], row: int) -> bytes:
    """One logged row: the request's tf.Example with the version and its prediction added."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example.FromString(serialized)
    example.features.feature[PREFIX + "version"].int64_list.value.append(version)
    for name, values in outputs.items():
        value = values[row].reshape(-1).tolist()
        slot = example.features.feature[PREFIX + name]
        if values.dtype.kind == "f":
            slot.float_list.value.extend(value)
        elif values.dtype.kind in "iu":
            slot.int64_list.value.extend(value)
        else:
            slot.bytes_list.value.extend(
                v if isinstance(v, bytes) else str(v).encode() for v in value
            )
    return example.SerializeToString()


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class RequestLog:
    """Samples rows of answered requests and writes them into spans on its own thread."""

    def __init__(self, settings: LogSettings, seed: int | None = None):
        self.settings = settings
        self._random = random.Random(seed)
        self._queue: queue.Queue[tuple[list[bytes], int, dict[str, Any]] | None] = queue.Queue(
            maxsize=10_000
        )
        self._thread = threading.Thread(target=self._run, name="tfxd-request-log", daemon=True)
        self._writer: Any = None
        self._open: Path | None = None
        self._rows = 0
        self._opened = 0.0
        self._versions: set[int] = set()
        self.store = open_log(settings.location)
        self.staging = settings.staging_folder(self.store)
        self.dropped = 0  # rows not logged because the writer fell behind
        self._pending = False  # closed spans staged, not published yet
        self._retry_at = 0.0

    def start(self) -> None:
        self.staging.mkdir(parents=True, exist_ok=True)
        for stale in self.staging.glob(TMP + "*"):  # a crashed server's open span
            shutil.rmtree(stale, ignore_errors=True)
        self._thread.start()

    def offer(self, serialized: list[bytes], version: int, outputs: dict[str, Any]) -> None:
        """Queue the sampled rows of one answered request (never blocks the request)."""
        rows = [i for i in range(len(serialized)) if self._random.random() < self.settings.sample]
        if not rows:
            return
        picked = [serialized[i] for i in rows]
        taken = {name: values[rows] for name, values in outputs.items()}
        try:
            self._queue.put_nowait((picked, version, taken))
        except queue.Full:
            self.dropped += len(rows)

    def stop(self) -> None:
        """Write what is queued, close the open span, end the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=60)

    def _run(self) -> None:
        try:
            self.store.clean()
        except Exception as e:
            log.warning("serving log %s: not cleaned (%s)", self.store.location, e)
        self._publish()  # what a previous server closed but could not publish
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                item = ()  # type: ignore[assignment]
            if item is None:
                self._close()
                return
            try:
                if item:
                    self._write(*item)
                if self._open is not None and self._due():
                    self._close()
                elif self._pending and time.monotonic() >= self._retry_at:
                    self._publish()
            except Exception:  # a full disk must not stop serving; the rows are counted
                log.exception("writing the serving log")
                self._abandon()

    def _due(self) -> bool:
        return (
            self._rows >= self.settings.span_rows
            or time.monotonic() - self._opened >= self.settings.span_seconds
        )

    def _write(self, picked: list[bytes], version: int, outputs: dict[str, Any]) -> None:
        import tensorflow as tf

        if self._open is not None and self._versions and version not in self._versions:
            self._close()  # a span holds the answers of one version: its skew has one baseline
        for i, serialized in enumerate(picked):
            if self._open is None:
                self._open = self.staging / f"{TMP}{uuid.uuid4().hex[:8]}"
                self._open.mkdir()
                self._writer = tf.io.TFRecordWriter(str(self._open / "data.tfrecord"))
                self._rows, self._opened, self._versions = 0, time.monotonic(), set()
            self._writer.write(record(serialized, version, outputs, i))
            self._rows += 1
            self._versions.add(version)
            if self._rows >= self.settings.span_rows:
                self._close()

    def _close(self) -> None:
        if self._open is None:
            return
        self._writer.close()
        folder, self._open = self._open, None
        meta = {"rows": self._rows, "versions": sorted(self._versions), "closed": time.time()}
        (folder / "span.json").write_text(json.dumps(meta), encoding="utf-8")
        for name in ("data.tfrecord", "span.json"):
            with open(folder / name, "rb") as handle:
                os.fsync(handle.fileno())
        os.rename(folder, self.staging / (READY + folder.name[len(TMP) :]))
        self._publish()

    def _publish(self) -> None:
        """Publish every closed span staged, oldest first; one that fails waits for the next."""
        ready = sorted(self.staging.glob(READY + "*"), key=lambda p: p.stat().st_mtime)
        for folder in ready:
            try:
                number = self.store.publish(folder)
            except Exception as e:  # the store unreachable: kept, tried again later
                log.warning("serving log: %s not published yet (%s)", folder.name, e)
                self._pending, self._retry_at = True, time.monotonic() + RETRY_SECONDS
                return
            log.info("serving log: span-%s published to %s", number, self.store.location)
        self._pending = False

    def _abandon(self) -> None:
        if self._open is not None:
            shutil.rmtree(self._open, ignore_errors=True)
            self._open = None
