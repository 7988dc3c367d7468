"""PubSubExampleGen's ``with:`` block and its component type."""

from __future__ import annotations

from pydantic import Field

from tfxd.components.registry import EXAMPLES, TARGETS, ComponentType, Runs, Spans, Stream
from tfxd.components.stream.params import StreamParams, StreamSettings


class PubSubExampleGenParams(StreamParams):
    subscription: str = Field(
        description="projects/<project>/subscriptions/<id>; the endpoint and credentials come "
        "from the environment (PUBSUB_EMULATOR_HOST, GOOGLE_APPLICATION_CREDENTIALS).",
        pattern=r"^projects/[a-z][a-z0-9-]+/subscriptions/[A-Za-z][A-Za-z0-9._~+%-]{2,}$",
    )


class PubSubSettings(PubSubExampleGenParams, StreamSettings):
    """What the executor reads back."""


TYPE = ComponentType(
    "PubSubExampleGen",
    PubSubExampleGenParams,
    "tfxd.components.pubsub_example_gen.component:PubSubExampleGen",
    "tfxd.components.pubsub_example_gen.build:build",
    "a Pub/Sub subscription drained into one span per run, each message exactly once",
    produces=EXAMPLES,
    runs=Runs(uncached_on=TARGETS),
    spans=Spans(
        read="stream", stream=Stream("tfxd.components.pubsub_example_gen.build:source", ".pubsub")
    ),
)
