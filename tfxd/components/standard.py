"""TFX's standard components as YAML types: one ``with:`` model and one builder each."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

import tfx.components
from pydantic import Field, field_validator, model_validator
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.proto import bulk_inferrer_pb2, example_gen_pb2, pusher_pb2, trainer_pb2

from tfxd.components.baseline_model.component import BaselineModel
from tfxd.components.baseline_model.params import BaselineModelParams
from tfxd.components.bigquery_example_gen.component import BigQueryExampleGen
from tfxd.components.drift_validator.component import DriftValidator
from tfxd.components.drift_validator.params import (
    DriftValidatorParams,
    drift_config,
    drift_history,
)
from tfxd.components.horovod_trainer import executor as horovod_executor
from tfxd.components.horovod_trainer.component import HorovodTrainer
from tfxd.components.kafka_example_gen.component import KafkaExampleGen
from tfxd.components.kafka_example_gen.topic import TopicSource
from tfxd.components.pubsub_example_gen.component import PubSubExampleGen
from tfxd.components.pubsub_example_gen.executor import SubscriptionSource
from tfxd.components.pusher import executor as pusher_executor
from tfxd.components.pusher.component import Pusher
from tfxd.components.registry import (
    RUNTIME,
    TARGETS,
    BuildContext,
    ComponentType,
    Params,
    path_field,
    register,
)
from tfxd.components.reports import component as reports
from tfxd.components.s3_example_gen.component import S3ExampleGen
from tfxd.components.settings import pack
from tfxd.components.sql_example_gen.component import SqlExampleGen
from tfxd.components.tflite_pusher.component import TFLitePusher
from tfxd.components.tflite_pusher.params import TFLitePusherParams
from tfxd.components.versions import Destination
from tfxd.errors import TfxdError

# ---------------------------------------------------------------- example gens

PARAM_REF_TEXT = "${{"  # a runtime parameter: checked when it has a value


class FileExampleGenParams(Params):
    input_base: str = Field(
        description="Folder holding the input files (relative to the pipeline file).",
        json_schema_extra={**path_field("dir"), **RUNTIME},
    )
    input_splits: dict[str, str] = Field(
        default_factory=dict,
        description="Split name → file pattern under input_base (default: one split, '*').",
    )
    output_splits: dict[str, int] = Field(
        default_factory=lambda: {"train": 2, "eval": 1},
        description="Split name → hash buckets; ignored when input_splits is set.",
    )


def _example_gen_configs(p: FileExampleGenParams) -> dict[str, Any]:
    if p.input_splits:
        return {
            "input_config": example_gen_pb2.Input(
                splits=[
                    example_gen_pb2.Input.Split(name=n, pattern=pat)
                    for n, pat in p.input_splits.items()
                ]
            )
        }
    return {"output_config": _hash_splits(p.output_splits)}


def _hash_splits(buckets: dict[str, int]) -> example_gen_pb2.Output:
    """Output splits by hash buckets, as every ExampleGen takes them."""
    splits = [example_gen_pb2.SplitConfig.Split(name=n, hash_buckets=b) for n, b in buckets.items()]
    return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=splits))


def _span_range(ctx: BuildContext, p: FileExampleGenParams) -> dict[str, Any]:
    """With a span chosen for the run (``tfxd run --span``, ``tfxd watch``), read exactly that
    span instead of the newest one."""
    from tfx.proto import range_config_pb2

    if ctx.span is None or not any("{SPAN}" in pattern for pattern in p.input_splits.values()):
        return {}
    static = range_config_pb2.StaticRange(start_span_number=ctx.span, end_span_number=ctx.span)
    return {"range_config": range_config_pb2.RangeConfig(static_range=static)}


def _csv_example_gen(ctx: BuildContext, inputs: dict, p: FileExampleGenParams) -> Any:
    return tfx.components.CsvExampleGen(
        input_base=ctx.path(p.input_base), **_example_gen_configs(p), **_span_range(ctx, p)
    )


class S3ExampleGenParams(FileExampleGenParams):
    input_base: str = Field(
        description="s3://bucket/prefix holding the objects; endpoint, region and credentials "
        "come from the environment (AWS_ENDPOINT_URL, AWS_PROFILE, ...), never from this file.",
        json_schema_extra=RUNTIME,
    )
    format: Literal["csv", "tfrecord", "parquet", "jsonl"] = Field(
        description="Object format: csv (with a header), tfrecord (tf.Example), parquet, jsonl."
    )
    skip_bad_rows: int = Field(
        0,
        ge=0,
        description="csv and jsonl: unreadable rows tolerated (dropped, counted in MLMD); more "
        "fail the run naming file and line.",
    )

    @model_validator(mode="after")
    def _bad_rows_for_text(self) -> S3ExampleGenParams:
        if self.skip_bad_rows and self.format not in ("csv", "jsonl"):
            raise ValueError(
                f"skip_bad_rows applies to format: csv or jsonl; {self.format} is read by "
                "TFX's and Beam's own readers, which stop at the first unreadable record"
            )
        return self

    @field_validator("input_base")
    @classmethod
    def _s3_uri(cls, value: str) -> str:
        if PARAM_REF_TEXT in value:
            return value
        if "@" in value.split("/", 3)[2] if value.count("/") >= 2 else False:
            raise ValueError(
                "credentials do not belong in the pipeline file: set AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY or AWS_PROFILE in the environment, and write s3://bucket/prefix"
            )
        if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?", value):
            raise ValueError(
                "expected s3://bucket/prefix (bucket: 3-63 lowercase letters, digits, . or -)"
            )
        return value


def _s3_example_gen(ctx: BuildContext, inputs: dict, p: S3ExampleGenParams) -> Any:
    extra = {"custom_config": pack({"skip_bad_rows": p.skip_bad_rows})} if p.skip_bad_rows else {}
    return S3ExampleGen(
        format=p.format,
        input_base=p.input_base,
        **extra,
        **_example_gen_configs(p),
        **_span_range(ctx, p),
    )


DAY_PLACEHOLDERS = ("@span_begin_timestamp", "@span_end_timestamp", "@span_yyyymmdd_utc")


class QueryGenParams(Params):
    """What query-based ExampleGens share: one source (a query, a table, or a query per split),
    output splits, and day spans through TFX's placeholders."""

    query: str | None = Field(None, description="A query (one split, hash-split below).")
    table: str | None = Field(None, description="A table to read whole, instead of a query.")
    input_splits: dict[str, str] = Field(
        default_factory=dict, description="Split name → its own query (instead of query/table)."
    )
    output_splits: dict[str, int] = Field(
        default_factory=lambda: {"train": 2, "eval": 1},
        description="Split name → hash buckets; ignored when input_splits is set.",
    )
    first_day: dt.date | None = Field(
        None,
        description="With @span_begin_timestamp, @span_end_timestamp or @span_yyyymmdd_utc in a "
        "query, spans are days (days since 1970-01-01, TFX's numbering): the first day "
        "`tfxd watch` runs (default: yesterday, the newest complete day).",
    )

    TABLE_NAME: ClassVar[str] = r"[A-Za-z_][A-Za-z0-9_.]*"
    TABLE_HINT: ClassVar[str] = "a name like schema.table"

    @model_validator(mode="after")
    def _one_source(self) -> QueryGenParams:
        given = [n for n in ("query", "table", "input_splits") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("give exactly one of query, table and input_splits")
        for table in self.tables():
            if not re.fullmatch(self.TABLE_NAME, table):
                raise ValueError(f"table {table!r}: expected {self.TABLE_HINT}")
        return self

    def tables(self) -> list[str]:
        return [self.table] if self.table else []

    def table_query(self, table: str) -> str:
        return f"SELECT * FROM {table}"

    def queries(self) -> list[str]:
        """The split patterns: one per split, or the query or table."""
        return list(self.input_splits.values()) or [
            self.query or self.table_query(self.table or "")
        ]


def _query_gen_configs(ctx: BuildContext, p: QueryGenParams) -> dict[str, Any]:
    """input_config, output_config and range_config of a query-based ExampleGen: one query per
    split keeps its splits; one query is hash-split."""
    splits = p.input_splits or {"single_split": p.queries()[0]}
    return {
        "input_config": example_gen_pb2.Input(
            splits=[example_gen_pb2.Input.Split(name=n, pattern=q) for n, q in splits.items()]
        ),
        "output_config": (
            example_gen_pb2.Output() if p.input_splits else _hash_splits(p.output_splits)
        ),
        **_query_span_range(ctx, p.queries()),
    }


def query_has_spans(queries: list[str]) -> bool:
    return any(ph in q for q in queries for ph in DAY_PLACEHOLDERS)


def complete_day() -> int:
    """The newest complete day (yesterday, UTC) as a span number."""
    today = dt.datetime.now(dt.timezone.utc).date()
    return (today - dt.date(1970, 1, 1)).days - 1


def _query_span_range(ctx: BuildContext, queries: list[str]) -> dict[str, Any]:
    """Day spans for queries with TFX's placeholders: ``--span`` or yesterday."""
    from tfx.proto import range_config_pb2

    if not query_has_spans(queries):
        return {}
    span = ctx.span if ctx.span is not None else complete_day()
    static = range_config_pb2.StaticRange(start_span_number=span, end_span_number=span)
    return {"range_config": range_config_pb2.RangeConfig(static_range=static)}


class SqlExampleGenParams(QueryGenParams):
    connection_env: str = Field(
        description="Name of the environment variable holding the SQLAlchemy URL (never the URL).",
        pattern=r"^[A-Z_][A-Z0-9_]*$",
    )
    partition_column: str | None = Field(
        None,
        description="A numeric, date or timestamp column to cut into parallel range reads.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$",
    )
    partitions: int = Field(1, ge=1, le=1024, description="Range reads per split.")


def _sql_example_gen(ctx: BuildContext, inputs: dict, p: SqlExampleGenParams) -> Any:
    settings = {
        "connection_env": p.connection_env,
        "partition_column": p.partition_column or "",
        "partitions": p.partitions,
    }
    return SqlExampleGen(settings=settings, **_query_gen_configs(ctx, p))


class BigQueryExampleGenParams(QueryGenParams):
    project: str = Field(
        description="The project that runs the read sessions and query jobs (an id, not a "
        "credential); credentials come from the environment.",
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
    )
    streams: int = Field(8, ge=1, le=1000, description="Parallel read streams per table.")

    TABLE_NAME: ClassVar[str] = r"(?:[a-z][a-z0-9-]*[a-z0-9][.:])?\w+\.[\w$-]+"
    TABLE_HINT: ClassVar[str] = "[project.]dataset.table"

    def tables(self) -> list[str]:
        given = [v[len("table:") :] for v in self.input_splits.values() if v.startswith("table:")]
        return super().tables() + given

    def table_query(self, table: str) -> str:
        return f"table:{table}"  # read through the Storage Read API, not as a query


def _bigquery_example_gen(ctx: BuildContext, inputs: dict, p: BigQueryExampleGenParams) -> Any:
    settings = {"project": p.project, "streams": p.streams}
    return BigQueryExampleGen(settings=settings, **_query_gen_configs(ctx, p))


class StreamParams(Params):
    """What every stream ExampleGen takes besides where its stream is."""

    format: Literal["json", "csv", "tfexample"] = Field(
        description="Message payload: a JSON object, one CSV line (no header), or a serialized "
        "tf.Example."
    )
    columns: dict[str, Literal["int", "float", "string"]] = Field(
        default_factory=dict,
        description="Field name → type, in CSV order; required for csv, optional for json "
        "(default: each field's JSON type, one per span).",
    )
    max_messages: int = Field(100_000, ge=1, le=1_000_000, description="Most messages a span.")
    idle_timeout_seconds: float = Field(
        30, gt=0, description="End the span after this long without a new message."
    )
    window_seconds: float = Field(600, gt=0, description="End the span after this long in all.")
    skip_bad_rows: int = Field(
        0, ge=0, description="Undecodable messages tolerated (dropped, counted in MLMD)."
    )
    output_splits: dict[str, int] = Field(
        default_factory=lambda: {"train": 2, "eval": 1},
        description="Split name → hash buckets.",
    )

    @model_validator(mode="after")
    def _csv_columns(self) -> StreamParams:
        if self.format == "csv" and not self.columns:
            raise ValueError("format: csv needs columns (name: int|float|string, in CSV order)")
        if self.format == "tfexample" and self.columns:
            raise ValueError("columns do not apply to format: tfexample")
        return self


class PubSubExampleGenParams(StreamParams):
    subscription: str = Field(
        description="projects/<project>/subscriptions/<id>; the endpoint and credentials come "
        "from the environment (PUBSUB_EMULATOR_HOST, GOOGLE_APPLICATION_CREDENTIALS).",
        pattern=r"^projects/[a-z][a-z0-9-]+/subscriptions/[A-Za-z][A-Za-z0-9._~+%-]{2,}$",
    )


class KafkaExampleGenParams(StreamParams):
    topic: str = Field(
        description="The topic; every partition is read.", pattern=r"^[A-Za-z0-9._-]{1,249}$"
    )
    brokers_env: str = Field(
        "KAFKA_BOOTSTRAP_SERVERS",
        description="The environment variable that holds the bootstrap brokers (host:port,…).",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )
    group: str | None = Field(
        None,
        description="The consumer group whose committed offsets mark what was taken "
        "(default: tfxd.<pipeline>.<node>).",
        pattern=r"^[A-Za-z0-9._-]{1,249}$",
    )


JOURNALS = {"PubSubExampleGen": ".pubsub", "KafkaExampleGen": ".kafka"}


def stream_journal(root: str, node_id: str, type_name: str) -> str:
    """Where a stream ExampleGen node keeps its drain journal."""
    return f"{root}/{node_id}/{JOURNALS[type_name]}"


def kafka_group(p: KafkaExampleGenParams, pipeline_name: str, node_id: str) -> str:
    return p.group or f"tfxd.{pipeline_name}.{node_id}"


def stream_source(type_name: str, params: Any, pipeline_name: str, node_id: str) -> Any:
    """The stream a stream ExampleGen node drains, connected (close it when done)."""
    if type_name == "KafkaExampleGen":
        group = kafka_group(params, pipeline_name, node_id)
        return TopicSource(params.brokers_env, params.topic, group)
    return SubscriptionSource(params.subscription)


def _stream_settings(ctx: BuildContext, p: StreamParams, type_name: str) -> dict[str, Any]:
    config = p.model_dump(exclude={"output_splits"}, exclude_none=True)
    config["journal"] = stream_journal(ctx.pipeline_root, ctx.node_id, type_name)
    if ctx.metadata is not None:
        config["metadata"] = ctx.metadata
    return config


def _pubsub_example_gen(ctx: BuildContext, inputs: dict, p: PubSubExampleGenParams) -> Any:
    config = _stream_settings(ctx, p, "PubSubExampleGen")
    return PubSubExampleGen(settings=config, output_config=_hash_splits(p.output_splits))


def _kafka_example_gen(ctx: BuildContext, inputs: dict, p: KafkaExampleGenParams) -> Any:
    config = _stream_settings(ctx, p, "KafkaExampleGen")
    config["group"] = kafka_group(p, ctx.pipeline_name, ctx.node_id)
    return KafkaExampleGen(settings=config, output_config=_hash_splits(p.output_splits))


def _import_example_gen(ctx: BuildContext, inputs: dict, p: FileExampleGenParams) -> Any:
    return tfx.components.ImportExampleGen(
        input_base=ctx.path(p.input_base), **_example_gen_configs(p), **_span_range(ctx, p)
    )


# ---------------------------------------------------------------- data analysis


class ExcludeSplits(Params):
    exclude_splits: list[str] = Field(default_factory=list, description="Splits to skip.")


def _statistics_gen(ctx: BuildContext, inputs: dict, p: ExcludeSplits) -> Any:
    return reports.StatisticsGen(**inputs, exclude_splits=p.exclude_splits)


class SchemaGenParams(ExcludeSplits):
    infer_feature_shape: bool = Field(
        True,
        description="Infer fixed shapes (dense tensors) where every example has a value.",
        json_schema_extra=RUNTIME,
    )


def _schema_gen(ctx: BuildContext, inputs: dict, p: SchemaGenParams) -> Any:
    return tfx.components.SchemaGen(
        **inputs, infer_feature_shape=p.infer_feature_shape, exclude_splits=p.exclude_splits
    )


class ImportSchemaGenParams(Params):
    schema_file: str = Field(
        description="A schema.pbtxt (relative to the pipeline file).",
        json_schema_extra=path_field("file"),
    )


def _import_schema_gen(ctx: BuildContext, inputs: dict, p: ImportSchemaGenParams) -> Any:
    return ImportSchemaGen(schema_file=ctx.path(p.schema_file))


def _example_validator(ctx: BuildContext, inputs: dict, p: ExcludeSplits) -> Any:
    return reports.ExampleValidator(**inputs, exclude_splits=p.exclude_splits)


# ---------------------------------------------------------------- transform, tune, train


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


def _transform(ctx: BuildContext, inputs: dict, p: TransformParams) -> Any:
    return tfx.components.Transform(
        **inputs,
        **ctx.user_function(p.module_file, "preprocessing_fn"),
        force_tf_compat_v1=p.force_tf_compat_v1,
        custom_config=p.custom_config or None,
    )


class TrainParams(ModuleParams):
    train_steps: int = Field(100, ge=1, description="Training steps.")
    eval_steps: int = Field(10, ge=1, description="Evaluation steps.")


def _train_eval_args(p: TrainParams) -> dict[str, Any]:
    return {
        "train_args": trainer_pb2.TrainArgs(num_steps=p.train_steps),
        "eval_args": trainer_pb2.EvalArgs(num_steps=p.eval_steps),
    }


def _trainer(ctx: BuildContext, inputs: dict, p: TrainParams) -> Any:
    return tfx.components.Trainer(
        **inputs,
        **ctx.user_function(p.module_file, "run_fn"),
        custom_config=p.custom_config or None,
        **_train_eval_args(p),
    )


class HorovodTrainerParams(TrainParams):
    workers: int = Field(2, ge=1, le=64, description="Data-parallel Horovod ranks (processes).")
    checkpoint_every: int = Field(
        0, ge=0, description="Steps between checkpoints a re-run resumes from (0: every epoch)."
    )


def _horovod_trainer(ctx: BuildContext, inputs: dict, p: HorovodTrainerParams) -> Any:
    if ctx.target == "local":
        horovod_executor.check_workers(p.workers, f"{ctx.node_id}: with.workers")
    return HorovodTrainer(
        **inputs,
        **ctx.user_function(p.module_file, "run_fn"),
        workers=p.workers,
        checkpoint_every=p.checkpoint_every,
        custom_config=p.custom_config or None,
        **_train_eval_args(p),
    )


def _tuner(ctx: BuildContext, inputs: dict, p: TrainParams) -> Any:
    return tfx.components.Tuner(
        **inputs,
        **ctx.user_function(p.module_file, "tuner_fn"),
        custom_config=p.custom_config or None,
        **_train_eval_args(p),
    )


# ---------------------------------------------------------------- evaluate


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


def _evaluator(ctx: BuildContext, inputs: dict, p: EvaluatorParams) -> Any:
    return reports.Evaluator(**inputs, eval_config=eval_config(p), example_splits=p.example_splits)


# ---------------------------------------------------------------- drift


def _drift_validator(ctx: BuildContext, inputs: dict, p: DriftValidatorParams) -> Any:
    history = drift_history(ctx.node_id, p, ctx.pipeline_root, ctx.path)
    config = drift_config(p)
    if config["baseline"] == "serving":
        if ctx.metadata is None:
            raise TfxdError(
                f"{ctx.node_id}: baseline: serving traces the serving model in ML Metadata, "
                f"which executors cannot reach on {ctx.target}: use previous_span there"
            )
        config.update(metadata=ctx.metadata)
    config["pipeline"] = ctx.pipeline_name
    # An imported schema is the accepted one for every span, the first included.
    producer = getattr(inputs.get("schema"), "producer_component", None)
    if isinstance(producer, ImportSchemaGen):
        config.update(schema_source="imported", schema_file=producer.exec_properties["schema_file"])
    return DriftValidator(**inputs, config=config, history=history, split=p.split)


# ---------------------------------------------------------------- push, infer, baseline


def _baseline_model(ctx: BuildContext, inputs: dict, p: BaselineModelParams) -> Any:
    return BaselineModel(source=ctx.path(p.source))


class PusherParams(Params):
    destination: str = Field(
        description="Serving folder; versions go under it (relative to the pipeline file).",
        json_schema_extra=path_field("dir-create"),
    )


def _pusher(ctx: BuildContext, inputs: dict, p: PusherParams) -> Any:
    return Pusher(
        **inputs,
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=ctx.path(p.destination))
        ),
        custom_config={
            pusher_executor.MODEL_NAME: ctx.pipeline_name,
            pusher_executor.NODE: ctx.node_id,
            pusher_executor.SPAN: ctx.span,
        },
    )


def _pusher_versions(node: str, p: PusherParams, pipeline: str, resolve: Any) -> Destination:
    folder = Path(resolve(p.destination))
    return Destination(node, folder, pipeline, folder)


def _tflite_pusher(ctx: BuildContext, inputs: dict, p: TFLitePusherParams) -> Any:
    config = p.model_dump(exclude={"destination"})
    config["model_name"] = p.model_name or ctx.pipeline_name
    config["span"] = ctx.span
    config["node"] = ctx.node_id
    return TFLitePusher(destination=ctx.path(p.destination), config=config, **inputs)


def _tflite_versions(node: str, p: TFLitePusherParams, pipeline: str, resolve: Any) -> Destination:
    folder = Path(resolve(p.destination))
    name = p.model_name or pipeline
    return Destination(node, folder, name, folder / name)


class BulkInferrerParams(Params):
    example_splits: list[str] = Field(default_factory=lambda: ["eval"])
    signature: str = "serving_default"


def _bulk_inferrer(ctx: BuildContext, inputs: dict, p: BulkInferrerParams) -> Any:
    return tfx.components.BulkInferrer(
        **inputs,
        data_spec=bulk_inferrer_pb2.DataSpec(example_splits=p.example_splits),
        model_spec=bulk_inferrer_pb2.ModelSpec(model_signature_name=[p.signature]),
    )


_c = tfx.components
for _t in [
    ComponentType(
        "SqlExampleGen",
        SqlExampleGen,
        SqlExampleGenParams,
        _sql_example_gen,
        "SQL queries or a table (PostgreSQL, MySQL/MariaDB) → Examples, in parallel range reads",
        spans="days",
    ),
    ComponentType(
        "BigQueryExampleGen",
        BigQueryExampleGen,
        BigQueryExampleGenParams,
        _bigquery_example_gen,
        "BigQuery tables (parallel Storage Read streams) or queries (paged) → Examples",
        spans="days",
    ),
    ComponentType(
        "PubSubExampleGen",
        PubSubExampleGen,
        PubSubExampleGenParams,
        _pubsub_example_gen,
        "a Pub/Sub subscription drained into one span per run, each message exactly once",
        uncached_on=TARGETS,
        spans="stream",
    ),
    ComponentType(
        "KafkaExampleGen",
        KafkaExampleGen,
        KafkaExampleGenParams,
        _kafka_example_gen,
        "a Kafka topic drained into one span per run, each record exactly once",
        uncached_on=TARGETS,
        spans="stream",
    ),
    ComponentType(
        "S3ExampleGen",
        S3ExampleGen,
        S3ExampleGenParams,
        _s3_example_gen,
        "CSV / TFRecord / Parquet / JSON-lines objects under an s3:// prefix → Examples",
        spans="files",
    ),
    ComponentType(
        "CsvExampleGen",
        _c.CsvExampleGen,
        FileExampleGenParams,
        _csv_example_gen,
        "CSV files → Examples",
        spans="files",
    ),
    ComponentType(
        "ImportExampleGen",
        _c.ImportExampleGen,
        FileExampleGenParams,
        _import_example_gen,
        "TFRecord files of tf.Example → Examples",
        spans="files",
    ),
    ComponentType(
        "StatisticsGen",
        reports.StatisticsGen,
        ExcludeSplits,
        _statistics_gen,
        "Examples → statistics (TFDV)",
    ),
    ComponentType(
        "SchemaGen", _c.SchemaGen, SchemaGenParams, _schema_gen, "statistics → inferred schema"
    ),
    ComponentType(
        "ImportSchemaGen",
        ImportSchemaGen,
        ImportSchemaGenParams,
        _import_schema_gen,
        "a curated schema.pbtxt → Schema",
    ),
    ComponentType(
        "ExampleValidator",
        reports.ExampleValidator,
        ExcludeSplits,
        _example_validator,
        "statistics + schema → anomalies",
    ),
    ComponentType(
        "Transform",
        _c.Transform,
        TransformParams,
        _transform,
        "tf.Transform preprocessing_fn from the module file",
    ),
    ComponentType(
        "Tuner",
        _c.Tuner,
        TrainParams,
        _tuner,
        "Keras Tuner search through tuner_fn in the module file",
    ),
    ComponentType("Trainer", _c.Trainer, TrainParams, _trainer, "run_fn from the module file"),
    ComponentType(
        "HorovodTrainer",
        HorovodTrainer,
        HorovodTrainerParams,
        _horovod_trainer,
        "run_fn from the module file on N data-parallel Horovod ranks",
    ),
    ComponentType(
        "Evaluator",
        reports.Evaluator,
        EvaluatorParams,
        _evaluator,
        "TFMA metrics, slices and thresholds → blessing",
    ),
    ComponentType(
        "DriftValidator",
        DriftValidator,
        DriftValidatorParams,
        _drift_validator,
        "span vs the accepted schema and earlier spans → fails the run on a break or drift",
        schema_history=drift_history,
        gates=True,
    ),
    ComponentType(
        "BaselineModel",
        BaselineModel,
        BaselineModelParams,
        _baseline_model,
        "the serving model → the Evaluator's baseline (cached while serving is unchanged)",
        uncached_on=frozenset({"kubeflow"}),  # KFP's cache cannot see what serves
    ),
    ComponentType(
        "Pusher",
        Pusher,
        PusherParams,
        _pusher,
        "blessed model → a new version in a serving folder, served",
        model_versions=_pusher_versions,
    ),
    ComponentType(
        "TFLitePusher",
        TFLitePusher,
        TFLitePusherParams,
        _tflite_pusher,
        "blessed model → SavedModel + measured TFLite variants, one atomic version, served",
        model_versions=_tflite_versions,
    ),
    ComponentType(
        "BulkInferrer",
        _c.BulkInferrer,
        BulkInferrerParams,
        _bulk_inferrer,
        "batch predictions over Examples",
    ),
]:
    register(_t)
