"""KafkaExampleGen's ``with:`` block and its component type."""

from __future__ import annotations

from pydantic import Field

from tfxd.components.registry import EXAMPLES, TARGETS, ComponentType, Runs, Spans, Stream
from tfxd.components.stream.params import StreamParams, StreamSettings


class KafkaExampleGenParams(StreamParams):
    topic: str = Field(
        description="The topic; every partition is read.", pattern=r"^[A-Za-z0-9._-]{1,249}$"
    )
    brokers_env: str = Field(
        "KAFKA_BOOTSTRAP_SERVERS",
        description="The environment variable that holds the bootstrap brokers (host:port,…).",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )
    group: str | None = Field(
        None,
        description="The consumer group whose committed offsets mark what was taken "
        "(default: tfxd.<pipeline>.<node>).",
        pattern=r"^[A-Za-z0-9._-]{1,249}$",
    )

    def group_for(self, pipeline_name: str, node_id: str) -> str:
        return self.group or f"tfxd.{pipeline_name}.{node_id}"


class KafkaSettings(KafkaExampleGenParams, StreamSettings):
    """What the executor reads back: the group resolved."""

    group: str  # type: ignore[assignment]


TYPE = ComponentType(
    "KafkaExampleGen",
    KafkaExampleGenParams,
    "tfxd.components.kafka_example_gen.component:KafkaExampleGen",
    "tfxd.components.kafka_example_gen.build:build",
    "a Kafka topic drained into one span per run, each record exactly once",
    produces=EXAMPLES,
    runs=Runs(uncached_on=TARGETS),
    spans=Spans(
        read="stream", stream=Stream("tfxd.components.kafka_example_gen.build:source", ".kafka")
    ),
)
