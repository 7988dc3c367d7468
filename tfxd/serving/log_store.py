"""Where the serving log's spans are kept: a local folder, or an S3 prefix (``s3://bucket/key``).

A span is written in a local staging folder and published whole once closed. In a folder,
publishing is a rename to ``span-<N>``. Under an S3 prefix it is two PUTs:
``span-<N>/data.tfrecord`` with ``If-None-Match: *`` (so two servers sharing a prefix never
take the same N), then ``span-<N>/span.json``, the marker: a span without its marker is not
listed, so readers see a span whole or not at all. A closed span that could not be published
(the store unreachable) stays staged and is published later or by the next start; nothing
closed is lost.
Credentials come from boto3's own chain (``AWS_*`` variables, profiles, instance roles); the
pipeline file holds only the prefix.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

from tfxd.errors import TfxdError

SPAN = re.compile(r"^span-(\d+)$")
FILES = ("data.tfrecord", "span.json")  # the marker last
CLAIMED = ("PreconditionFailed", "ConditionalRequestConflict")  # 412, or 409 while another writes
ORPHAN_SECONDS = 3600.0  # data with no marker this old is a publisher that died between PUTs


class LogStore(Protocol):
    location: str

    def spans(self) -> list[int]:
        """The published spans, oldest first."""
        ...

    def publish(self, ready: Path) -> int:
        """Publish a closed span's local folder as the next span; the folder is gone after."""
        ...

    def fetch(self, span: int, into: Path) -> Path:
        """A local folder holding the span's files."""
        ...

    def clean(self) -> None:
        """Remove what a publisher that died part-way left."""
        ...


def open_log(location: str) -> LogStore:
    """The store behind a serving log's ``path`` (checked by the file model: a folder, or an
    ``s3://`` prefix with a bucket)."""
    return S3Log(location) if location.startswith("s3://") else FolderLog(location)


class FolderLog:
    def __init__(self, location: str):
        self.location = location
        self.folder = Path(location)

    def spans(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        found = (SPAN.match(p.name) for p in self.folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def publish(self, ready: Path) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            number = max([0, *self.spans()]) + 1
            try:
                os.rename(ready, self.folder / f"span-{number}")
                return number
            except OSError:
                if not (self.folder / f"span-{number}").exists():
                    raise
        raise TfxdError(f"{self.folder}: no free span number after 100 tries")

    def fetch(self, span: int, into: Path) -> Path:
        return self.folder / f"span-{span}"

    def clean(self) -> None:
        return None


class S3Log:
    def __init__(self, location: str):
        self.location = location
        bucket, _, prefix = location[len("s3://") :].partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client("s3")
        return self._client

    def _key(self, span: int, name: str) -> str:
        return "/".join(p for p in (self.prefix, f"span-{span}", name) if p)

    def _objects(self) -> dict[tuple[int, str], Any]:
        """(span, file name) → the listed object, for every object under span-N/ folders."""
        start = f"{self.prefix}/" if self.prefix else ""
        out = {}
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            ):
                for item in page.get("Contents", []):
                    folder, _, name = item["Key"][len(start) :].partition("/")
                    if (m := SPAN.match(folder)) and name in FILES:
                        out[int(m.group(1)), name] = item
        except Exception as e:  # botocore's errors: no bucket, no credentials, no endpoint
            raise TfxdError(
                f"serving log {self.location}: cannot list it ({e}): create the bucket, or "
                "check AWS_ENDPOINT_URL and the credentials in the environment"
            ) from e
        return out

    def spans(self) -> list[int]:
        return sorted(span for span, name in self._objects() if name == "span.json")

    def publish(self, ready: Path) -> int:
        from botocore.exceptions import ClientError

        number = max([0, *(span for span, _ in self._objects())]) + 1
        for _ in range(100):
            try:
                with open(ready / "data.tfrecord", "rb") as body:
                    self.client.put_object(
                        Bucket=self.bucket,
                        Key=self._key(number, "data.tfrecord"),
                        Body=body,
                        IfNoneMatch="*",
                    )
                break
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in CLAIMED:
                    raise
                number += 1  # another server took it
        else:
            raise TfxdError(f"{self.location}: no free span number after 100 tries")
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(number, "span.json"),
            Body=(ready / "span.json").read_bytes(),
        )
        shutil.rmtree(ready)
        return number

    def fetch(self, span: int, into: Path) -> Path:
        folder = into / f"span-{span}"
        folder.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            self.client.download_file(self.bucket, self._key(span, name), str(folder / name))
        return folder

    def clean(self) -> None:
        objects = self._objects()
        for (span, _), item in objects.items():
            if (span, "span.json") in objects:
                continue
            if time.time() - item["LastModified"].timestamp() > ORPHAN_SECONDS:
                self.client.delete_object(Bucket=self.bucket, Key=item["Key"])
