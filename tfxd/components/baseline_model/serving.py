"""What serves under a destination folder: the version the serving pointer pins, else the newest.
``fs`` is TFX's fileio in the executor (any filesystem it knows) and plain ``os`` in ``tfxd plan``,
which predicts the node's cache key without importing TFX."""

from __future__ import annotations

import os
from typing import Any

from tfxd.errors import TfxdError
from tfxd.infra.versions import POINTER, pointed


class LOCAL:
    """The local filesystem with fileio's four calls used here."""

    exists = staticmethod(os.path.exists)
    isdir = staticmethod(os.path.isdir)
    listdir = staticmethod(os.listdir)
    open = staticmethod(open)


def serving_pointer(serving_dir: str, fs: Any = LOCAL) -> str | None:
    """The version folder the serving pointer (``models.config``, written by tfxd's pushers and
    ``tfxd rollback``) pins."""
    pointer = os.path.join(serving_dir, POINTER)
    if not fs.exists(pointer):
        return None
    with fs.open(pointer, "r") as handle:
        found = pointed(handle.read())
    if found is None:
        raise TfxdError(f"BaselineModel: {pointer} should serve exactly one model version")
    return found


def latest_version(serving_dir: str, fs: Any = LOCAL) -> str | None:
    """The newest version folder under ``serving_dir`` holding a SavedModel: the largest
    numeric name (the Pusher's versions are timestamps). Half-written folders lack
    saved_model.pb and are skipped; a missing folder means no model yet."""
    if not fs.exists(serving_dir):
        return None
    if not fs.isdir(serving_dir):
        raise TfxdError(f"BaselineModel: source {serving_dir} is not a folder")
    versions = []
    for name in fs.listdir(serving_dir):
        name = name.rstrip("/")
        if name.isdigit() and fs.exists(os.path.join(serving_dir, name, "saved_model.pb")):
            versions.append(int(name))
    return str(max(versions)) if versions else None


def resolve(source: str, fs: Any = LOCAL) -> str:
    """The version folder serving now: the one the serving pointer pins, else the newest; ""
    when there is none yet. A version folder never changes once pushed, so this string is what
    the result depends on (the driver puts it into the cache key)."""
    found = serving_pointer(source, fs)
    if found is not None:
        return found
    version = latest_version(source, fs)
    return os.path.join(source, version) if version is not None else ""
