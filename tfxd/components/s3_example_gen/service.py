"""``s3://`` for TFX's fileio (TensorFlow 2.16 no longer reads s3:// itself): what TFX's ExampleGen
machinery needs to list, stat and read objects, over ``tfxd.infra.s3``; and the checks that the
files of one split share their columns. Importing this module registers the filesystem ahead of
TensorFlow's plugin.
"""

from __future__ import annotations

import io
from typing import Any

from tfx.dsl.io import filesystem, filesystem_registry

from tfxd.infra.s3 import SCHEME, Reader, S3Error, client, explain, glob, list_objects, split


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
        stream = io.BufferedReader(Reader(body), 1 << 20)  # streamed: a header costs one buffer
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
