"""PubSubExampleGen from its ``with:`` block, and the subscription it drains."""

from __future__ import annotations

from typing import Any

from tfxd.components.pubsub_example_gen.component import PubSubExampleGen
from tfxd.components.pubsub_example_gen.executor import SubscriptionSource
from tfxd.components.pubsub_example_gen.params import TYPE, PubSubExampleGenParams, PubSubSettings
from tfxd.components.registry import BuildContext
from tfxd.components.stream.build import stream_outputs, stream_settings


def build(ctx: BuildContext, inputs: dict[str, Any], p: PubSubExampleGenParams) -> Any:
    settings = stream_settings(ctx, p, TYPE.spans.stream.journal, PubSubSettings)
    return PubSubExampleGen(settings=settings, **stream_outputs(p))


def source(p: PubSubExampleGenParams, pipeline_name: str, node_id: str) -> SubscriptionSource:
    """The subscription the node drains, connected (close it when done)."""
    return SubscriptionSource(p.subscription)
