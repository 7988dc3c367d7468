"""DriftValidator component."""

from __future__ import annotations

from typing import Any

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts

from tfxd.components.drift_validator.executor import Executor
from tfxd.components.drift_validator.params import DriftSettings
from tfxd.components.reports.artifacts import MarkdownReport


class DriftValidatorSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        "config": component_spec.ExecutionParameter(type=str),
        "history": component_spec.ExecutionParameter(type=str),
        "split": component_spec.ExecutionParameter(type=str),
    }
    INPUTS = {
        "examples": component_spec.ChannelParameter(type=standard_artifacts.Examples),
        "statistics": component_spec.ChannelParameter(type=standard_artifacts.ExampleStatistics),
        "schema": component_spec.ChannelParameter(type=standard_artifacts.Schema),
        "serving_statistics": component_spec.ChannelParameter(
            type=standard_artifacts.ExampleStatistics, optional=True
        ),
    }
    OUTPUTS = {"report": component_spec.ChannelParameter(type=MarkdownReport)}


class DriftValidator(base_component.BaseComponent):
    """Scores a span's statistics against a baseline of earlier accepted spans; on drift it
    fails the execution (``on_drift: fail``, so nothing downstream runs) or records it
    (``warn``)."""

    SPEC_CLASS = DriftValidatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(
        self,
        examples: Any,
        statistics: Any,
        schema: Any,
        config: DriftSettings,
        history: str,
        split: str,
        serving_statistics: Any = None,
    ):
        super().__init__(
            spec=DriftValidatorSpec(
                examples=examples,
                serving_statistics=serving_statistics,
                statistics=statistics,
                schema=schema,
                config=config.to_json(),
                history=history,
                split=split,
                report=channel.Channel(type=MarkdownReport),
            )
        )
