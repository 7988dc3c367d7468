"""``s3://`` for TFX's fileio, through boto3: what TFX's ExampleGen machinery needs to list, stat
and read objects (TensorFlow 2.16 no longer reads s3:// itself).

Endpoint, region and credentials come from boto3's own chain (``AWS_ENDPOINT_URL``,
``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``), never
from a pipeline file. Importing this module registers it ahead of TensorFlow's plugin.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from tfx.dsl.io import filesystem, filesystem_registry

from tfxd.errors import TfxdError

SCHEME = "s3://"
_GLOB = re.compile(r"[*?\[]")


class S3Error(TfxdError):
    """An S3 request failed: the message names the bucket/key and the likely fix."""


def split(path: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key)."""
    if not str(path).startswith(SCHEME):
        raise S3Error(f"{path}: not an s3:// path")
    bucket, _, key = str(path)[len(SCHEME) :].partition("/")
    if not bucket:
        raise S3Error(f"{path}: no bucket name")
    return bucket, key


def client() -> Any:
    """A boto3 S3 client for the environment as it is now (endpoint, profile, keys)."""
    keys = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION")
    return _client(tuple(os.environ.get(k) for k in keys))


@cache
def _client(environment: tuple) -> Any:
    import boto3

    return boto3.session.Session().client("s3")


def explain(err: Exception, path: str) -> S3Error:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(err, NoCredentialsError):
        return S3Error(
            f"{path}: no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
            "AWS_PROFILE in the environment (never in the pipeline file)"
        )
    if isinstance(err, EndpointConnectionError):
        return S3Error(f"{path}: cannot reach the S3 endpoint ({err}); check AWS_ENDPOINT_URL")
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket",):
            return S3Error(f"{path}: bucket '{split(path)[0]}' does not exist")
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            return S3Error(
                f"{path}: access denied ({code}): check the credentials in the environment and "
                "the bucket policy"
            )
        return S3Error(f"{path}: S3 error {code}: {err}")
    return S3Error(f"{path}: {err}")


def list_objects(prefix_path: str) -> list[dict[str, Any]]:
    """Every object under ``s3://bucket/prefix`` (paginated): Key, ETag, Size."""
    bucket, prefix = split(prefix_path)
    found: list[dict[str, Any]] = []
    try:
        pages = client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            found += page.get("Contents", [])
    except Exception as err:  # botocore raises many classes; each is explained
        raise explain(err, prefix_path) from err
    return found


def glob(pattern: str) -> list[str]:
    """Object paths matching a shell pattern (``*`` does not cross ``/``, as in TFX's glob)."""
    bucket, key_pattern = split(pattern)
    literal = _GLOB.split(key_pattern, maxsplit=1)[0]
    regex = re.compile(fnmatch.translate(key_pattern).replace(".*", "[^/]*"))
    keys = {o["Key"] for o in list_objects(f"{SCHEME}{bucket}/{literal}")}
    folders = {k[:i] for k in keys for i, c in enumerate(k) if c == "/"}  # "a/b/c" → a, a/b
    matched = {k for k in keys | folders if regex.fullmatch(k)}
    return sorted(f"{SCHEME}{bucket}/{k}" for k in matched)


def etag_fingerprint(paths: Iterable[str]) -> str:
    """A fingerprint of objects' contents: their ETags and sizes (not modification times), from
    one listing per bucket rather than a request per object."""
    by_bucket: dict[str, list[str]] = {}
    for path in paths:
        bucket, key = split(path)
        by_bucket.setdefault(bucket, []).append(key)
    parts = []
    for bucket, keys in sorted(by_bucket.items()):
        prefix = os.path.commonprefix(keys)
        listed = {o["Key"]: o for o in list_objects(f"{SCHEME}{bucket}/{prefix}")}
        for key in sorted(keys):
            if key not in listed:
                raise S3Error(f"{SCHEME}{bucket}/{key}: no such object")
            etag, size = listed[key]["ETag"].strip('"'), listed[key]["Size"]
            parts.append(f"{SCHEME}{bucket}/{key}:{etag}:{size}")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return f"num_files:{len(parts)},etag_sha256:{digest}"


def require_objects(base: str) -> None:
    """Fail, naming the prefix, when nothing is stored under it."""
    if not list_objects(base.rstrip("/") + "/"):
        raise S3Error(f"{base}: no objects under this prefix (is the prefix right?)")


def splits_fingerprint(base: str, splits: Iterable[tuple[str, str]]) -> str:
    """The ETag fingerprint of each split's resolved pattern under ``base``, one line per split."""
    parts = []
    for name, pattern in splits:
        files = glob(os.path.join(base, pattern))
        if not files:
            raise S3Error(f"{base}: split '{name}' pattern {pattern!r} matches nothing")
        parts.append(f"split:{name},{etag_fingerprint(files)}")
    return "\n".join(parts)


class _Reader(io.RawIOBase):
    """An object's body as a raw stream, read as it is consumed."""

    def __init__(self, body: Any):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def csv_header(path: str) -> str:
    """A CSV object's first line. Read as bytes: a bad byte further on is a row's problem."""
    with S3Filesystem.open(path, "rb") as handle:
        line = handle.readline()
    try:
        return line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise S3Error(
            f"{path}: the header line is not UTF-8 (byte {err.start}): save the file as UTF-8"
        ) from err


def same_csv_header(pattern: str, split_name: str) -> str:
    """The one header of the CSV files matching ``pattern``, or an S3Error naming two that
    differ (schema drift inside one split)."""
    first: tuple[str, str] | None = None
    for path in sorted(glob(pattern)):
        header = csv_header(path)
        if first is None:
            first = (path, header)
        elif header != first[1]:
            raise S3Error(
                f"split '{split_name}': {path} has the header {header!r} but {first[0]} has "
                f"{first[1]!r}: the files of one split must share their columns (schema drift); "
                "fix the file, or move it to its own span"
            )
    return first[1] if first else ""


def _tail(path: str, size: int) -> bytes:
    """The last ``size`` bytes of an object (all of it, if smaller): one ranged GET."""
    bucket, key = split(path)
    try:
        body = client().get_object(Bucket=bucket, Key=key, Range=f"bytes=-{size}")["Body"]
        return body.read()
    except Exception as err:
        raise explain(err, path) from err


def parquet_columns(path: str) -> dict[str, str]:
    """A Parquet object's columns and their Arrow types, from its footer alone (one or two
    ranged reads, whatever the object's size)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tail = _tail(path, 64 << 10)
    if len(tail) < 12 or tail[-4:] != b"PAR1":
        raise S3Error(f"{path}: not a Parquet file (no PAR1 footer): check the object's format")
    length = int.from_bytes(tail[-8:-4], "little") + 8
    if length > len(tail):
        tail = _tail(path, length)
    try:  # the footer, framed as the smallest Parquet file a reader accepts
        schema = pq.read_schema(pa.BufferReader(b"PAR1" + tail[-length:]))
    except (pa.ArrowException, OSError) as err:
        raise S3Error(f"{path}: unreadable Parquet footer ({err})") from err
    return {field.name: str(field.type) for field in schema}


def same_parquet_columns(pattern: str, split_name: str) -> None:
    """The Parquet files matching ``pattern`` have the same columns and types, or an S3Error
    names two that differ and how (schema drift inside one split)."""
    first: tuple[str, dict[str, str]] | None = None
    for path in sorted(glob(pattern)):
        columns = parquet_columns(path)
        if first is None:
            first = (path, columns)
            continue
        if columns == first[1]:
            continue
        before = first[1]
        changes = [f"{c}: {before[c]} → {t}" for c, t in columns.items() if before.get(c, t) != t]
        changes += [f"adds {c}" for c in columns if c not in before]
        changes += [f"lacks {c}" for c in before if c not in columns]
        raise S3Error(
            f"split '{split_name}': {path} differs from {first[0]} ({'; '.join(changes)}): the "
            "files of one split must share their columns (schema drift); fix the file, or move "
            "it to its own span"
        )


class _Writer(io.BytesIO):
    def __init__(self, path: str, text: bool):
        super().__init__()
        self.path, self.text = path, text

    def write(self, data: Any) -> int:  # type: ignore[override]
        return super().write(data.encode() if isinstance(data, str) else data)

    def close(self) -> None:
        if not self.closed:
            bucket, key = split(self.path)
            client().put_object(Bucket=bucket, Key=key, Body=self.getvalue())
        super().close()


class S3Filesystem(filesystem.Filesystem):
    """TFX fileio over boto3 for ``s3://``; folders are key prefixes."""

    SUPPORTED_SCHEMES = [SCHEME]

    @staticmethod
    def open(name: Any, mode: str = "r") -> Any:
        path = str(name)
        if "w" in mode:
            return _Writer(path, "b" not in mode)
        bucket, key = split(path)
        try:
            body = client().get_object(Bucket=bucket, Key=key)["Body"]
        except Exception as err:
            raise explain(err, path) from err
        stream = io.BufferedReader(_Reader(body), 1 << 20)  # streamed: a header costs one buffer
        return stream if "b" in mode else io.TextIOWrapper(stream, encoding="utf-8")

    @staticmethod
    def rmtree(path: Any) -> None:
        prefix = str(path).rstrip("/") + "/"
        bucket, _ = split(prefix)
        for obj in list_objects(prefix):
            client().delete_object(Bucket=bucket, Key=obj["Key"])

    @staticmethod
    def exists(path: Any) -> bool:
        """An object with this key, or a "folder" (objects under key/)."""
        whole = str(path).rstrip("/")
        key = split(whole)[1]
        return any(o["Key"] == key or o["Key"].startswith(key + "/") for o in list_objects(whole))

    @staticmethod
    def glob(pattern: Any) -> list[Any]:
        return glob(str(pattern))

    @staticmethod
    def isdir(path: Any) -> bool:
        return bool(list_objects(str(path).rstrip("/") + "/"))

    @staticmethod
    def listdir(path: Any) -> list[Any]:
        base = str(path).rstrip("/") + "/"
        bucket, prefix = split(base)
        names = {o["Key"][len(prefix) :].split("/", 1)[0] for o in list_objects(base)}
        return sorted(n for n in names if n)

    @staticmethod
    def makedirs(path: Any) -> None:  # prefixes need no creation
        return None

    @staticmethod
    def mkdir(path: Any) -> None:
        return None

    @staticmethod
    def stat(path: Any) -> Any:
        bucket, key = split(str(path))
        try:
            head = client().head_object(Bucket=bucket, Key=key)
        except Exception as err:
            raise explain(err, str(path)) from err
        modified = head["LastModified"].timestamp()
        return _Stat(head["ContentLength"], int(modified * 1e9), head["ETag"].strip('"'))

    @staticmethod
    def remove(path: Any) -> None:
        bucket, key = split(str(path))
        client().delete_object(Bucket=bucket, Key=key)

    @staticmethod
    def walk(top: Any, topdown: bool = True, onerror: Any = None) -> Any:
        base = str(top).rstrip("/")
        dirs = [d for d in S3Filesystem.listdir(base) if S3Filesystem.isdir(f"{base}/{d}")]
        files = [f for f in S3Filesystem.listdir(base) if f not in dirs]
        yield base, dirs, files
        for d in dirs:
            yield from S3Filesystem.walk(f"{base}/{d}")


class _Stat:
    def __init__(self, length: int, mtime_nsec: int, etag: str):
        self.length, self.mtime_nsec, self.etag = length, mtime_nsec, etag


filesystem_registry.DEFAULT_FILESYSTEM_REGISTRY.register(S3Filesystem, priority=5)
