"""What lies under an object store's prefix, by the URI's scheme: the one place that knows which
stores tfxd reads (``s3://``; the pipeline file model refuses the others)."""

from __future__ import annotations

from tfxd.errors import TfxdError


def keys_under(uri: str) -> list[str]:
    """The paths of the objects under ``uri``, relative to it."""
    scheme = uri.partition("://")[0]
    if scheme == "s3":
        from tfxd.infra import s3

        return s3.keys_under(uri)
    raise TfxdError(f"{uri}: tfxd reads no {scheme}:// store (s3:// is the one it reads)")
