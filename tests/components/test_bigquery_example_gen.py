"""BigQueryExampleGen against the BigQuery emulator on 127.0.0.1 with the real BigQuery clients:
tables through Storage Read streams, queries through paged results, errors, day spans."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import tfxd
from tests.servers.bigquery import PROJECT, bigquery_server, emulator_venv
from tests.servers.process import missing

N = 60


@pytest.fixture(scope="module")
def bigquery():
    if emulator_venv() is None:
        missing("the BigQuery emulator", "bash scripts/bqemulator.sh installs it")
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery as bq

    with bigquery_server() as env:
        client = bq.Client(project=PROJECT, credentials=AnonymousCredentials())
        client.create_dataset("rides")
        schema = [
            bq.SchemaField("id", "INT64"),
            bq.SchemaField("fare", "NUMERIC"),
            bq.SchemaField("paid", "BOOL"),
            bq.SchemaField("day", "DATE"),
            bq.SchemaField("at", "TIMESTAMP"),
            bq.SchemaField("note", "STRING"),
            bq.SchemaField("tags", "STRING", mode="REPEATED"),
            bq.SchemaField("tip", "FLOAT64"),
        ]
        client.create_table(bq.Table(f"{PROJECT}.rides.trips", schema=schema))
        rows = [
            {
                "id": i,
                "fare": f"{i}.25",
                "paid": i % 2 == 0,
                "day": str(dt.date(2026, 1, 1) + dt.timedelta(days=i % 3)),
                "at": f"2026-01-01T{i % 24:02d}:00:00Z",
                "note": None if i % 7 == 0 else f"trip {i} é",
                "tags": ["a", "b"][: i % 3],
                "tip": i / 4,
            }
            for i in range(N)
        ]
        assert client.insert_rows_json(f"{PROJECT}.rides.trips", rows) == []
        client.close()
        yield env


def by_id(examples) -> dict[int, dict]:
    out = {}
    for example in examples:
        values = {
            k: list(getattr(f, f.WhichOneof("kind")).value)
            for k, f in example.features.feature.items()
        }
        out[values["id"][0]] = values
    return out


def test_tables_and_queries_map_types_the_same_way(bigquery):
    from tfxd.components.bigquery_example_gen import service as io
    from tfxd.components.row_examples import record_to_example

    streams = io.table_streams(PROJECT, "rides.trips", 4)
    assert streams  # the emulator gives one stream whatever is asked; BigQuery up to 4
    table = by_id(record_to_example(r) for s in streams for r in io.read_stream(s))
    query = by_id(record_to_example(r) for r in io.query_rows(PROJECT, "SELECT * FROM rides.trips"))
    assert sorted(table) == list(range(N)) and table == query
    seven, eight = table[7], table[8]
    assert "note" not in seven and seven["tags"] == [b"a"]  # NULL → missing
    assert eight["fare"] == [pytest.approx(8.25)] and eight["paid"] == [1]
    assert eight["day"] == [(dt.date(2026, 1, 3) - dt.date(1970, 1, 1)).days]
    assert eight["at"] == [
        int(dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone.utc).timestamp() * 1e6)
    ]
    assert eight["note"] == ["trip 8 é".encode()] and eight["tags"] == [b"a", b"b"]
    assert "tags" not in table[0]  # [] → missing


def test_struct_columns_flatten_and_repeated_records_are_refused():
    from tfxd.components.bigquery_example_gen.service import BigQueryError, flatten

    assert flatten({"a": 1, "trip": {"km": 2.5, "end": {"zone": "x"}}}) == {
        "a": 1,
        "trip.km": 2.5,
        "trip.end.zone": "x",
    }
    with pytest.raises(BigQueryError, match=r"column stops is a REPEATED RECORD.*UNNEST\(stops\)"):
        flatten({"stops": [{"at": 1}]})


def test_missing_tables_and_bad_queries_are_named(bigquery):
    from tfxd.components.bigquery_example_gen import service as io

    with pytest.raises(io.BigQueryError, match=r"table rides.nope: not found"):
        io.table_streams(PROJECT, "rides.nope", 1)
    with pytest.raises(io.BigQueryError, match=r"query 'SELECT nope FROM rides.trips'"):
        list(io.query_rows(PROJECT, "SELECT nope FROM rides.trips"))
    with pytest.raises(io.BigQueryError, match=r"'trips' is not a table name"):
        io.table_path(PROJECT, "trips")


PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: rides}
spec:
  root: runs
  metadata: {sqlite: runs/metadata.db}
  components:
    table:
      type: BigQueryExampleGen
      with: {project: tfxd-test, table: rides.trips, streams: 2}
    daily:
      type: BigQueryExampleGen
      with:
        project: tfxd-test
        query: >-
          SELECT * FROM rides.trips
          WHERE FORMAT_DATE('%Y%m%d', day) = @span_yyyymmdd_utc
    stats: {type: StatisticsGen, inputs: {examples: table.examples}}
"""


def examples_of(root: Path, node: str) -> tuple[int, list]:
    """(span, examples) of the newest Examples output of ``node`` under ``root``."""
    import tensorflow as tf

    newest = max((root / node / "examples").iterdir(), key=lambda p: int(p.name))
    files = [str(f) for f in newest.glob("Split-*/*.gz")]
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    examples = [tf.train.Example.FromString(r.numpy()) for r in records]
    return int(newest.name), examples


@pytest.mark.slow  # three Beam jobs through the CLI (~40 s)
def test_pipeline_reads_a_table_and_a_day_span_of_a_query(bigquery, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    day = (dt.date(2026, 1, 2) - dt.date(1970, 1, 1)).days
    done = tfxd("run", "pipeline.yaml", "--span", str(day), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    _, table = examples_of(tmp_path / "runs", "table")
    assert sorted(by_id(table)) == list(range(N))
    _, daily = examples_of(tmp_path / "runs", "daily")
    assert sorted(by_id(daily)) == [i for i in range(N) if i % 3 == 1]

    from ml_metadata import metadata_store

    from tfxd.infra.mlmd_reference import connection_from_reference

    store = metadata_store.MetadataStore(
        connection_from_reference({"sqlite": str(tmp_path / "runs" / "metadata.db")})
    )
    spans = {
        Path(a.uri).parent.parent.name: a.custom_properties["span"].int_value
        for a in store.get_artifacts_by_type("Examples")
    }
    assert spans == {"daily": day, "table": 0}
    compiled = (tmp_path / "runs").rglob("*.json")
    assert not any("BIGQUERY_EMULATOR_HOST" in p.read_text() for p in compiled)


def test_query_spans_are_complete_days(tmp_path):
    from tfxd.components.example_gen.params import complete_day
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.pipelines.spans import available_spans

    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    yesterday = complete_day()
    assert yesterday == (dt.datetime.now(dt.timezone.utc).date() - dt.date(1970, 1, 2)).days
    assert available_spans(validate_file(tmp_path / "pipeline.yaml")) == [yesterday]
    first = dt.date(1970, 1, 1) + dt.timedelta(days=yesterday - 2)
    (tmp_path / "pipeline.yaml").write_text(
        PIPELINE.replace(
            "project: tfxd-test\n", f"project: tfxd-test\n        first_day: {first}\n"
        )
    )
    spans = available_spans(validate_file(tmp_path / "pipeline.yaml"))
    assert spans == [yesterday - 2, yesterday - 1, yesterday]


def test_a_bad_table_name_is_rejected_at_validate_time(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        PIPELINE.replace("rides.trips, streams", "trips, streams")
    )
    done = tfxd("validate", "pipeline.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "pipeline.yaml:10:" in done.stdout + done.stderr
    assert "table 'trips': expected [project.]dataset.table" in done.stdout + done.stderr


def test_missing_credentials_are_explained_for_both_apis(monkeypatch):
    """Outside an emulator the clients take Application Default Credentials; a key file that is
    not there fails before any request, naming what to set."""
    from tfxd.components.bigquery_example_gen.service import BigQueryError, client, read_client

    for name in ("BIGQUERY_EMULATOR_HOST", "BIGQUERY_STORAGE_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/tfxd-key.json")
    for make in (lambda: client("tfxd-test"), read_client):
        with pytest.raises(BigQueryError, match="no credentials: set GOOGLE_APPLICATION_CREDENTI"):
            make()
