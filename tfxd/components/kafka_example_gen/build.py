"""KafkaExampleGen from its ``with:`` block, and the topic it drains."""

from __future__ import annotations

from typing import Any

from tfxd.components.kafka_example_gen.component import KafkaExampleGen
from tfxd.components.kafka_example_gen.params import TYPE, KafkaExampleGenParams, KafkaSettings
from tfxd.components.kafka_example_gen.service import TopicSource
from tfxd.components.registry import BuildContext
from tfxd.components.stream.build import stream_outputs, stream_settings


def build(ctx: BuildContext, inputs: dict[str, Any], p: KafkaExampleGenParams) -> Any:
    group = p.group_for(ctx.pipeline_name, ctx.node_id)
    settings = stream_settings(ctx, p, TYPE.spans.stream.journal, KafkaSettings, group=group)
    return KafkaExampleGen(settings=settings, **stream_outputs(p))


def source(p: KafkaExampleGenParams, pipeline_name: str, node_id: str) -> TopicSource:
    """The topic the node drains, as its consumer group, connected (close it when done)."""
    return TopicSource(p.brokers_env, p.topic, p.group_for(pipeline_name, node_id))
