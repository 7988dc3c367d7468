"""KafkaExampleGen against a Kafka-compatible broker on 127.0.0.1 (tansu): the stream protocol
over committed offsets (settle, drain, stage, commit, write) with real MLMD, errors, and a
pipeline SIGKILLed mid-drain and after staging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.components.executors import execute, stream_settings
from tests.components.streams import (
    features,
    kill_twice_while_feeding,
    publish_mlmd,
    published_spans,
    run_until_empty,
)
from tests.servers.kafka import ENV, kafka_server, make_topic, produce
from tfxd.components.stream.journal import Journal, StreamError


@pytest.fixture
def kafka():
    with kafka_server() as servers:
        yield servers


def run_executor(tmp_path: Path, topic: str, name: str, **overrides):
    """One execution of the executor, as a launcher would make it; its Examples artifact."""
    from tfxd.components.example_gen.build import hash_splits
    from tfxd.components.kafka_example_gen.component import KafkaExampleGen
    from tfxd.components.kafka_example_gen.executor import Executor
    from tfxd.components.kafka_example_gen.params import KafkaSettings

    ours = {"topic": topic, "brokers_env": ENV, "group": "tfxd-test", **overrides}
    settings = stream_settings(tmp_path, KafkaSettings, **ours)
    component = KafkaExampleGen(settings=settings, output_config=hash_splits({"train": 1}))
    return execute(Executor, component, tmp_path / "out" / name)


def values(examples) -> list[int]:
    import tensorflow as tf

    files = sorted(str(f) for f in Path(examples.uri, "Split-train").glob("*.gz"))
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return sorted(features(r.numpy())["n"][0] for r in records)


def committed(servers: str, topic: str, group: str = "tfxd-test") -> int:
    """Records behind the group's committed offsets, over all partitions."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    total = sum(consumer.committed(tp) or 0 for tp in partitions)
    consumer.close(autocommit=False)
    return total


def records(start: int, stop: int) -> list[bytes]:
    return [json.dumps({"n": i}).encode() for i in range(start, stop)]


def test_spans_hold_each_record_once_across_an_unpublished_run(kafka, tmp_path):
    make_topic(kafka, "spans")
    produce(kafka, "spans", records(0, 50))
    first = run_executor(tmp_path, "spans", "a")
    assert first.span == 1 and values(first) == list(range(50))
    assert first.get_int_custom_property("tfxd_kafka_records") == 50
    assert first.get_string_custom_property("tfxd_kafka_topic") == "spans"
    assert committed(kafka, "spans") == 50  # committed once staged

    # Not published (the launcher died): the next run writes span 1 again and drains nothing.
    produce(kafka, "spans", records(50, 60))
    again = run_executor(tmp_path, "spans", "b")
    assert again.span == 1 and values(again) == list(range(50))

    publish_mlmd(tmp_path, again)
    third = run_executor(tmp_path, "spans", "c")
    assert third.span == 2 and values(third) == list(range(50, 60))
    assert committed(kafka, "spans") == 60


def test_a_span_staged_but_not_committed_is_committed_by_the_next_run(kafka, tmp_path):
    import os

    from tfxd.components.kafka_example_gen.service import TopicSource

    make_topic(kafka, "staged")
    produce(kafka, "staged", records(0, 5))
    source = TopicSource(ENV, "staged", "tfxd-test")
    got = source.drain(max_messages=100, idle_timeout=2, window=30, seen=set)
    source.close()
    Journal(str(tmp_path / "journal")).stage(1, got)  # a crash right after staging
    assert committed(kafka, "staged") == 0 and os.environ[ENV] == kafka
    produce(kafka, "staged", records(5, 6))

    first = run_executor(tmp_path, "staged", "a")  # writes span 1 again, commits past it
    assert first.span == 1 and values(first) == list(range(5))
    assert committed(kafka, "staged") == 5
    publish_mlmd(tmp_path, first)
    second = run_executor(tmp_path, "staged", "b")  # 0..4 are never read again
    assert second.span == 2 and values(second) == [5]


def test_too_many_bad_records_stage_and_commit_nothing(kafka, tmp_path):
    make_topic(kafka, "badrows", partitions=1)
    produce(kafka, "badrows", [b'{"n": 1}', b"not json", b'{"n": 3}', b"[1]"])
    with pytest.raises(StreamError, match=r"2 message\(s\) cannot be decoded, skip_bad_rows"):
        run_executor(tmp_path, "badrows", "a", skip_bad_rows=1)
    assert Journal(str(tmp_path / "journal")).open_span() is None
    assert committed(kafka, "badrows") == 0
    done = run_executor(tmp_path, "badrows", "b", skip_bad_rows=2)
    assert values(done) == [1, 3] and done.get_int_custom_property("tfxd_bad_rows") == 2
    assert committed(kafka, "badrows") == 4


def test_missing_topic_brokers_and_empty_drain_are_explained(kafka, tmp_path, monkeypatch):
    from tests.servers.process import free_port

    with pytest.raises(StreamError, match=r"Kafka topic nope does not exist on the brokers in"):
        run_executor(tmp_path, "nope", "a")
    make_topic(kafka, "empty")
    with pytest.raises(StreamError, match=r"^Kafka topic empty: no new message within 2 s"):
        run_executor(tmp_path, "empty", "b")
    with pytest.raises(StreamError, match="environment variable TFXD_NOT_SET is not set"):
        run_executor(tmp_path, "empty", "c", brokers_env="TFXD_NOT_SET")
    monkeypatch.setenv(ENV, f"127.0.0.1:{free_port()}")
    with pytest.raises(StreamError, match=f"cannot reach the brokers in {ENV}"):
        run_executor(tmp_path, "empty", "d")


# ---------------------------------------------------------------- a pipeline, killed twice

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: kstream}
spec:
  root: runs
  metadata: {sqlite: runs/metadata.db}
  components:
    stream:
      type: KafkaExampleGen
      with: {topic: crash, brokers_env: TFXD_TEST_KAFKA, format: json, idle_timeout_seconds: 3}
    stats: {type: StatisticsGen, inputs: {examples: stream.examples}}
"""


@pytest.mark.slow  # five short runs through the CLI, two of them SIGKILLed (~1.5 min)
def test_runs_killed_mid_drain_and_after_staging_lose_and_repeat_nothing(kafka, tmp_path):
    from tests.conftest import tfxd

    make_topic(kafka, "crash")
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    total, journal = 400, tmp_path / "runs" / "stream" / ".kafka"
    feed = lambda start, stop: produce(kafka, "crash", records(start, stop))  # noqa: E731
    kill_twice_while_feeding(tmp_path, journal, feed, total)
    spans = run_until_empty(tmp_path, total)
    assert committed(kafka, "crash", "tfxd.kstream.stream") == total

    # tfxd watch sees the next span only when a record waits
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.pipelines.spans import available_spans

    pipe = validate_file(tmp_path / "pipeline.yaml")
    assert available_spans(pipe) == []
    produce(kafka, "crash", records(total, total + 1))
    assert available_spans(pipe) == [len(spans) + 1]
    watched = tfxd("watch", "pipeline.yaml", "--once", cwd=tmp_path)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert published_spans(tmp_path / "runs")[len(spans) + 1] == [total]


def test_the_pipeline_compiles_for_kubeflow_with_the_variable_name_only(tmp_path, monkeypatch):
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.kubeflow import compile_kubeflow

    monkeypatch.setenv(ENV, "kafka-7.internal:9092")
    (tmp_path / "pipeline.yaml").write_text(
        PIPELINE + "  runners:\n    kubeflow: {image: ghcr.io/tfxd/k:1, pipeline_root: /r}\n"
    )
    compile_kubeflow(validate_file(tmp_path / "pipeline.yaml"), tmp_path / "spec.yaml")
    spec = (tmp_path / "spec.yaml").read_text()
    assert "TFXD_TEST_KAFKA" in spec and "tfxd.kstream.stream" in spec  # the group, defaulted
    assert "kafka-7.internal" not in spec
