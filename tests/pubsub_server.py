"""The Google Cloud Pub/Sub emulator on 127.0.0.1 for tests (shipped with the Cloud SDK), and
helpers to make topics and subscriptions in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.sql_servers import free_port

PROJECT = "tfxd-test"
CANDIDATES = ("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",)


def emulator_bin() -> str | None:
    found = [p for p in CANDIDATES if os.path.exists(p)]
    if found:
        return found[0]
    gcloud = shutil.which("gcloud")
    if gcloud:
        sdk = os.path.dirname(os.path.dirname(os.path.realpath(gcloud)))
        path = os.path.join(sdk, "platform/pubsub-emulator/bin/cloud-pubsub-emulator")
        return path if os.path.exists(path) else None
    return None


@contextmanager
def pubsub_server() -> Iterator[str]:
    """Start the emulator; yield its host:port (also set as PUBSUB_EMULATOR_HOST)."""
    binary = emulator_bin()
    if binary is None:
        raise RuntimeError("the Pub/Sub emulator is not installed (google-cloud-sdk)")
    folder, port = tempfile.mkdtemp(prefix="tfxd-pubsub-"), free_port()
    log = open(os.path.join(folder, "log"), "wb")
    process = subprocess.Popen(
        [binary, "--host=127.0.0.1", f"--port={port}", f"--dir={folder}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    host = f"127.0.0.1:{port}"
    saved = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = host
    try:
        deadline = time.monotonic() + 60
        while b"Server started" not in open(log.name, "rb").read():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Pub/Sub emulator did not start: see {log.name}")
            time.sleep(0.1)
        yield host
    finally:
        process.kill()
        process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
        if saved is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = saved


def make_subscription(name: str, ack_deadline: int = 10) -> tuple[str, str]:
    """A new topic and subscription named ``name`` in the emulator: (topic, subscription)."""
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(PROJECT, name)
    sub = subscriber.subscription_path(PROJECT, name)
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=sub, topic=topic, ack_deadline_seconds=ack_deadline)
    return topic, sub


def publish(topic: str, payloads: list[bytes]) -> list[str]:
    """Publish and wait; the message ids in order."""
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    futures = [publisher.publish(topic, p) for p in payloads]
    return [f.result(timeout=60) for f in futures]
