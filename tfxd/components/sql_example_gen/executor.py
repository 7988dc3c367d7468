"""SqlExampleGen executor: a query or table read as parallel range reads through SQLAlchemy.

TFX's QueryBasedExampleGen machinery does the splits, spans and output layout; this executor turns
one split's query into tf.Examples. The connection URL is read from the environment variable the
pipeline names, in the worker that runs the read, and never stored.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor

from tfxd.components.records import record_to_example
from tfxd.components.sql_example_gen.params import SqlSettings
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


def to_example(row: dict[str, Any]) -> tf.train.Example:
    """A row → tf.Example: NULL is a missing value, every type as ``records.value_feature``
    maps it (DATE → days, TIMESTAMP → µs since the epoch, DECIMAL → float, BYTEA/BLOB → bytes)."""
    return record_to_example(row)


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


class _ReadRange(beam.DoFn):
    def __init__(self, env_var: str, query: str, column: str | None):
        self.env_var, self.query, self.column = env_var, query, column

    def setup(self) -> None:
        self.engine = engine(self.env_var)

    def process(self, bounds: tuple[Any, Any, bool] | None) -> Iterator[tf.train.Example]:
        import sqlalchemy

        sql, params = f"SELECT * FROM ({self.query}) AS tfxd_source", {}
        if bounds is not None:
            low, high, last = bounds
            op = "<=" if last else "<"
            sql += f" WHERE {self.column} >= :low AND {self.column} {op} :high"
            params = {"low": low, "high": high}
        try:
            with self.engine.connect() as connection:
                result = connection.execution_options(stream_results=True).execute(
                    sqlalchemy.text(sql), params
                )
                for row in result.mappings():
                    yield to_example(dict(row))
        except sqlalchemy.exc.SQLAlchemyError as err:
            where = f" ({self.column} from {bounds[0]!r} to {bounds[1]!r})" if bounds else ""
            raise TfxdError(
                f"SqlExampleGen: reading{where} failed: {_reason(err, self.env_var)}"
            ) from err

    def teardown(self) -> None:
        self.engine.dispose()


def _reason(err: Exception, env_var: str) -> str:
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
                f"{_reason(err, env_var)}: check the host, port, user and password it holds"
            ) from err
        with connection:
            source = f"SELECT * FROM ({query}) AS tfxd_source WHERE 1 = 0"
            if column and parts > 1:
                source = f"SELECT MIN({column}), MAX({column}) FROM ({query}) AS tfxd_source"
            try:
                bounds = connection.execute(sqlalchemy.text(source)).all()
            except sqlalchemy.exc.SQLAlchemyError as err:
                reason = _reason(err, env_var)
                raise TfxdError(f"SqlExampleGen: the query failed: {reason}") from err
    finally:
        eng.dispose()
    if not column or parts <= 1:
        return [None]
    [(low, high)] = bounds
    return ranges(low, high, parts)


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _SqlToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    config = SqlSettings.unpack(exec_properties.get("custom_config"))
    env_var, column = config.connection_env, config.partition_column
    reads = plan(env_var, split_pattern, column, config.partitions)
    return (
        pipeline
        | "Ranges" >> beam.Create(reads)
        | "Spread" >> beam.Reshuffle()
        | "Read" >> beam.ParDo(_ReadRange(env_var, split_pattern, column))
    )


class Executor(BaseExampleGenExecutor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _SqlToExample
