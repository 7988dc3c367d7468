"""KafkaExampleGen executor: the stream protocol (``tfxd.components.stream.executor``) over a
Kafka topic read by a consumer group, whose committed offsets are the acknowledgement."""

from __future__ import annotations

from tfxd.components.kafka_example_gen.params import KafkaSettings
from tfxd.components.kafka_example_gen.service import TopicSource
from tfxd.components.stream.executor import Source, StreamExecutor

MESSAGES = "tfxd_kafka_records"
TOPIC = "tfxd_kafka_topic"


class Executor(StreamExecutor):
    MESSAGES = MESSAGES
    SOURCE = TOPIC

    SETTINGS = KafkaSettings

    def source(self, config: KafkaSettings) -> Source:
        return TopicSource(config.brokers_env, config.topic, config.group)

    def source_name(self, config: KafkaSettings) -> str:
        return config.topic
