"""Object storage under ``s3://``, through boto3: listing, shell-pattern globs, ETag fingerprints,
streamed reads, and errors that name the bucket or key and the fix. No TFX: the S3ExampleGen's
fileio plugin, ``tfxd examples`` and ``tfxd watch``'s span listing all use it.

Endpoint, region and credentials come from boto3's own chain (``AWS_ENDPOINT_URL``,
``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``), never
from a pipeline file.
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


class Reader(io.RawIOBase):
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


def keys_under(base: str) -> list[str]:
    """The keys of the objects under the ``s3://`` prefix ``base``, relative to it."""
    prefix_path = base.rstrip("/") + "/"
    prefix = split(prefix_path)[1]
    return [o["Key"][len(prefix) :] for o in list_objects(prefix_path)]
