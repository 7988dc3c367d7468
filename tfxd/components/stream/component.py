"""The streaming ExampleGens' component: TFX's QueryBasedExampleGen whose "query" is a drain."""

from __future__ import annotations

from typing import Any, ClassVar

from tfx.components.example_gen.component import QueryBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from tfxd.components.settings import Settings


class StreamExampleGen(QueryBasedExampleGen):
    """One span per run from a stream; ``EXECUTOR`` (a ``StreamExecutor``) names the source."""

    EXECUTOR: ClassVar[type]

    def __init__(self, *, settings: Settings, output_config: Any):
        super().__init__(
            input_config=example_gen_pb2.Input(
                splits=[example_gen_pb2.Input.Split(name="single_split", pattern="drain")]
            ),
            output_config=output_config,
            custom_config=settings.pack(),
            custom_executor_spec=executor_spec.BeamExecutorSpec(self.EXECUTOR),
        )
