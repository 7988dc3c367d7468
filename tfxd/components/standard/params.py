"""The ``with:`` models of TFX's standard components, and their component types."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tfxd.components.example_gen.params import (
    CsvExampleGenParams,
    FileExampleGenParams,
    csv_columns,
    file_inputs,
)
from tfxd.components.registry import (
    EXAMPLES,
    RUNTIME,
    TRAINER_INPUTS,
    TRAINER_OUTPUTS,
    Checks,
    ComponentType,
    Expect,
    Params,
    Runs,
    Sources,
    Spans,
    find_marker,
    path_field,
)


class ExcludeSplits(Params):
    exclude_splits: list[str] = Field(default_factory=list, description="Splits to skip.")


class SchemaGenParams(ExcludeSplits):
    infer_feature_shape: bool = Field(
        True,
        description="Infer fixed shapes (dense tensors) where every example has a value.",
        json_schema_extra=RUNTIME,
    )


class ImportSchemaGenParams(Params):
    schema_file: str = Field(
        description="A schema.pbtxt (relative to the pipeline file).",
        json_schema_extra=path_field("file"),
    )


class ModuleParams(Params):
    module_file: str = Field(
        description="Python module with the user functions (relative to the pipeline file).",
        json_schema_extra=path_field("file"),
    )
    custom_config: dict[str, Any] = Field(
        default_factory=dict, description="Free-form settings passed to the module's functions."
    )


class TransformParams(ModuleParams):
    force_tf_compat_v1: bool = False
    statistics: bool | None = Field(
        None,
        description=(
            "Compute pre- and post-transform statistics, schemas and anomalies (TFDV) in the "
            "Transform. Unset: only when no StatisticsGen reads the same examples, or when a "
            "node reads one of those outputs."
        ),
    )


TRANSFORM_STATISTICS = (
    "pre_transform_schema",
    "pre_transform_stats",
    "post_transform_schema",
    "post_transform_stats",
    "post_transform_anomalies",
)


def settle_transform(node_id: str, nodes: dict[str, Any]) -> TransformParams:
    """``statistics`` unset → off where a node that makes ExampleStatistics already reads the
    Transform's examples and nothing reads the Transform's own statistics outputs: TFDV would pass
    over the data twice more for what is already computed or never read."""
    node = nodes[node_id]
    params: TransformParams = node.params
    if params.statistics is not None:
        return params
    read = any(
        (up, out) == (node_id, name)
        for other in nodes.values()
        for up, out in other.inputs.values()
        for name in TRANSFORM_STATISTICS
    )
    examples = node.inputs.get("examples")
    duplicated = any(
        other.id != node_id
        and other.inputs.get("examples") == examples
        and "ExampleStatistics" in other.type.produces.values()
        for other in nodes.values()
    )
    return params.model_copy(update={"statistics": read or not duplicated})


class TrainParams(ModuleParams):
    train_steps: int = Field(100, ge=1, description="Training steps.")
    eval_steps: int = Field(10, ge=1, description="Evaluation steps.")


# What a TFX module's run_fn reads: the transform graph, and its examples by the transformed schema.
GRAPH_MARKERS = ("fn_args.transform_output", "fn_args.transform_graph_path")
TRANSFORMED_MARKERS = ("transformed_metadata", "transformed_feature_spec(")


def trainer_expects(p: TrainParams, sources: Sources) -> dict[str, Expect]:
    """A module whose run_fn opens the transform graph needs ``transform_graph``; one that reads
    its examples with the transformed schema needs the Transform's examples."""
    code = sources(p.module_file)
    out = {}
    if graph := find_marker(code, GRAPH_MARKERS):
        out["transform_graph"] = Expect(
            "given",
            f"its module reads the transform graph at {graph}",
            "add inputs: {transform_graph: <Transform node>.transform_graph}",
        )
    if data := find_marker(code, TRANSFORMED_MARKERS):
        out["examples"] = Expect(
            "transformed",
            f"its module reads its examples with the transformed schema at {data}",
            "examples: <Transform node>.transformed_examples",
        )
    return out


class ChangeThreshold(Params):
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"
    absolute: float | None = None
    relative: float | None = None


class Threshold(Params):
    lower: float | None = Field(None, description="Bless only if the metric is at least this.")
    upper: float | None = Field(None, description="Bless only if the metric is at most this.")
    change: ChangeThreshold | None = Field(None, description="Against the baseline model.")


class Metric(Params):
    class_name: str = Field(description="A TFMA or Keras metric class, e.g. ExampleCount.")
    config: dict[str, Any] = Field(default_factory=dict)
    threshold: Threshold | None = None


class EvaluatorParams(Params):
    label_key: str = Field(description="Label feature (after preprocessing, if any).")
    signature: str = Field("serving_default", description="Model signature to evaluate.")
    preprocessing: list[str] = Field(
        default_factory=list,
        description="Model signatures applied to raw examples first (e.g. transform_features).",
    )
    slices: list[list[str]] = Field(
        default_factory=lambda: [[]],
        description="Slicing specs: each a list of feature keys; [] is the overall slice.",
    )
    metrics: list[Metric] = Field(min_length=1)
    example_splits: list[str] = Field(default_factory=lambda: ["eval"])


def evaluator_expects(p: EvaluatorParams, _: Sources) -> dict[str, Expect]:
    """Preprocessing signatures (TFX modules' ``transform_features``) parse raw tf.Examples."""
    if not p.preprocessing:
        return {}
    return {
        "examples": Expect(
            "raw",
            f"its preprocessing ({', '.join(p.preprocessing)}) runs the Transform graph on raw "
            "serialized tf.Examples",
            "examples: <ExampleGen node>.examples",
        )
    }


class BulkInferrerParams(Params):
    example_splits: list[str] = Field(default_factory=lambda: ["eval"])
    signature: str = "serving_default"


def replay_examples(folder: str, splits: list[str]) -> dict[str, Any]:
    """Read back an Examples artifact's splits (``Split-<name>/`` folders of TFRecords)."""
    return {"input_base": folder, "input_splits": {s: f"Split-{s}/*" for s in splits}}


_TFX = "tfx.components:"
_REPORTS = "tfxd.components.reports.component:"
_BUILD = "tfxd.components.standard.build:"

TYPES = (
    ComponentType(
        "CsvExampleGen",
        CsvExampleGenParams,
        "tfxd.components.example_gen.component:CsvExampleGen",
        _BUILD + "csv_example_gen",
        "CSV files → Examples (bad rows set aside)",
        produces=EXAMPLES,
        runs=Runs(cache_inputs=file_inputs),  # reads in its own process (example_gen/ingest.py)
        spans=Spans(read="files"),
        checks=Checks(columns=csv_columns),
    ),
    ComponentType(
        "ImportExampleGen",
        FileExampleGenParams,
        _TFX + "ImportExampleGen",
        _BUILD + "import_example_gen",
        "TFRecord files of tf.Example → Examples",
        produces=EXAMPLES,
        runs=Runs(cache_inputs=file_inputs),
        spans=Spans(read="files", replay=replay_examples),
    ),
    ComponentType(
        "StatisticsGen",
        ExcludeSplits,
        _REPORTS + "StatisticsGen",
        _BUILD + "statistics_gen",
        "Examples → statistics (TFDV)",
        consumes={"examples": "Examples", "schema": "Schema?"},
        produces={"statistics": "ExampleStatistics", "report": "system.HTML"},
        runs=Runs(beam_workers=True),
    ),
    ComponentType(
        "SchemaGen",
        SchemaGenParams,
        _TFX + "SchemaGen",
        _BUILD + "schema_gen",
        "statistics → inferred schema",
        consumes={"statistics": "ExampleStatistics"},
        produces={"schema": "Schema"},
    ),
    ComponentType(
        "ImportSchemaGen",
        ImportSchemaGenParams,
        "tfx.components.schema_gen.import_schema_gen.component:ImportSchemaGen",
        _BUILD + "import_schema_gen",
        "a curated schema.pbtxt → Schema",
        produces={"schema": "Schema"},
    ),
    ComponentType(
        "ExampleValidator",
        ExcludeSplits,
        _REPORTS + "ExampleValidator",
        _BUILD + "example_validator",
        "statistics + schema → anomalies",
        consumes={"statistics": "ExampleStatistics", "schema": "Schema"},
        produces={"anomalies": "ExampleAnomalies", "report": "system.Markdown"},
    ),
    ComponentType(
        "Transform",
        TransformParams,
        _TFX + "Transform",
        _BUILD + "transform",
        "tf.Transform preprocessing_fn from the module file",
        consumes={"examples": "Examples", "schema": "Schema", "analyzer_cache": "TransformCache?"},
        produces={
            "transform_graph": "TransformGraph",
            "transformed_examples": "Examples",
            "updated_analyzer_cache": "TransformCache",
            "pre_transform_schema": "Schema",
            "pre_transform_stats": "ExampleStatistics",
            "post_transform_schema": "Schema",
            "post_transform_stats": "ExampleStatistics",
            "post_transform_anomalies": "ExampleAnomalies",
        },
        checks=Checks(settle=settle_transform, transformed=frozenset({"transformed_examples"})),
    ),
    ComponentType(
        "Tuner",
        TrainParams,
        _TFX + "Tuner",
        _BUILD + "tuner",
        "Keras Tuner search through tuner_fn in the module file",
        consumes={
            "examples": "Examples",
            "schema": "Schema?",
            "transform_graph": "TransformGraph?",
            "base_model": "Model?",
        },
        produces={"best_hyperparameters": "HyperParameters", "tuner_results": "TunerResults"},
    ),
    ComponentType(
        "Trainer",
        TrainParams,
        _TFX + "Trainer",
        _BUILD + "trainer",
        "run_fn from the module file",
        consumes=TRAINER_INPUTS,
        produces=TRAINER_OUTPUTS,
        checks=Checks(expects=trainer_expects),
    ),
    ComponentType(
        "Evaluator",
        EvaluatorParams,
        _REPORTS + "Evaluator",
        _BUILD + "evaluator",
        "TFMA metrics, slices and thresholds → blessing",
        consumes={
            "examples": "Examples",
            "model": "Model?",
            "baseline_model": "Model?",
            "schema": "Schema?",
        },
        produces={
            "evaluation": "ModelEvaluation",
            "blessing": "ModelBlessing",
            "report": "system.Markdown",
        },
        runs=Runs(evaluation="evaluation"),
        checks=Checks(expects=evaluator_expects),
    ),
    ComponentType(
        "BulkInferrer",
        BulkInferrerParams,
        _TFX + "BulkInferrer",
        _BUILD + "bulk_inferrer",
        "batch predictions over Examples",
        consumes={"examples": "Examples", "model": "Model?", "model_blessing": "ModelBlessing?"},
        produces={"inference_result": "InferenceResult", "output_examples": "Examples"},
    ),
)
