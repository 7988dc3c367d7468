"""SqlExampleGen against real PostgreSQL and MariaDB servers on 127.0.0.1: type mapping, range
partitions, errors, and a pipeline reading a table into Examples."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from pathlib import Path

import pytest

from tests.conftest import tfxd
from tests.servers.process import missing
from tests.servers.sql import mariadb_bin, mariadb_server, postgres_bin, postgres_server

N = 100
SERVERS = {
    "postgresql": (postgres_server, postgres_bin, "bytea", "timestamp"),
    "mariadb": (mariadb_server, mariadb_bin, "blob", "datetime"),
}


def load_trips(url: str, blob: str, stamp: str) -> None:
    """The ``trips`` table of N rows, with every type the tests map."""
    import sqlalchemy

    schema = f"""
        CREATE TABLE trips (
          id integer PRIMARY KEY, fare numeric(8, 2), paid boolean, day date, at {stamp},
          note text, raw {blob}, tip double precision
        )"""
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(schema))
        for i in range(N):
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO trips VALUES (:id, :fare, :paid, :day, :at, :note, :raw, :tip)"
                ),
                {
                    "id": i,
                    "fare": decimal.Decimal(f"{i}.25"),
                    "paid": i % 2 == 0,
                    "day": dt.date(2026, 1, 1) + dt.timedelta(days=i % 10),
                    "at": dt.datetime(2026, 1, 1, 12, 0) + dt.timedelta(hours=i),
                    "note": None if i % 7 == 0 else f"trip {i} é",
                    "raw": bytes([i % 256]),
                    "tip": i / 4,
                },
            )
    engine.dispose()


@pytest.fixture(scope="module", params=sorted(SERVERS))
def database(request):
    server, installed, blob, stamp = SERVERS[request.param]
    if installed() is None:
        missing(request.param, "bash scripts/test-servers.sh installs it")
    with server() as url:
        load_trips(url, blob, stamp)
        yield url


@pytest.fixture
def postgres():
    """PostgreSQL alone: the pipeline path does not depend on the server (types and range
    reads are tested on both above)."""
    server, installed, blob, stamp = SERVERS["postgresql"]
    if installed() is None:
        missing("postgresql", "bash scripts/test-servers.sh installs it")
    with server() as url:
        load_trips(url, blob, stamp)
        yield url


def read(url: str, monkeypatch, query: str, column: str | None, parts: int) -> list:
    from tfxd.components.sql_example_gen.executor import _ReadRange
    from tfxd.components.sql_example_gen.service import plan

    monkeypatch.setenv("TFXD_TEST_SQL", url)
    reads = plan("TFXD_TEST_SQL", query, column, parts)
    reader = _ReadRange("TFXD_TEST_SQL", query, column)
    reader.setup()
    try:
        return [list(reader.process(bounds)) for bounds in reads]
    finally:
        reader.teardown()


def test_types_map_faithfully_and_null_is_missing(database, monkeypatch):
    [examples] = read(database, monkeypatch, "SELECT * FROM trips WHERE id IN (7, 8)", None, 1)
    by_id = {e.features.feature["id"].int64_list.value[0]: e.features.feature for e in examples}
    seven, eight = by_id[7], by_id[8]
    assert "note" not in seven  # NULL → missing
    assert list(eight["note"].bytes_list.value) == ["trip 8 é".encode()]
    assert eight["fare"].float_list.value[0] == pytest.approx(8.25)  # DECIMAL
    assert list(eight["paid"].int64_list.value) == [1] and list(seven["paid"].int64_list.value) == [
        0
    ]
    assert list(eight["day"].int64_list.value) == [(dt.date(2026, 1, 9) - dt.date(1970, 1, 1)).days]
    at = dt.datetime(2026, 1, 1, 20, 0, tzinfo=dt.timezone.utc)
    assert list(eight["at"].int64_list.value) == [int(at.timestamp()) * 1_000_000]
    assert list(eight["raw"].bytes_list.value) == [bytes([8])]
    assert eight["tip"].float_list.value[0] == pytest.approx(2.0)


@pytest.mark.parametrize("column", ["id", "day", "at", "fare"])
def test_range_partitions_cover_every_row_once(database, monkeypatch, column):
    parts = read(database, monkeypatch, "SELECT * FROM trips", column, 4)
    assert len(parts) >= 2  # really split
    ids = [e.features.feature["id"].int64_list.value[0] for part in parts for e in part]
    assert sorted(ids) == list(range(N))


def test_missing_env_var_and_bad_query_are_explained(database, monkeypatch):
    from tfxd.components.sql_example_gen.service import plan
    from tfxd.errors import TfxdError

    monkeypatch.delenv("TFXD_NOT_SET", raising=False)
    with pytest.raises(TfxdError, match="environment variable TFXD_NOT_SET is not set"):
        plan("TFXD_NOT_SET", "SELECT 1 AS id", "id", 2)
    monkeypatch.setenv("TFXD_TEST_SQL", database)
    with pytest.raises(TfxdError, match="the query failed: .*nope.* (does not|doesn't) exist"):
        plan("TFXD_TEST_SQL", "SELECT * FROM nope", "id", 2)
    with pytest.raises(TfxdError, match="the query failed: .*nope.* (does not|doesn't) exist"):
        plan("TFXD_TEST_SQL", "SELECT * FROM nope", None, 1)  # tried before the job, too


def test_refused_credentials_are_explained_without_the_password(database, monkeypatch):
    import sqlalchemy

    from tfxd.components.sql_example_gen.service import plan
    from tfxd.errors import TfxdError

    wrong = sqlalchemy.engine.make_url(database).set(password="Wrong-pw-4711")
    monkeypatch.setenv("TFXD_TEST_SQL", wrong.render_as_string(hide_password=False))
    with pytest.raises(TfxdError) as refused:
        plan("TFXD_TEST_SQL", "SELECT * FROM trips", None, 1)
    message = str(refused.value)
    assert "SqlExampleGen: cannot connect with the URL in TFXD_TEST_SQL" in message
    assert re.search("password authentication failed|Access denied", message), message
    assert "Wrong-pw-4711" not in message and "check the host, port, user and password" in message


PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: sql}
spec:
  root: runs
  components:
    trips:
      type: SqlExampleGen
      with: {connection_env: TFXD_TRIPS_URL, table: trips, partition_column: id, partitions: 3}
    stats: {type: StatisticsGen, inputs: {examples: trips.examples}}
"""


@pytest.mark.slow  # two Beam jobs through the CLI (~40 s)
def test_pipeline_reads_a_table_into_examples_without_storing_the_url(postgres, tmp_path):
    database = postgres
    import tensorflow as tf

    from tests.test_e2e_penguin import open_store

    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    done = tfxd("run", "pipeline.yaml", cwd=tmp_path, env={"TFXD_TRIPS_URL": database})
    assert done.returncode == 0, done.stdout + done.stderr
    store = open_store(tmp_path / "runs" / "metadata.db")
    [examples] = store.get_artifacts_by_type("Examples")
    total = 0
    for split in ("train", "eval"):
        files = [str(f) for f in Path(examples.uri, f"Split-{split}").glob("*.gz")]
        total += sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))
    assert total == N
    recorded = [*store.get_executions(), *store.get_artifacts()]
    for item in recorded:  # the URL is never recorded, only the variable's name
        for value in [*item.properties.values(), *item.custom_properties.values()]:
            assert database.split("@")[1] not in value.string_value
    names = [v.string_value for e in store.get_executions() for v in e.custom_properties.values()]
    assert any("TFXD_TRIPS_URL" in n for n in names)

    missing = tfxd("run", "pipeline.yaml", "--no-cache", "--only", "trips", cwd=tmp_path)
    assert missing.returncode == 1
    assert "environment variable TFXD_TRIPS_URL is not set" in missing.stdout + missing.stderr


def test_a_url_in_the_file_is_rejected_at_validate_time(tmp_path):
    text = PIPELINE.replace("TFXD_TRIPS_URL", "postgresql://u:pw@db/x")
    (tmp_path / "pipeline.yaml").write_text(text)
    done = tfxd("validate", "pipeline.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "spec.components.trips.with.connection_env" in done.stdout + done.stderr


def test_queries_with_day_placeholders_read_the_span_asked_or_yesterday(tmp_path):
    from tfxd.components.example_gen.params import complete_day
    from tfxd.pipelines.builder import build
    from tfxd.pipelines.pipeline import validate_file

    (tmp_path / "pipeline.yaml").write_text(
        PIPELINE.replace(
            "table: trips", "query: 'SELECT * FROM trips WHERE at >= @span_begin_timestamp'"
        )
    )
    pipe = validate_file(tmp_path / "pipeline.yaml")
    for span, expected in ((None, complete_day()), (20455, 20455)):
        [gen] = [c for c in build(pipe, "local", span=span).pipeline.components if c.id == "trips"]
        assert json.loads(gen.exec_properties["range_config"])["static_range"] == {
            "start_span_number": expected,
            "end_span_number": expected,
        }
