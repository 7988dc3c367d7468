"""KafkaExampleGen executor: the stream protocol (``tfxd.components.stream.executor``) over a
Kafka topic read by a consumer group, whose committed offsets are the acknowledgement."""

from __future__ import annotations

from typing import Any

from tfxd.components.kafka_example_gen.topic import TopicSource
from tfxd.components.stream.executor import Source, StreamExecutor

MESSAGES = "tfxd_kafka_records"
TOPIC = "tfxd_kafka_topic"


class Executor(StreamExecutor):
    MESSAGES = MESSAGES
    SOURCE = TOPIC

    def source(self, config: dict[str, Any]) -> Source:
        return TopicSource(config["brokers_env"], config["topic"], config["group"])

    def source_name(self, config: dict[str, Any]) -> str:
        return config["topic"]
