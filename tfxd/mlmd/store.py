"""The MLMD connection a pipeline file declares (SQLite or MySQL), for runners and views alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfxd.components.mlmd_reference import connection_from_reference
from tfxd.errors import MetadataError
from tfxd.file import LoadedFile


def reference(loaded: LoadedFile) -> dict[str, Any]:
    """The pipeline file's MLMD as a reference (paths and env var names, no credentials)."""
    store = loaded.checked().body.metadata
    if store.mysql is not None:
        return {
            "mysql": store.mysql.model_dump(
                include={"host", "port", "database", "user_env", "password_env"}
            )
        }
    root = loaded.resolve(loaded.checked().body.root)
    path = Path(loaded.resolve(store.sqlite) if store.sqlite else root / "metadata.db")
    return {"sqlite": str(path)}


def connection_config(loaded: LoadedFile, *, readonly: bool = True) -> Any:
    """MLMD connection from the pipeline file: SQLite (``spec.metadata.sqlite``, default
    ``<root>/metadata.db``) or MySQL with credentials from the named env vars."""
    ref = reference(loaded)
    if "sqlite" in ref:
        path = Path(ref["sqlite"])
        if readonly and not path.is_file():
            raise MetadataError(
                f"no ML Metadata at {path}: run the pipeline first (tfxd run {loaded.path})"
            )
        if not readonly:
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return connection_from_reference(ref, readonly=readonly)
    except MetadataError as err:
        raise MetadataError(f"{loaded.path}: spec.metadata: {err}") from None


def open_store(loaded: LoadedFile) -> Any:
    from ml_metadata import metadata_store

    return metadata_store.MetadataStore(connection_config(loaded))
