"""TFX's standard components from their ``with:`` blocks."""

from __future__ import annotations

import json
from typing import Any

import tfx.components
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.proto import bulk_inferrer_pb2, trainer_pb2

from tfxd.components.example_gen.build import file_configs
from tfxd.components.example_gen.component import CsvExampleGen
from tfxd.components.example_gen.driver import ContentDriver
from tfxd.components.example_gen.executor import CsvSettings
from tfxd.components.example_gen.params import CsvExampleGenParams, FileExampleGenParams
from tfxd.components.registry import BuildContext
from tfxd.components.reports import component as reports
from tfxd.components.standard.params import (
    BulkInferrerParams,
    EvaluatorParams,
    ExcludeSplits,
    ImportSchemaGenParams,
    SchemaGenParams,
    TrainParams,
    TransformParams,
)


def _by_content(component: Any) -> Any:
    """Fingerprint the files a file ExampleGen reads by their content (``ContentDriver``)."""
    component.driver_class = ContentDriver
    return component


def csv_example_gen(ctx: BuildContext, inputs: dict, p: CsvExampleGenParams) -> Any:
    settings = CsvSettings(
        max_bad_rows=p.max_bad_rows, accepted_schema=ctx.accepted_schemas.get(ctx.node_id, "")
    )
    return _by_content(
        CsvExampleGen(
            input_base=ctx.path(p.input_base), custom_config=settings.pack(), **file_configs(ctx, p)
        )
    )


def import_example_gen(ctx: BuildContext, inputs: dict, p: FileExampleGenParams) -> Any:
    return _by_content(
        tfx.components.ImportExampleGen(input_base=ctx.path(p.input_base), **file_configs(ctx, p))
    )


def statistics_gen(ctx: BuildContext, inputs: dict, p: ExcludeSplits) -> Any:
    return reports.StatisticsGen(**inputs, exclude_splits=p.exclude_splits)


def schema_gen(ctx: BuildContext, inputs: dict, p: SchemaGenParams) -> Any:
    return tfx.components.SchemaGen(
        **inputs, infer_feature_shape=p.infer_feature_shape, exclude_splits=p.exclude_splits
    )


def import_schema_gen(ctx: BuildContext, inputs: dict, p: ImportSchemaGenParams) -> Any:
    return ImportSchemaGen(schema_file=ctx.path(p.schema_file))


def example_validator(ctx: BuildContext, inputs: dict, p: ExcludeSplits) -> Any:
    return reports.ExampleValidator(**inputs, exclude_splits=p.exclude_splits)


def transform(ctx: BuildContext, inputs: dict, p: TransformParams) -> Any:
    return tfx.components.Transform(
        **inputs,
        **ctx.user_function(p.module_file, "preprocessing_fn"),
        force_tf_compat_v1=p.force_tf_compat_v1,
        disable_statistics=p.statistics is False,
        custom_config=p.custom_config or None,
    )


def train_eval_args(p: TrainParams) -> dict[str, Any]:
    return {
        "train_args": trainer_pb2.TrainArgs(num_steps=p.train_steps),
        "eval_args": trainer_pb2.EvalArgs(num_steps=p.eval_steps),
    }


def trainer(ctx: BuildContext, inputs: dict, p: TrainParams) -> Any:
    """TFX's Trainer, its executor watching whether the run waited on input or on steps."""
    from tfx.dsl.components.base import executor_spec

    from tfxd.components.standard.trainer_executor import Executor

    return tfx.components.Trainer(
        **inputs,
        **ctx.user_function(p.module_file, "run_fn"),
        custom_config=p.custom_config or None,
        custom_executor_spec=executor_spec.ExecutorClassSpec(Executor),
        **train_eval_args(p),
    )


def tuner(ctx: BuildContext, inputs: dict, p: TrainParams) -> Any:
    return tfx.components.Tuner(
        **inputs,
        **ctx.user_function(p.module_file, "tuner_fn"),
        custom_config=p.custom_config or None,
        **train_eval_args(p),
    )


def eval_config(p: EvaluatorParams) -> Any:
    """The TFMA EvalConfig that ``p`` declares."""
    import tensorflow_model_analysis as tfma

    metrics = []
    for m in p.metrics:
        threshold = None
        if m.threshold is not None:
            value = None
            if m.threshold.lower is not None or m.threshold.upper is not None:
                bounds = {}
                if m.threshold.lower is not None:
                    bounds["lower_bound"] = {"value": m.threshold.lower}
                if m.threshold.upper is not None:
                    bounds["upper_bound"] = {"value": m.threshold.upper}
                value = tfma.GenericValueThreshold(**bounds)
            change = None
            if m.threshold.change is not None:
                c = m.threshold.change
                direction = (
                    tfma.MetricDirection.HIGHER_IS_BETTER
                    if c.direction == "higher_is_better"
                    else tfma.MetricDirection.LOWER_IS_BETTER
                )
                kwargs: dict[str, Any] = {"direction": direction}
                if c.absolute is not None:
                    kwargs["absolute"] = {"value": c.absolute}
                if c.relative is not None:
                    kwargs["relative"] = {"value": c.relative}
                change = tfma.GenericChangeThreshold(**kwargs)
            threshold = tfma.MetricThreshold(value_threshold=value, change_threshold=change)
        metrics.append(
            tfma.MetricConfig(
                class_name=m.class_name,
                config=json.dumps(m.config) if m.config else "",
                threshold=threshold,
            )
        )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=p.signature,
                label_key=p.label_key,
                preprocessing_function_names=p.preprocessing,
            )
        ],
        slicing_specs=[tfma.SlicingSpec(feature_keys=keys) for keys in p.slices],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
    )


def evaluator(ctx: BuildContext, inputs: dict, p: EvaluatorParams) -> Any:
    return reports.Evaluator(**inputs, eval_config=eval_config(p), example_splits=p.example_splits)


def bulk_inferrer(ctx: BuildContext, inputs: dict, p: BulkInferrerParams) -> Any:
    return tfx.components.BulkInferrer(
        **inputs,
        data_spec=bulk_inferrer_pb2.DataSpec(example_splits=p.example_splits),
        model_spec=bulk_inferrer_pb2.ModelSpec(model_signature_name=[p.signature]),
    )
