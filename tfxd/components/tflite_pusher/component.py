"""TFLitePusher component."""

from __future__ import annotations

from typing import Any

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts

from tfxd.components.tflite_pusher.executor import Executor
from tfxd.components.tflite_pusher.params import TFLiteSettings


class TFLitePusherSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        "destination": component_spec.ExecutionParameter(type=str),
        "config": component_spec.ExecutionParameter(type=str),
    }
    INPUTS = {
        "model": component_spec.ChannelParameter(type=standard_artifacts.Model),
        "examples": component_spec.ChannelParameter(type=standard_artifacts.Examples),
        "model_blessing": component_spec.ChannelParameter(
            type=standard_artifacts.ModelBlessing, optional=True
        ),
        "infra_blessing": component_spec.ChannelParameter(
            type=standard_artifacts.InfraBlessing, optional=True
        ),
    }
    OUTPUTS = {"pushed_model": component_spec.ChannelParameter(type=standard_artifacts.PushedModel)}


class TFLitePusher(base_component.BaseComponent):
    """Pushes a blessed Keras SavedModel and its TFLite variants (each measured on the eval
    split against the SavedModel) as one atomic, numbered version, and serves it."""

    SPEC_CLASS = TFLitePusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, destination: str, config: TFLiteSettings, **inputs: Any):
        super().__init__(
            spec=TFLitePusherSpec(
                destination=destination,
                config=config.to_json(),
                pushed_model=channel.Channel(type=standard_artifacts.PushedModel),
                **inputs,
            )
        )
