"""The drain's write-ahead journal: what makes "each message exactly once" hold across crashes.

A folder (local, s3:// or gs://) per node holds, for span N:
- ``N.msgs``: the drained messages, written whole and durably *before* any is acknowledged;
- ``N.emitted``: the Examples URI an executor wrote from them;
- ``N.ids``: once span N is published in ML Metadata, its message ids (and nothing else).

At most one span is open (``N.msgs``). A run first settles it: published → ``N.ids``; otherwise
it is emitted again, under the same span number, and nothing new is drained. Message ids in
``*.msgs`` and ``*.ids`` are never taken again: a redelivery is acknowledged and dropped.
"""

from __future__ import annotations

import json
import os
import re
import struct
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from tfx.dsl.io import fileio

# A journal under an s3:// pipeline root: TensorFlow 2.16 no longer reads s3:// itself, and an
# executor in its own container imports nothing else that would register it.
from tfxd.components.s3_example_gen import service as _s3  # noqa: F401
from tfxd.errors import TfxdError


class StreamError(TfxdError):
    """A stream cannot be drained or decoded: the message names the source and the fix."""


@dataclass
class Message:
    """One delivered message. ``id`` is unique within its source (a Pub/Sub message id, a Kafka
    ``partition:offset``); ``ack_id`` belongs to this delivery only and is not journaled."""

    id: str
    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)
    publish_time: float = 0.0  # seconds since the epoch
    ack_id: str = ""


KEEP_IDS_SECONDS = 8 * 24 * 3600  # longer than Pub/Sub's default 7-day retention
_NAME = re.compile(r"^(\d+)\.(msgs|emitted|ids)$")


def _write(path: str, data: bytes) -> None:
    """Write a file whole or not at all: an object store's PUT is; a local file goes to a
    temporary name, is fsynced, then renamed."""
    if "://" in path:
        with fileio.open(path, "wb") as handle:
            handle.write(data)
        return
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with fileio.open(tmp, "wb") as handle:
        handle.write(data)
        if hasattr(handle, "fileno"):
            handle.flush()
            os.fsync(handle.fileno())
    fileio.rename(tmp, path, overwrite=True)


def _read(path: str) -> bytes:
    with fileio.open(path, "rb") as handle:
        return handle.read()


def encode(messages: Iterable[Message]) -> bytes:
    """Messages as records: lengths of a JSON head and of the payload, then both."""
    out = bytearray()
    for m in messages:
        head = json.dumps(
            {"id": m.id, "attributes": m.attributes, "publish_time": m.publish_time}
        ).encode("utf-8")
        out += struct.pack(">II", len(head), len(m.data)) + head + m.data
    return bytes(out)


def decode(raw: bytes) -> list[Message]:
    out, at = [], 0
    while at < len(raw):
        heads, size = struct.unpack(">II", raw[at : at + 8])
        head = json.loads(raw[at + 8 : at + 8 + heads])
        data = raw[at + 8 + heads : at + 8 + heads + size]
        at += 8 + heads + size
        out.append(Message(data=bytes(data), **head))
    return out


class Journal:
    def __init__(self, folder: str):
        self.folder = folder.rstrip("/")
        fileio.makedirs(self.folder)

    def _path(self, span: int, kind: str) -> str:
        return f"{self.folder}/{span}.{kind}"

    def _files(self) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        for name in fileio.listdir(self.folder):
            match = _NAME.match(name.rstrip("/"))
            if match:
                found.setdefault(int(match.group(1)), set()).add(match.group(2))
        return found

    def open_span(self) -> int | None:
        """The span drained but not yet known to be published, if any."""
        spans = [s for s, kinds in self._files().items() if "msgs" in kinds]
        return max(spans) if spans else None

    def next_span(self) -> int:
        return max(self._files(), default=0) + 1

    def stage(self, span: int, messages: list[Message]) -> None:
        _write(self._path(span, "msgs"), encode(messages))

    def messages(self, span: int) -> list[Message]:
        return decode(_read(self._path(span, "msgs")))

    def mark_emitted(self, span: int, uri: str) -> None:
        _write(self._path(span, "emitted"), uri.encode("utf-8"))

    def emitted(self, span: int) -> str | None:
        path = self._path(span, "emitted")
        return _read(path).decode("utf-8") if fileio.exists(path) else None

    def commit(self, span: int) -> None:
        """Span ``span`` is published: keep only its ids (for de-duplication)."""
        ids = "\n".join(m.id for m in self.messages(span))
        _write(self._path(span, "ids"), f"{time.time():.0f}\n{ids}".encode())
        for kind in ("emitted", "msgs"):
            if fileio.exists(self._path(span, kind)):
                fileio.remove(self._path(span, kind))

    def seen(self) -> set[str]:
        """Every message id already in a span (open or published); old id lists are pruned,
        the newest always kept so span numbers never go back."""
        files = self._files()
        newest = max(files, default=0)
        ids: set[str] = set()
        for span, kinds in sorted(files.items()):
            if "msgs" in kinds:
                ids.update(m.id for m in self.messages(span))
            if "ids" in kinds:
                stamp, *lines = _read(self._path(span, "ids")).decode().split("\n")
                if span != newest and time.time() - float(stamp) > KEEP_IDS_SECONDS:
                    fileio.remove(self._path(span, "ids"))
                    continue
                ids.update(line for line in lines if line)
        return ids
