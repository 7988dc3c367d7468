"""PubSubExampleGen: a stream ExampleGen draining a Pub/Sub subscription."""

from __future__ import annotations

from tfxd.components.pubsub_example_gen.executor import Executor
from tfxd.components.stream.component import StreamExampleGen


class PubSubExampleGen(StreamExampleGen):
    """One span per run from a Pub/Sub subscription, each message exactly once."""

    EXECUTOR = Executor
