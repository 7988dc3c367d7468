"""SqlExampleGen's database I/O through SQLAlchemy: the engine from the environment, the range
plan, the rows of one range read. The URL never leaves the environment variable that holds it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

from tfxd.errors import TfxdError


def engine(env_var: str) -> Any:
    import sqlalchemy

    url = os.environ.get(env_var)
    if not url:
        raise TfxdError(
            f"SqlExampleGen: environment variable {env_var} is not set: it must hold the "
            "SQLAlchemy URL (e.g. postgresql+psycopg2://user:password@host/db)"
        )
    return sqlalchemy.create_engine(url, pool_pre_ping=True)


def ranges(low: Any, high: Any, parts: int) -> list[tuple[Any, Any, bool]]:
    """``parts`` half-open ranges covering [low, high]; the last one is closed."""
    if low is None:
        return []
    if isinstance(low, dt.date) and not isinstance(low, dt.datetime):
        span = (high - low).days + 1
        step = max(1, -(-span // parts))
        cuts = [low + dt.timedelta(days=i) for i in range(0, span, step)]
    elif isinstance(low, dt.datetime):
        total = (high - low) / parts
        cuts = [low + total * i for i in range(parts)] if total else [low]
    else:
        span = high - low  # int, float or Decimal: cuts keep the column's type
        cuts = [low + (span / parts) * i for i in range(parts)] if span else [low]
        if isinstance(low, int) and not isinstance(low, bool):
            cuts = sorted({int(c) for c in cuts})
    bounds = [*cuts, high]
    return [(bounds[i], bounds[i + 1], i == len(cuts) - 1) for i in range(len(cuts))]


def rows(
    eng: Any, env_var: str, query: str, column: str | None, bounds: tuple[Any, Any, bool] | None
) -> Iterator[dict[str, Any]]:
    """The rows of one range read (``bounds`` None: the whole query), streamed."""
    import sqlalchemy

    sql, params = f"SELECT * FROM ({query}) AS tfxd_source", {}
    if bounds is not None:
        low, high, last = bounds
        op = "<=" if last else "<"
        sql += f" WHERE {column} >= :low AND {column} {op} :high"
        params = {"low": low, "high": high}
    try:
        with eng.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(
                sqlalchemy.text(sql), params
            )
            for row in result.mappings():
                yield dict(row)
    except sqlalchemy.exc.SQLAlchemyError as err:
        where = f" ({column} from {bounds[0]!r} to {bounds[1]!r})" if bounds else ""
        raise TfxdError(f"SqlExampleGen: reading{where} failed: {reason(err, env_var)}") from err


def reason(err: Exception, env_var: str) -> str:
    """The driver's own message, without the password should a driver echo it."""
    import sqlalchemy

    text = str(getattr(err, "orig", None) or err).strip()
    try:
        password = sqlalchemy.engine.make_url(os.environ.get(env_var, "")).password
    except sqlalchemy.exc.ArgumentError:
        password = None
    return text.replace(password, "***") if password else text


def plan(env_var: str, query: str, column: str | None, parts: int) -> list[Any]:
    """The range reads for ``query``: one whole read, or ``parts`` ranges of ``column``. The
    connection and the query are tried here, before the job, so that a wrong password or a
    bad query fail with a clear message and nothing written."""
    import sqlalchemy

    eng = engine(env_var)
    try:
        try:
            connection = eng.connect()
        except sqlalchemy.exc.SQLAlchemyError as err:
            raise TfxdError(
                f"SqlExampleGen: cannot connect with the URL in {env_var}: "
                f"{reason(err, env_var)}: check the host, port, user and password it holds"
            ) from err
        with connection:
            source = f"SELECT * FROM ({query}) AS tfxd_source WHERE 1 = 0"
            if column and parts > 1:
                source = f"SELECT MIN({column}), MAX({column}) FROM ({query}) AS tfxd_source"
            try:
                bounds = connection.execute(sqlalchemy.text(source)).all()
            except sqlalchemy.exc.SQLAlchemyError as err:
                why = reason(err, env_var)
                raise TfxdError(f"SqlExampleGen: the query failed: {why}") from err
    finally:
        eng.dispose()
    if not column or parts <= 1:
        return [None]
    [(low, high)] = bounds
    return ranges(low, high, parts)
