"""KafkaExampleGen: a stream ExampleGen draining a Kafka topic."""

from __future__ import annotations

from tfxd.components.kafka_example_gen.executor import Executor
from tfxd.components.stream.component import StreamExampleGen


class KafkaExampleGen(StreamExampleGen):
    """One span per run from a Kafka topic, each record exactly once."""

    EXECUTOR = Executor
