"""BaselineModel component: no inputs, one Model output, cached while what serves is unchanged."""

from __future__ import annotations

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts

from tfxd.components.baseline_model.driver import ServingDriver
from tfxd.components.baseline_model.executor import Executor


class BaselineModelSpec(component_spec.ComponentSpec):
    PARAMETERS = {"source": component_spec.ExecutionParameter(type=str)}
    INPUTS: dict = {}
    OUTPUTS = {"model": component_spec.ChannelParameter(type=standard_artifacts.Model)}


class BaselineModel(base_component.BaseComponent):
    """The newest model version under ``source`` (a Pusher's destination), or a Model marked
    "none" on the first run, for the Evaluator's ``baseline_model``."""

    SPEC_CLASS = BaselineModelSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
    DRIVER_CLASS = ServingDriver

    def __init__(self, source: str):
        super().__init__(
            spec=BaselineModelSpec(
                source=source, model=channel.Channel(type=standard_artifacts.Model)
            )
        )
