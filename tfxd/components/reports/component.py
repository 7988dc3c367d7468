"""TFX's StatisticsGen, ExampleValidator and Evaluator, each with one more output: ``report``."""

from __future__ import annotations

from typing import Any

import tfx.components
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts, standard_component_specs
from tfx.utils import json_utils

from tfxd.components.reports.artifacts import HtmlReport, MarkdownReport
from tfxd.components.reports.executor import (
    EvaluatorExecutor,
    ExampleValidatorExecutor,
    StatisticsGenExecutor,
)


def _with_report(spec: type, report: type) -> dict[str, Any]:
    return {**spec.OUTPUTS, "report": component_spec.ChannelParameter(type=report)}


class StatisticsGenSpec(standard_component_specs.StatisticsGenSpec):
    OUTPUTS = _with_report(standard_component_specs.StatisticsGenSpec, HtmlReport)


class ExampleValidatorSpec(standard_component_specs.ExampleValidatorSpec):
    OUTPUTS = _with_report(standard_component_specs.ExampleValidatorSpec, MarkdownReport)


class EvaluatorSpec(standard_component_specs.EvaluatorSpec):
    OUTPUTS = _with_report(standard_component_specs.EvaluatorSpec, MarkdownReport)


class StatisticsGen(tfx.components.StatisticsGen):
    """TFX's StatisticsGen plus an HTML table of each split's statistics."""

    SPEC_CLASS = StatisticsGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(StatisticsGenExecutor)

    def __init__(self, examples: Any, schema: Any = None, exclude_splits: list[str] | None = None):
        base_component.BaseComponent.__init__(
            self,
            spec=StatisticsGenSpec(
                examples=examples,
                schema=schema,
                exclude_splits=json_utils.dumps(exclude_splits or []),
                statistics=channel.Channel(type=standard_artifacts.ExampleStatistics),
                report=channel.Channel(type=HtmlReport),
            ),
        )


class ExampleValidator(tfx.components.ExampleValidator):
    """TFX's ExampleValidator plus a Markdown list of the anomalies per split."""

    SPEC_CLASS = ExampleValidatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(ExampleValidatorExecutor)

    def __init__(self, statistics: Any, schema: Any, exclude_splits: list[str] | None = None):
        base_component.BaseComponent.__init__(
            self,
            spec=ExampleValidatorSpec(
                statistics=statistics,
                schema=schema,
                exclude_splits=json_utils.dumps(exclude_splits or []),
                anomalies=channel.Channel(type=standard_artifacts.ExampleAnomalies),
                report=channel.Channel(type=MarkdownReport),
            ),
        )


class Evaluator(tfx.components.Evaluator):
    """TFX's Evaluator plus a Markdown summary (blessing, baseline, metrics per slice, failed
    thresholds); a BaselineModel marked "none" (first run) is evaluated as no baseline."""

    SPEC_CLASS = EvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(EvaluatorExecutor)

    def __init__(
        self,
        examples: Any,
        model: Any,
        eval_config: Any,
        baseline_model: Any = None,
        example_splits: list[str] | None = None,
    ):
        base_component.BaseComponent.__init__(
            self,
            spec=EvaluatorSpec(
                examples=examples,
                model=model,
                baseline_model=baseline_model,
                eval_config=eval_config,
                example_splits=json_utils.dumps(example_splits),
                fairness_indicator_thresholds=json_utils.dumps(None),
                evaluation=channel.Channel(type=standard_artifacts.ModelEvaluation),
                blessing=channel.Channel(type=standard_artifacts.ModelBlessing),
                report=channel.Channel(type=MarkdownReport),
            ),
        )
