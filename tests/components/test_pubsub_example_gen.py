"""PubSubExampleGen against the Pub/Sub emulator on 127.0.0.1: decoding, the journal, and the
executor's exactly-once protocol (settle, drain, stage, acknowledge, write) with real MLMD."""

from __future__ import annotations

import json
import re
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
from tests.servers.process import missing
from tests.servers.pubsub import emulator_bin, make_subscription, publish, pubsub_server
from tfxd.components.pubsub_example_gen.service import PubSubError
from tfxd.components.stream import decode
from tfxd.components.stream.journal import Journal, Message, StreamError


def messages(*payloads: bytes) -> list[Message]:
    return [Message(id=str(i), data=p, publish_time=1.5e9 + i) for i, p in enumerate(payloads)]


def test_json_fields_keep_one_type_per_span_and_drift_is_named():
    done = decode.decode(messages(b'{"a": 1, "b": "x"}', b'{"a": 2.5, "c": null}'), "json", {})
    assert [features(e) for e in done.examples] == [{"a": [1.0], "b": [b"x"]}, {"a": [2.5]}]
    assert done.bad == []
    with pytest.raises(
        StreamError, match=r"^Pub/Sub s: schema drift: field 'a' is int in message 0 and string in"
    ):
        decode.decode(messages(b'{"a": 1}', b'{"a": "one"}'), "json", {}, "Pub/Sub s")


def test_csv_and_declared_types_report_bad_rows_by_message_id():
    cols = {"n": "int", "x": "float", "s": "string"}
    done = decode.decode(messages(b"1,2.5,a", b"x,1,b", b"1,2", b'3,,"q,r"'), "csv", cols)
    assert [features(e) for e in done.examples] == [
        {"n": [1], "x": [2.5], "s": [b"a"]},
        {"n": [3], "s": [b"q,r"]},
    ]
    assert done.bad[0].startswith("message 1: field 'n': 'x' is not int")
    assert done.bad[1].startswith("message 2: 2 CSV fields, expected 3")
    error = decode.too_many(done.bad, 1, "Pub/Sub projects/p/subscriptions/s")
    assert "subscriptions/s: 2 message(s) cannot be decoded, skip_bad_rows allows 1" in str(error)


def test_tfexample_payloads_pass_through_and_garbage_is_bad():
    import tensorflow as tf

    ok = tf.train.Example(
        features=tf.train.Features(
            feature={"v": tf.train.Feature(int64_list=tf.train.Int64List(value=[7]))}
        )
    ).SerializeToString()
    done = decode.decode(messages(ok, b"\xff\xff\xff"), "tfexample", {})
    assert done.examples == [ok] and done.bad[0].startswith("message 1: not a serialized")


def test_journal_stages_commits_and_remembers_ids(tmp_path):
    journal = Journal(str(tmp_path / "j"))
    assert journal.open_span() is None and journal.next_span() == 1
    journal.stage(1, messages(b"a", b"b"))
    assert journal.open_span() == 1 and journal.seen() == {"0", "1"}
    assert [m.data for m in journal.messages(1)] == [b"a", b"b"]
    assert journal.emitted(1) is None
    journal.mark_emitted(1, "/out/1")
    assert journal.emitted(1) == "/out/1"
    journal.commit(1)
    assert journal.open_span() is None and journal.next_span() == 2
    assert journal.seen() == {"0", "1"}
    assert sorted(p.name for p in (tmp_path / "j").iterdir()) == ["1.ids"]


# ---------------------------------------------------------------- against the emulator


@pytest.fixture(scope="module")
def emulator():
    if emulator_bin() is None:
        missing(
            "the Pub/Sub emulator (google-cloud-cli-pubsub-emulator)",
            "bash scripts/test-servers.sh installs it",
        )
    with pubsub_server() as host:
        yield host


def run_executor(tmp_path: Path, sub: str, name: str, **overrides):
    """One execution of the executor, as a launcher would make it; its Examples artifact."""
    from tfxd.components.example_gen.build import hash_splits
    from tfxd.components.pubsub_example_gen.component import PubSubExampleGen
    from tfxd.components.pubsub_example_gen.executor import Executor
    from tfxd.components.pubsub_example_gen.params import PubSubSettings

    settings = stream_settings(tmp_path, PubSubSettings, subscription=sub, **overrides)
    component = PubSubExampleGen(settings=settings, output_config=hash_splits({"train": 1}))
    return execute(Executor, component, tmp_path / "out" / name)


def values(examples) -> list[int]:
    import tensorflow as tf

    files = sorted(Path(examples.uri, "Split-train").glob("*.gz"))
    out = []
    for record in tf.data.TFRecordDataset([str(f) for f in files], compression_type="GZIP"):
        out += features(record.numpy())["n"]
    return sorted(out)


def pending(sub: str) -> int:
    """How many messages the subscription still delivers (taken and handed back)."""
    from google.cloud import pubsub_v1

    from tfxd.components.pubsub_example_gen import service

    client = pubsub_v1.SubscriberClient()
    got, _ = service.drain(client, sub, max_messages=10_000, idle_timeout=2, window=30, seen=set())
    service.release(client, sub, [m.ack_id for m in got])
    return len(got)


def test_spans_hold_each_message_once_across_an_unpublished_run(emulator, tmp_path):
    topic, sub = make_subscription("spans")
    publish(topic, [json.dumps({"n": i}).encode() for i in range(50)])
    first = run_executor(tmp_path, sub, "a")
    assert first.span == 1 and values(first) == list(range(50))
    assert first.get_int_custom_property("tfxd_pubsub_messages") == 50
    assert pending(sub) == 0  # acknowledged once staged

    # Not published (the launcher died): the next run writes span 1 again and drains nothing.
    publish(topic, [json.dumps({"n": i}).encode() for i in range(50, 60)])
    again = run_executor(tmp_path, sub, "b")
    assert again.span == 1 and values(again) == list(range(50))

    publish_mlmd(tmp_path, again)
    third = run_executor(tmp_path, sub, "c")
    assert third.span == 2 and values(third) == list(range(50, 60))


def test_a_redelivered_message_is_dropped_and_acknowledged(emulator, tmp_path):
    from google.cloud import pubsub_v1

    from tfxd.components.pubsub_example_gen import service

    topic, sub = make_subscription("redelivered")
    publish(topic, [json.dumps({"n": i}).encode() for i in range(5)])
    client = pubsub_v1.SubscriberClient()
    got, _ = service.drain(client, sub, max_messages=10, idle_timeout=2, window=30, seen=set())
    # A crash right after staging: in the journal, never acknowledged.
    journal = Journal(str(tmp_path / "journal"))
    journal.stage(1, got)
    service.release(client, sub, [m.ack_id for m in got])
    publish(topic, [json.dumps({"n": 5}).encode()])

    first = run_executor(tmp_path, sub, "a")  # writes the open span 1 again
    assert first.span == 1 and values(first) == list(range(5))
    publish_mlmd(tmp_path, first)
    second = run_executor(tmp_path, sub, "b")  # 0..4 come back: acknowledged and dropped
    assert second.span == 2 and values(second) == [5]
    assert pending(sub) == 0


def test_held_messages_are_not_delivered_again_and_do_not_keep_the_drain_going(emulator):
    import time

    from google.cloud import pubsub_v1

    from tfxd.components.pubsub_example_gen import service

    topic, sub = make_subscription("leases", ack_deadline=10)
    publish(topic, [b"{}"] * 5)
    client = pubsub_v1.SubscriberClient()
    began = time.monotonic()
    got, repeats = service.drain(
        client, sub, max_messages=100, idle_timeout=14, window=90, seen=set(), ack_deadline=10
    )
    # Held past the 10 s ack deadline, each message once, and the drain ends at the idle
    # timeout, not the window: a redelivery would not restart the idle clock anyway.
    assert len(got) == 5 and repeats == [] and time.monotonic() - began < 45
    # Their leases were extended to 60 s: 22 s in, nothing has come back. (Had the drain let
    # them lapse, they would have been delivered again at 10 s and again free at 20 s.)
    time.sleep(max(0.0, 22 - (time.monotonic() - began)))
    again, _ = service.drain(client, sub, max_messages=10, idle_timeout=2, window=5, seen=set())
    assert again == []
    service.release(client, sub, [m.ack_id for m in got])
    assert pending(sub) == 5


def test_too_many_bad_rows_stage_nothing_and_hand_the_messages_back(emulator, tmp_path):
    topic, sub = make_subscription("badrows")
    publish(topic, [b'{"n": 1}', b"not json", b'{"n": 3}', b"[1]"])
    with pytest.raises(
        StreamError, match=r"2 message\(s\) cannot be decoded, skip_bad_rows allows 1"
    ):
        run_executor(tmp_path, sub, "a", skip_bad_rows=1)
    assert Journal(str(tmp_path / "journal")).open_span() is None
    assert pending(sub) == 4  # back at once, not after the ack deadline
    done = run_executor(tmp_path, sub, "b", skip_bad_rows=2)
    assert values(done) == [1, 3] and done.get_int_custom_property("tfxd_bad_rows") == 2


def test_missing_subscription_and_empty_drain_are_explained(emulator, tmp_path):
    with pytest.raises(PubSubError, match=r"subscriptions/nope does not exist: create it"):
        run_executor(tmp_path, "projects/tfxd-test/subscriptions/nope", "a")
    _, sub = make_subscription("empty")
    with pytest.raises(StreamError, match=r"^Pub/Sub projects/.*: no new message within 2 s"):
        run_executor(tmp_path, sub, "b")


# ---------------------------------------------------------------- a pipeline, killed twice

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {{name: streaming}}
spec:
  root: runs
  metadata: {{sqlite: runs/metadata.db}}
  components:
    stream:
      type: PubSubExampleGen
      with: {{subscription: {sub}, format: json, idle_timeout_seconds: 3}}
    stats: {{type: StatisticsGen, inputs: {{examples: stream.examples}}}}
"""


@pytest.mark.slow  # five short runs through the CLI, two of them SIGKILLed (~1.5 min)
def test_runs_killed_mid_drain_and_after_staging_lose_and_repeat_nothing(emulator, tmp_path):
    import time

    from tests.conftest import tfxd

    topic, sub = make_subscription("crash", ack_deadline=10)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE.format(sub=sub))
    total, journal = 400, tmp_path / "runs" / "stream" / ".pubsub"

    def feed(start: int, stop: int) -> None:
        publish(topic, [json.dumps({"n": i}).encode() for i in range(start, stop)])

    kill_twice_while_feeding(tmp_path, journal, feed, total)
    time.sleep(11)  # the killed runs' leases end; their messages are delivered again
    spans = run_until_empty(tmp_path, total, env={"PUBSUB_EMULATOR_HOST": emulator})
    assert not list(journal.glob("*.msgs"))  # the last run settled the last span

    # tfxd watch sees the stream's next span only when a message waits, and runs it
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.pipelines.spans import available_spans

    pipe = validate_file(tmp_path / "pipeline.yaml")
    assert available_spans(pipe) == []
    publish(topic, [json.dumps({"n": total}).encode()])
    assert available_spans(pipe) == [len(spans) + 1] == available_spans(pipe)  # peeks hand back
    watched = tfxd("watch", "pipeline.yaml", "--once", cwd=tmp_path)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert published_spans(tmp_path / "runs")[len(spans) + 1] == [total]
    pinned = tfxd("run", "pipeline.yaml", "--span", "3", cwd=tmp_path)
    assert "--span does not apply to a stream ExampleGen" in pinned.stdout + pinned.stderr


@pytest.mark.heavy
@pytest.mark.slow  # the penguin-pubsub example through the CLI: publish, drain, train (~1.5 min)
def test_the_penguin_pubsub_example_trains_on_a_drained_span(emulator, tmp_path):
    import shutil

    from google.cloud import pubsub_v1

    from tests.conftest import REPO, tfxd

    for name in ("penguin-pubsub", "penguin"):
        shutil.copytree(
            REPO / "pipelines" / name,
            tmp_path / name,
            ignore=shutil.ignore_patterns("data", "runs"),
        )
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path("tfxd-demo", "penguins")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(
        name=subscriber.subscription_path("tfxd-demo", "penguins"), topic=topic
    )
    published = tfxd("example", "penguin", "--publish", topic, cwd=tmp_path)
    assert "published 344 message(s)" in published.stdout, published.stderr
    spec = "penguin-pubsub/pipeline.yaml"
    done = tfxd("run", spec, "--param", "train_steps=20", "--jobs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    # A forked worker hung in a process whose Pub/Sub client had run: one node at a time.
    assert "--jobs 2: 'examples' drains a stream" in done.stdout, done.stdout
    [span] = published_spans_of(tmp_path / "penguin-pubsub" / "runs", "species")
    assert span == (1, 344)
    assert list(
        (tmp_path / "penguin-pubsub" / "runs" / "serving").glob("*/*/float32.tflite")
    ) or list((tmp_path / "penguin-pubsub" / "runs" / "serving").rglob("*.tflite"))

    # The drained messages are acknowledged and gone: a reproduction says so and reads back the
    # Examples that run drained (metrics are not the point here: any tolerance).
    again = tfxd("reproduce", "penguin-pubsub", "1", "-f", spec, "--tolerance", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stdout[-5000:] + again.stderr[-3000:]
    assert "examples: a stream (what the run drained was acknowledged and is gone)" in again.stdout
    assert re.search(r"same\s+examples.examples \(Examples\)", again.stdout), again.stdout


def published_spans_of(root: Path, feature: str) -> list[tuple[int, int]]:
    """(span, examples holding ``feature``) of each live Examples artifact in MLMD."""
    import tensorflow as tf
    from ml_metadata import metadata_store

    from tfxd.infra.mlmd_reference import connection_from_reference

    store = metadata_store.MetadataStore(
        connection_from_reference({"sqlite": str(root / "metadata.db")})
    )
    out = []
    for artifact in store.get_artifacts_by_type("Examples"):
        if "tfxd_pubsub_messages" not in artifact.custom_properties:
            continue  # Transform's output
        files = [str(f) for f in Path(artifact.uri).glob("Split-*/*.gz")]
        records = tf.data.TFRecordDataset(files, compression_type="GZIP")
        count = sum(feature in features(r.numpy()) for r in records)
        out.append((artifact.custom_properties["span"].int_value, count))
    return out


def test_the_journal_works_on_s3(tmp_path):
    import boto3

    from tests.servers.s3 import s3_server

    with s3_server():
        boto3.session.Session().client("s3").create_bucket(Bucket="tfxd-journal")
        journal = Journal("s3://tfxd-journal/root/stream/.pubsub")
        journal.stage(1, messages(b"a", b"b"))
        journal.mark_emitted(1, "s3://tfxd-journal/root/stream/examples/7")
        assert journal.open_span() == 1 and journal.emitted(1).endswith("/examples/7")
        journal.commit(1)
        assert journal.open_span() is None and journal.next_span() == 2
        assert journal.seen() == {"0", "1"}


def test_missing_credentials_are_explained(monkeypatch):
    from tfxd.components.pubsub_example_gen.service import PubSubError, client

    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/tfxd-key.json")
    with pytest.raises(PubSubError, match="no credentials: .* or PUBSUB_EMULATOR_HOST"):
        client()
