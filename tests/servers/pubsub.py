"""The Google Cloud Pub/Sub emulator on 127.0.0.1 for tests (shipped with the Cloud SDK), and
helpers to make topics and subscriptions in it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from tests.servers.process import environment, free_port, server_process

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
    port = free_port()
    host = f"127.0.0.1:{port}"

    def started(folder: str) -> bool:
        with open(os.path.join(folder, "log"), "rb") as log:
            return b"Server started" in log.read()

    def command(folder: str) -> list[str]:
        return [binary, "--host=127.0.0.1", f"--port={port}", f"--dir={folder}"]

    with server_process(command, started, "the Pub/Sub emulator"):
        with environment({"PUBSUB_EMULATOR_HOST": host}):
            yield host


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
