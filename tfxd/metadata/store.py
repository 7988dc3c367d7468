"""The MLMD connection a pipeline file declares (SQLite or MySQL), for runners and views alike."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tfxd.errors import MetadataError
from tfxd.spec import LoadedSpec


def connection_config(loaded: LoadedSpec, *, readonly: bool = True) -> Any:
    """MLMD connection from the pipeline file: SQLite (``spec.metadata.sqlite``, default
    ``<root>/metadata.db``) or MySQL with credentials from the named env vars."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    store = loaded.checked().spec.metadata
    config = mlmd.ConnectionConfig()
    if store.mysql is not None:
        m = store.mysql
        missing = [v for v in (m.user_env, m.password_env) if v not in os.environ]
        if missing:
            raise MetadataError(
                f"{loaded.path}: spec.metadata.mysql needs environment variable(s) "
                f"{', '.join(missing)}: export them first"
            )
        config.mysql.host = m.host
        config.mysql.port = m.port
        config.mysql.database = m.database
        config.mysql.user = os.environ[m.user_env]
        config.mysql.password = os.environ[m.password_env]
        return config
    root = loaded.resolve(loaded.checked().spec.root)
    path = Path(loaded.resolve(store.sqlite) if store.sqlite else root / "metadata.db")
    config.sqlite.filename_uri = str(path)
    if readonly:
        if not path.is_file():
            raise MetadataError(
                f"no ML Metadata at {path}: run the pipeline first (tfxd run {loaded.path})"
            )
        config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READONLY
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return config


def open_store(loaded: LoadedSpec) -> Any:
    from ml_metadata import metadata_store

    return metadata_store.MetadataStore(connection_config(loaded))
