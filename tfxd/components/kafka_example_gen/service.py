"""Kafka I/O over kafka-python: check a topic, drain it from the consumer group's committed
offsets, commit, peek. Plain functions and one class, testable without TFX. The brokers' address
comes from an environment variable the pipeline names, never from the pipeline file.

A record's id is ``partition:offset``. The group's committed offsets are the acknowledgement: a
drain starts at them, and they move only past records that are staged in the journal.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from tfxd.components.stream.executor import Source
from tfxd.components.stream.journal import Message, StreamError
from tfxd.errors import MissingDependencyError

POLL_RECORDS = 1000  # records per poll at most
BOOTSTRAP_SECONDS = 10  # an unreachable broker fails the run after this long


class KafkaError(StreamError):
    """A topic cannot be read: brokers unreachable, topic missing, or offsets not committed."""


def brokers(env_var: str) -> str:
    servers = os.environ.get(env_var, "")
    if not servers:
        raise KafkaError(
            f"KafkaExampleGen: environment variable {env_var} is not set: it must hold the "
            "bootstrap brokers (host:port[,host:port…])"
        )
    return servers


def consumer(env_var: str, group: str) -> Any:
    """A consumer of ``group`` that never commits by itself."""
    try:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError as ClientError
    except ImportError as err:
        raise MissingDependencyError("kafka-python", "KafkaExampleGen", "kafka") from err

    servers = brokers(env_var)
    try:
        return KafkaConsumer(
            bootstrap_servers=servers.split(","),
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=30_000,
            bootstrap_timeout_ms=BOOTSTRAP_SECONDS * 1000,
        )
    except ClientError as err:
        raise KafkaError(
            f"Kafka: cannot reach the brokers in {env_var} ({servers}): {err}: check the "
            "address and that the brokers are up"
        ) from err


def _offset(message_id: str) -> tuple[int, int]:
    partition, offset = message_id.split(":")
    return int(partition), int(offset)


class TopicSource(Source):
    """A topic read by a consumer group: committed offsets are what was acknowledged."""

    def __init__(self, env_var: str, topic: str, group: str):
        from kafka import TopicPartition

        self.topic, self.group = topic, group
        self.name = f"Kafka topic {topic}"
        self.consumer = consumer(env_var, group)
        partitions = self.consumer.partitions_for_topic(topic)
        if not partitions:
            self.consumer.close()
            raise KafkaError(
                f"Kafka topic {topic} does not exist on the brokers in {env_var}: create it "
                "(kafka-topics.sh --create --topic …) or fix the name in the pipeline file"
            )
        self.partitions = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.consumer.assign(self.partitions)

    def drain(
        self, *, max_messages: int, idle_timeout: float, window: float, seen: Callable[[], set]
    ) -> list[Message]:
        """From the committed offsets (the earliest where the group has none). ``seen`` is not
        needed: records behind the committed offsets are never read again."""
        for tp in self.partitions:  # where the group stands now, not where this consumer was
            committed = self.consumer.committed(tp)
            if committed is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, committed)
        taken: list[Message] = []
        start = last = time.monotonic()
        while len(taken) < max_messages:
            now = time.monotonic()
            if now - last >= idle_timeout or now - start >= window:
                break
            wait = min(idle_timeout - (now - last), window - (now - start), 1.0)
            polled = self.consumer.poll(
                timeout_ms=max(1, int(wait * 1000)),
                max_records=min(POLL_RECORDS, max_messages - len(taken)),
            )
            records = [r for batch in polled.values() for r in batch]
            for r in records:
                taken.append(
                    Message(
                        id=f"{r.partition}:{r.offset}",
                        data=r.value or b"",
                        attributes={k: v.decode("utf-8", "replace") for k, v in r.headers or []},
                        publish_time=r.timestamp / 1000 if r.timestamp else 0.0,
                    )
                )
            if records:
                last = time.monotonic()
                logging.info("Kafka: %d new record(s) drained", len(taken))
        return taken[:max_messages]

    def acknowledge(self, messages: list[Message]) -> None:
        """Commit past the messages, per partition; an offset never moves back."""
        from kafka import OffsetAndMetadata, TopicPartition
        from kafka.errors import KafkaError as ClientError

        ends: dict[int, int] = {}
        for m in messages:
            partition, offset = _offset(m.id)
            ends[partition] = max(ends.get(partition, 0), offset + 1)
        commits = {}
        for partition, end in ends.items():
            tp = TopicPartition(self.topic, partition)
            if (self.consumer.committed(tp) or 0) < end:
                commits[tp] = OffsetAndMetadata(end, "", -1)
        if not commits:
            return
        try:
            self.consumer.commit(commits)
        except ClientError as err:  # the span is staged: the next run commits it again
            raise KafkaError(f"Kafka topic {self.topic}: committing offsets failed: {err}") from err

    def release(self, messages: list[Message]) -> None:
        """Nothing to do: uncommitted records are read again by the next drain."""

    def waiting(self) -> bool:
        ends = self.consumer.end_offsets(self.partitions)
        return any((self.consumer.committed(tp) or 0) < ends[tp] for tp in self.partitions)

    def close(self) -> None:
        self.consumer.close(autocommit=False)
