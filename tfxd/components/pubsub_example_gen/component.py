"""PubSubExampleGen: TFX's QueryBasedExampleGen whose "query" is a drain of a subscription."""

from __future__ import annotations

from typing import Any

from tfx.components.example_gen.component import QueryBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from tfxd.components.pubsub_example_gen.executor import Executor
from tfxd.components.settings import pack


class PubSubExampleGen(QueryBasedExampleGen):
    """One span per run from a Pub/Sub subscription, each message exactly once."""

    def __init__(self, *, settings: dict[str, Any], output_config: Any):
        super().__init__(
            input_config=example_gen_pb2.Input(
                splits=[example_gen_pb2.Input.Split(name="single_split", pattern="drain")]
            ),
            output_config=output_config,
            custom_config=pack(settings),
            custom_executor_spec=executor_spec.BeamExecutorSpec(Executor),
        )
