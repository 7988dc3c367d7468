"""The MLMD connection a pipeline file declares (SQLite or MySQL), for runners and views alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfxd.errors import MetadataError
from tfxd.file import LoadedFile
from tfxd.infra.mlmd_reference import connection_from_reference


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


def open_store(loaded: LoadedFile, *, readonly: bool = True) -> Any:
    """The pipeline file's ML Metadata store; a MySQL server that is down or refuses the login
    is a ``MetadataError`` naming the server and the env vars (never the password)."""
    from ml_metadata import metadata_store

    config = connection_config(loaded, readonly=readonly)
    try:
        return metadata_store.MetadataStore(config)
    except RuntimeError as err:
        ref = reference(loaded)
        if "mysql" not in ref:
            raise MetadataError(f"{loaded.path}: cannot open ML Metadata: {err}") from None
        raise MetadataError(
            f"{loaded.path}: spec.metadata.mysql: {unreachable(ref['mysql'])}"
        ) from None


def unreachable(mysql: dict[str, Any]) -> str:
    """Why a MySQL server could not be used: nothing listens, or it refused the login."""
    import socket

    where = f"{mysql['host']}:{mysql['port']}"
    try:
        socket.create_connection((mysql["host"], int(mysql["port"])), timeout=5).close()
    except OSError as err:
        return (
            f"no MySQL server answers at {where} ({err.strerror or err}): start it, or fix host "
            "and port"
        )
    return (
        f"the server at {where} refused the login of the user in ${mysql['user_env']} with the "
        f"password in ${mysql['password_env']}, or has no database {mysql['database']!r} it may "
        "use: check those variables and the user's grants"
    )
