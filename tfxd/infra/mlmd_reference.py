"""An ML Metadata connection by reference: a SQLite path, or a MySQL server with the *names* of the
env vars holding its credentials. Safe to put in exec properties; resolved where it is used."""

from __future__ import annotations

import os
from typing import Any

from tfxd.errors import MetadataError


def connection_from_reference(reference: dict[str, Any], *, readonly: bool = True) -> Any:
    """``{"sqlite": path}`` or ``{"mysql": {host, port, database, user_env, password_env}}``."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    if "mysql" in reference:
        m = reference["mysql"]
        missing = [v for v in (m["user_env"], m["password_env"]) if v not in os.environ]
        if missing:
            raise MetadataError(
                f"MySQL ML Metadata needs environment variable(s) {', '.join(missing)}: "
                "export them first"
            )
        config.mysql.host = m["host"]
        config.mysql.port = int(m["port"])
        config.mysql.database = m["database"]
        config.mysql.user = os.environ[m["user_env"]]
        config.mysql.password = os.environ[m["password_env"]]
        return config
    config.sqlite.filename_uri = reference["sqlite"]
    config.sqlite.connection_mode = (
        mlmd.SqliteMetadataSourceConfig.READONLY
        if readonly
        else mlmd.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return config
