"""The serving log: rows of answered requests, sampled, written as tf.Examples (features as sent,
the version, the prediction) into spans that are whole or absent, by a real server process."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np
import pytest

from tests.servers.process import free_port
from tests.servers.s3 import s3_server
from tests.serving.test_server import ROWS, Server
from tests.serving.toy import push, write_model
from tfxd.infra.versions import Destination
from tfxd.serving.log_store import S3Log
from tfxd.serving.request_log import LogSettings, RequestLog, spans


def read_span(folder: Path) -> list:
    import tensorflow as tf

    records = tf.data.TFRecordDataset(str(folder / "data.tfrecord"))
    return [tf.train.Example.FromString(r.numpy()) for r in records]


def test_rows_are_sampled_and_each_span_closes_whole(tmp_path: Path):
    import tensorflow as tf

    log = RequestLog(LogSettings(str(tmp_path / "log"), sample=0.5, span_rows=40), seed=7)
    log.start()
    example = tf.train.Example()
    example.features.feature["a"].float_list.value.append(1.0)
    serialized = [example.SerializeToString()] * 100
    log.offer(serialized, 12, {"score": np.arange(100, dtype=np.float32).reshape(100, 1)})
    deadline = time.monotonic() + 10
    while spans(tmp_path / "log") != [1] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spans(tmp_path / "log") == [1]  # 40 rows: closed; the rest still open
    log.stop()
    assert spans(tmp_path / "log") == [1, 2]
    first, second = (read_span(tmp_path / "log" / f"span-{n}") for n in (1, 2))
    assert len(first) == 40 and 0 < len(second) < 30  # about half of 100 sampled
    row = first[0].features.feature
    assert row["a"].float_list.value == [1.0] and row["tfxd.version"].int64_list.value == [12]
    scores = [e.features.feature["tfxd.score"].float_list.value[0] for e in first + second]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)  # the rows' own answers
    assert not list((tmp_path / "log").glob(".tmp-*"))


def offer_rows(log: RequestLog, values: list[float]) -> None:
    import tensorflow as tf

    serialized = []
    for value in values:
        example = tf.train.Example()
        example.features.feature["a"].float_list.value.append(value)
        serialized.append(example.SerializeToString())
    log.offer(serialized, 3, {"score": np.asarray(values, dtype=np.float32).reshape(-1, 1)})


def logged_values(store: S3Log, span: int, tmp: Path) -> list[float]:
    return [e.features.feature["a"].float_list.value[0] for e in read_span(store.fetch(span, tmp))]


def test_spans_under_an_s3_prefix_are_whole_numbered_once_and_kept_when_unreachable(
    tmp_path: Path, monkeypatch
):
    import boto3

    staging = tmp_path / "staging"
    with s3_server() as env:
        boto3.client("s3").create_bucket(Bucket="served")
        store = S3Log("s3://served/taxi/log")
        log = RequestLog(LogSettings(store.location, span_rows=4, staging=staging))
        log.start()
        offer_rows(log, [float(i) for i in range(10)])
        log.stop()
        assert store.spans() == [1, 2, 3]
        assert [logged_values(store, n, tmp_path / "got") for n in (1, 2, 3)] == [
            [0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0]
        ]  # fmt: skip
        assert not list(staging.iterdir())  # nothing left staged once published

        # A publisher that died between its two PUTs left data without a marker: not a span,
        # and its number is not taken again.
        client = boto3.client("s3")
        client.put_object(Bucket="served", Key="taxi/log/span-4/data.tfrecord", Body=b"torn")
        assert store.spans() == [1, 2, 3]
        # Another server sharing the prefix took 5 after this one listed: If-None-Match moves
        # this one on to 6 instead of overwriting.
        listed = store._objects()
        client.put_object(Bucket="served", Key="taxi/log/span-5/data.tfrecord", Body=b"other")
        client.put_object(Bucket="served", Key="taxi/log/span-5/span.json", Body=b"{}")
        monkeypatch.setattr(store, "_objects", lambda: listed)
        ready = tmp_path / "ready"
        ready.mkdir()
        (ready / "data.tfrecord").write_bytes(b"mine")
        (ready / "span.json").write_text("{}")
        assert store.publish(ready) == 6 and not ready.exists()
        monkeypatch.undo()
        assert store.spans() == [1, 2, 3, 5, 6]
        got = client.get_object(Bucket="served", Key="taxi/log/span-5/data.tfrecord")
        assert got["Body"].read() == b"other"

    # The store unreachable: the closed span stays staged, and the next start publishes it.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    for key, value in env.items():
        if key != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(key, value)
    down = RequestLog(LogSettings("s3://served/taxi/log", span_rows=100, staging=staging))
    down.start()
    offer_rows(down, [7.0, 8.0])
    down.stop()
    assert len(list(staging.glob(".ready-span-*"))) == 1
    with s3_server():
        boto3.client("s3").create_bucket(Bucket="served")
        again = RequestLog(LogSettings("s3://served/taxi/log", staging=staging))
        again.start()
        deadline = time.monotonic() + 10
        while again.store.spans() != [1] and time.monotonic() < deadline:
            time.sleep(0.05)
        again.stop()
        assert logged_values(again.store, 1, tmp_path / "late") == [7.0, 8.0]
        assert not list(staging.iterdir())


@pytest.fixture
def logged(tmp_path: Path):
    folder = tmp_path / "serving"
    dest = Destination("push", folder, "toy", folder)
    version = push(dest, write_model(tmp_path / "m", scale=2.0))
    log = tmp_path / "serving-log"
    server = Server(
        dest, free_port(), 0, tmp_path / "server.log",
        extra=("--log-dir", str(log), "--log-span-rows", "5", "--log-span-seconds", "600"),
    )  # fmt: skip
    server.start()
    yield server, log, version
    if server.process is not None and server.process.poll() is None:
        server.process.kill()
        server.process.wait()


def test_the_server_logs_what_it_answers_and_a_crash_leaves_no_half_span(logged):
    server, log, version = logged
    rows = [{**ROWS[0], "a": float(i)} for i in range(12)]
    for start in range(0, 12, 3):
        code, answer, _ = server.predict({"instances": rows[start : start + 3]})
        assert code == 200, answer
    assert server.predict({"instances": [{"b": 1}]})[0] == 400  # refused: not logged
    deadline = time.monotonic() + 10
    while spans(log) != [1, 2] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spans(log) == [1, 2]
    server.process.send_signal(signal.SIGTERM)  # a clean stop closes the open span
    assert server.process.wait(timeout=30) == 0
    assert spans(log) == [1, 2, 3]
    logged_rows = [e for n in (1, 2, 3) for e in read_span(log / f"span-{n}")]
    assert [e.features.feature["a"].float_list.value[0] for e in logged_rows] == [
        float(i) for i in range(12)
    ]
    first = logged_rows[0].features.feature
    assert first["c"].bytes_list.value == [b"yes"] and first["b"].int64_list.value == [2]
    assert first["tfxd.version"].int64_list.value == [version]
    assert first["tfxd.score"].float_list.value == [2.0 * 0.0 + 2 + 1]

    server.start()
    server.predict({"instances": rows[:2]})
    deadline = time.monotonic() + 10
    while not list(log.glob(".tmp-span-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    server.process.kill()  # SIGKILL with a span open
    server.process.wait()
    assert spans(log) == [1, 2, 3] and list(log.glob(".tmp-span-*"))
    server.start()  # the next start removes what the crash left
    assert spans(log) == [1, 2, 3] and not list(log.glob(".tmp-span-*"))
