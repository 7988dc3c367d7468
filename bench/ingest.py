"""Ingestion rows per second into TFRecord, each source through its executor on the same generated
table: tfxd's CsvExampleGen and TFX's own on the local file, S3ExampleGen (CSV on a local S3
API server), SqlExampleGen (PostgreSQL and MariaDB on 127.0.0.1), BigQueryExampleGen (the table
in the BigQuery emulator), PubSubExampleGen (one JSON message per row in the Pub/Sub emulator)
and KafkaExampleGen (one JSON record per row in a Kafka-compatible broker). The baseline is a
plain ``pandas.read_csv`` → ``tf.io.TFRecordWriter`` loop on the same CSV. Goal for the file
case: at least 50% of the baseline. Prints, asserts nothing.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--sources csv tfx-csv s3 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COLUMNS = ["id", "fare", "miles", "kind", "tip"]


def write_csv(path: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "fare": rng.gamma(2.0, 8.0, rows).round(2),
            "miles": rng.exponential(3.0, rows).round(3),
            "kind": rng.choice(["cash", "card", "app"], rows),
            "tip": rng.integers(0, 20, rows),
        }
    )
    frame.to_csv(path, index=False)


def baseline(csv: Path, out: Path) -> float:
    """pandas.read_csv → tf.train.Example → TFRecordWriter (gzip, as ExampleGens write)."""
    import pandas as pd
    import tensorflow as tf

    started = time.perf_counter()
    frame = pd.read_csv(csv)
    with tf.io.TFRecordWriter(str(out), options="GZIP") as writer:
        for row in frame.itertuples(index=False):
            feature = {
                "id": tf.train.Feature(int64_list=tf.train.Int64List(value=[row.id])),
                "fare": tf.train.Feature(float_list=tf.train.FloatList(value=[row.fare])),
                "miles": tf.train.Feature(float_list=tf.train.FloatList(value=[row.miles])),
                "kind": tf.train.Feature(bytes_list=tf.train.BytesList(value=[row.kind.encode()])),
                "tip": tf.train.Feature(int64_list=tf.train.Int64List(value=[row.tip])),
            }
            writer.write(
                tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
            )
    return time.perf_counter() - started


def run_executor(executor: object, out: Path, exec_properties: dict) -> float:
    from tfx.types import standard_artifacts

    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    started = time.perf_counter()
    executor.Do({}, {"examples": [examples]}, exec_properties)  # type: ignore[attr-defined]
    return time.perf_counter() - started


def output_config() -> str:
    return json.dumps(
        {
            "split_config": {
                "splits": [
                    {"name": "train", "hash_buckets": 2},
                    {"name": "eval", "hash_buckets": 1},
                ]
            }
        }
    )


def s3_case(csv: Path, out: Path) -> float:
    import boto3

    from tests.servers.s3 import s3_server
    from tfxd.components.s3_example_gen.executor import CsvExecutor

    with s3_server():
        client = boto3.session.Session().client("s3")
        client.create_bucket(Bucket="bench-data")
        client.upload_file(str(csv), "bench-data", "trips/part-0.csv")
        properties = {
            "input_base": "s3://bench-data/trips",
            "input_config": json.dumps({"splits": [{"name": "single_split", "pattern": "*"}]}),
            "output_config": output_config(),
            "output_data_format": 6,  # FORMAT_TF_EXAMPLE
            "output_file_format": 5,  # FORMAT_TFRECORDS_GZIP
        }
        return run_executor(CsvExecutor(), out, properties)


def local_properties(csv: Path) -> dict:
    return {
        "input_base": str(csv.parent),
        "input_config": json.dumps({"splits": [{"name": "single_split", "pattern": csv.name}]}),
        "output_config": output_config(),
        "output_data_format": 6,
        "output_file_format": 5,
    }


def csv_case(csv: Path, out: Path) -> float:
    """tfxd's CsvExampleGen executor (rows by file:line, bad rows set aside) on the local file."""
    from tfxd.components.example_gen.executor import CsvExecutor

    return run_executor(CsvExecutor(), out, local_properties(csv))


def tfx_csv_case(csv: Path, out: Path) -> float:
    """TFX's own CsvExampleGen executor on the same file: what tfxd's replaces."""
    from tfx.components.example_gen.csv_example_gen.executor import Executor

    return run_executor(Executor(), out, local_properties(csv))


def sql_case(server: str, csv: Path, out: Path) -> float:
    import pandas as pd
    import sqlalchemy
    from google.protobuf import json_format, struct_pb2
    from tfx.proto import example_gen_pb2

    from tests.servers.sql import mariadb_server, postgres_server
    from tfxd.components.sql_example_gen.executor import Executor

    start = postgres_server if server == "postgresql" else mariadb_server
    with start() as url:
        engine = sqlalchemy.create_engine(url)
        pd.read_csv(csv).to_sql("trips", engine, index=False, chunksize=50_000)
        engine.dispose()
        os.environ["TFXD_BENCH_SQL"] = url
        settings = struct_pb2.Struct()
        settings.update(
            {"connection_env": "TFXD_BENCH_SQL", "partition_column": "id", "partitions": 4}
        )
        custom = example_gen_pb2.CustomConfig()
        custom.custom_config.Pack(settings)
        properties = {
            "input_config": json.dumps(
                {"splits": [{"name": "single_split", "pattern": "SELECT * FROM trips"}]}
            ),
            "output_config": output_config(),
            "output_data_format": 6,
            "output_file_format": 5,
            "custom_config": json_format.MessageToJson(custom),
        }
        return run_executor(Executor(), out, properties)


def bigquery_case(csv: Path, out: Path) -> float:
    """The table loaded into the BigQuery emulator, read through the Storage Read API."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from tests.servers.bigquery import PROJECT, bigquery_server
    from tfxd.components.bigquery_example_gen.executor import Executor
    from tfxd.components.settings import pack

    with bigquery_server():
        client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials())
        client.create_dataset("bench")
        kinds = {"id": "INT64", "fare": "FLOAT64", "miles": "FLOAT64", "kind": "STRING"}
        schema = [bigquery.SchemaField(c, kinds.get(c, "INT64")) for c in COLUMNS]
        config = bigquery.LoadJobConfig(schema=schema, source_format="CSV", skip_leading_rows=1)
        with csv.open("rb") as handle:
            client.load_table_from_file(
                handle, f"{PROJECT}.bench.trips", job_config=config
            ).result()
        properties = {
            "input_config": json.dumps(
                {"splits": [{"name": "single_split", "pattern": "table:bench.trips"}]}
            ),
            "output_config": output_config(),
            "output_data_format": 6,
            "output_file_format": 5,
            "custom_config": json_format_of(pack({"project": PROJECT, "streams": 4})),
        }
        return run_executor(Executor(), out, properties)


def pubsub_case(csv: Path, out: Path) -> float:
    """Every row published as a JSON message to the Pub/Sub emulator, then drained into one
    span: drain, journal, acknowledge, decode and write are timed, publishing is not."""
    import pandas as pd
    from google.cloud import pubsub_v1

    from tests.servers.pubsub import make_subscription, pubsub_server
    from tfxd.components.pubsub_example_gen.executor import Executor

    with pubsub_server():
        topic, sub = make_subscription("bench", ack_deadline=60)
        batching = pubsub_v1.types.BatchSettings(max_messages=1000, max_latency=0.05)
        publisher = pubsub_v1.PublisherClient(batch_settings=batching)
        futures = [
            publisher.publish(topic, json.dumps(row).encode())
            for row in pd.read_csv(csv).to_dict("records")
        ]
        for future in futures:
            future.result()
        return drain(Executor(), out, {"subscription": sub})


def kafka_case(csv: Path, out: Path) -> float:
    """Every row produced as a JSON record to the Kafka-compatible broker (4 partitions), then
    drained into one span: drain, journal, commit, decode and write are timed, producing is
    not."""
    import pandas as pd
    from kafka import KafkaProducer

    from tests.servers.kafka import ENV, kafka_server, make_topic
    from tfxd.components.kafka_example_gen.executor import Executor

    with kafka_server() as servers:
        make_topic(servers, "bench", partitions=4)
        producer = KafkaProducer(bootstrap_servers=servers, linger_ms=20, batch_size=1 << 20)
        for i, row in enumerate(pd.read_csv(csv).to_dict("records")):
            producer.send("bench", json.dumps(row).encode(), key=str(i).encode())
        producer.flush()
        producer.close()
        return drain(Executor(), out, {"topic": "bench", "brokers_env": ENV, "group": "bench"})


IDLE_SECONDS = 5  # a drain ends this long after its last message


def drain(executor: object, out: Path, source: dict) -> float:
    """Seconds for a stream ExampleGen's executor to drain ``source`` into one span of JSON
    rows, less the idle timeout that ends it."""
    from tfxd.components.settings import pack

    settings = {
        **source,
        "format": "json",
        "max_messages": 1_000_000,
        "idle_timeout_seconds": IDLE_SECONDS,
        "window_seconds": 3600,
        "journal": str(out.parent / f"{out.name}-journal"),
    }
    properties = {
        "input_config": json.dumps({"splits": [{"name": "single_split", "pattern": "drain"}]}),
        "output_config": output_config(),
        "output_data_format": 6,
        "output_file_format": 5,
        "custom_config": json_format_of(pack(settings)),
    }
    return run_executor(executor, out, properties) - IDLE_SECONDS


def json_format_of(message: object) -> str:
    from google.protobuf import json_format

    return json_format.MessageToJson(message)  # type: ignore[arg-type]


CASES = {
    "csv": csv_case,
    "tfx-csv": tfx_csv_case,
    "s3": s3_case,
    "bigquery": bigquery_case,
    "pubsub": pubsub_case,
    "kafka": kafka_case,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--sources",
        nargs="+",
        default=["csv", "tfx-csv", "s3", "postgresql", "mariadb", "bigquery", "pubsub", "kafka"],
        choices=["csv", "tfx-csv", "s3", "postgresql", "mariadb", "bigquery", "pubsub", "kafka"],
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        csv = root / "trips.csv"
        write_csv(csv, args.rows)
        base = args.rows / baseline(csv, root / "baseline.tfrecord.gz")
        print(
            f"{args.rows:,} rows, {csv.stat().st_size / 1e6:.1f} MB of CSV, {os.cpu_count()} cores"
        )
        print(f"{'source':<12} {'rows/s':>10} {'vs baseline':>12}")
        print(f"{'baseline':<12} {base:>10,.0f} {1.0:>12.2f}")
        for source in args.sources:
            out = root / source
            case = CASES.get(source)
            seconds = case(csv, out) if case else sql_case(source, csv, out)
            rate = args.rows / seconds
            print(f"{source:<12} {rate:>10,.0f} {rate / base:>12.2f}")


if __name__ == "__main__":
    main()
