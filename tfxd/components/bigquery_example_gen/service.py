"""BigQuery I/O: clients from the environment, read sessions over tables, paged query results.
Plain functions, testable without TFX.

Endpoints come from the environment only: ``BIGQUERY_EMULATOR_HOST`` (a URL, honoured by the
BigQuery client itself) and ``BIGQUERY_STORAGE_EMULATOR_HOST`` (host:port of the Storage Read
gRPC API) point at an emulator, with anonymous credentials; otherwise Application Default
Credentials (``GOOGLE_APPLICATION_CREDENTIALS`` or the node's service account).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from tfxd.errors import TfxdError

TABLE = re.compile(r"^(?:([a-z][a-z0-9-]*[a-z0-9])[.:])?(\w+)\.([\w$-]+)$")
PAGE_SIZE = 10_000


class BigQueryError(TfxdError):
    """A table or query cannot be read: missing, not allowed, or invalid."""


def _credentials() -> Any:
    if os.environ.get("BIGQUERY_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    return None


def _no_credentials(err: Exception) -> BigQueryError:
    return BigQueryError(
        "BigQuery: no credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key "
        f"file (or run on a node with a service account) ({err})"
    )


def client(project: str) -> Any:
    import google.auth.exceptions
    from google.cloud import bigquery

    try:
        return bigquery.Client(project=project, credentials=_credentials())
    except google.auth.exceptions.DefaultCredentialsError as err:
        raise _no_credentials(err) from err


def read_client() -> Any:
    import google.auth.exceptions

    try:
        return _read_client()
    except google.auth.exceptions.DefaultCredentialsError as err:
        raise _no_credentials(err) from err


def _read_client() -> Any:
    from google.cloud.bigquery_storage_v1 import BigQueryReadClient

    host = os.environ.get("BIGQUERY_STORAGE_EMULATOR_HOST")
    if host:
        import grpc
        from google.cloud.bigquery_storage_v1.services.big_query_read.transports import (
            BigQueryReadGrpcTransport,
        )

        return BigQueryReadClient(
            transport=BigQueryReadGrpcTransport(channel=grpc.insecure_channel(host))
        )
    return BigQueryReadClient(credentials=_credentials())


def explain(err: Exception, what: str) -> BigQueryError:
    from google.api_core import exceptions

    if isinstance(err, exceptions.NotFound):
        return BigQueryError(f"BigQuery: {what}: not found ({err.message}): check the name")
    if isinstance(err, (exceptions.Forbidden, exceptions.Unauthenticated)):
        return BigQueryError(
            f"BigQuery refused access: {what} ({err.message}): grant the credentials "
            "roles/bigquery.dataViewer and roles/bigquery.readSessionUser (tables) or "
            "roles/bigquery.jobUser (queries)"
        )
    if isinstance(err, exceptions.BadRequest):
        return BigQueryError(f"BigQuery: {what}: {err.message}")
    return BigQueryError(f"BigQuery: {what}: {err}")


def table_path(project: str, table: str) -> str:
    """``[project.]dataset.table`` → projects/P/datasets/D/tables/T."""
    match = TABLE.match(table)
    if not match:
        raise BigQueryError(f"BigQuery: {table!r} is not a table name ([project.]dataset.table)")
    owner, dataset, name = match.groups()
    return f"projects/{owner or project}/datasets/{dataset}/tables/{name}"


def table_streams(project: str, table: str, streams: int) -> list[str]:
    """A read session over ``table``: its stream names (the server may give fewer)."""
    from google.api_core import exceptions
    from google.cloud.bigquery_storage_v1 import types

    session = types.ReadSession(
        table=table_path(project, table), data_format=types.DataFormat.ARROW
    )
    try:
        made = read_client().create_read_session(
            parent=f"projects/{project}", read_session=session, max_stream_count=streams
        )
    except exceptions.GoogleAPICallError as err:
        raise explain(err, f"table {table}") from err
    return [s.name for s in made.streams]


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """STRUCT (RECORD) columns become one feature per field, named ``column.field``; a
    REPEATED RECORD has no flat form and is an error naming the column."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            raise BigQueryError(
                f"BigQuery: column {name} is a REPEATED RECORD, which has no flat tf.Example "
                f"form: select its fields with UNNEST({name}) in a query"
            )
        else:
            out[name] = value
    return out


def read_stream(stream: str) -> Iterator[dict[str, Any]]:
    """The rows of one read stream, as Python values."""
    reader = read_client().read_rows(stream)
    for batch in reader.to_arrow().to_batches():
        for row in batch.to_pylist():
            yield flatten(row)


def query_rows(project: str, query: str) -> Iterator[dict[str, Any]]:
    """A query's rows, page by page."""
    from google.api_core import exceptions

    bq = client(project)
    try:
        for row in bq.query(query).result(page_size=PAGE_SIZE):
            yield flatten(dict(row.items()))
    except exceptions.GoogleAPICallError as err:
        raise explain(err, f"query {query[:80]!r}") from err
    finally:
        bq.close()
