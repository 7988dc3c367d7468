"""PubSubExampleGen executor: the stream protocol (``tfxd.components.stream.executor``) over a
Pub/Sub subscription. Pub/Sub may deliver a message twice: a drain drops, and acknowledges, any
message whose id is already in a span."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tfxd.components.pubsub_example_gen import service
from tfxd.components.pubsub_example_gen.params import PubSubSettings
from tfxd.components.stream.executor import Source, StreamExecutor
from tfxd.components.stream.journal import Message

MESSAGES = "tfxd_pubsub_messages"
SUBSCRIPTION = "tfxd_pubsub_subscription"


class SubscriptionSource(Source):
    def __init__(self, name: str):
        self.subscription = name
        self.name = f"Pub/Sub {name}"
        self.client = service.client()
        self.ack_deadline = service.check(self.client, name)

    def drain(
        self, *, max_messages: int, idle_timeout: float, window: float, seen: Callable[[], set]
    ) -> list[Message]:
        messages, repeats = service.drain(
            self.client,
            self.subscription,
            max_messages=max_messages,
            idle_timeout=idle_timeout,
            window=window,
            seen=seen(),
            progress=lambda n: logging.info("Pub/Sub: %d new message(s) drained", n),
            ack_deadline=self.ack_deadline,
        )
        service.acknowledge(self.client, self.subscription, repeats)
        return messages

    def acknowledge(self, messages: list[Message]) -> None:
        service.acknowledge(self.client, self.subscription, [m.ack_id for m in messages])

    def release(self, messages: list[Message]) -> None:
        service.release(self.client, self.subscription, [m.ack_id for m in messages])

    def waiting(self) -> bool:
        return service.waiting(self.client, self.subscription)

    def close(self) -> None:
        self.client.close()


class Executor(StreamExecutor):
    MESSAGES = MESSAGES
    SOURCE = SUBSCRIPTION

    SETTINGS = PubSubSettings

    def source(self, config: PubSubSettings) -> Source:
        return SubscriptionSource(config.subscription)

    def source_name(self, config: PubSubSettings) -> str:
        return config.subscription
