"""The penguin pipeline written by hand against TFX and run with TFX's LocalDagRunner: the baseline
of local_vs_tfx.py. Same components, module file, data, steps and Beam args as
pipelines/penguin/pipeline.yaml.

    python bench/tfx_penguin.py ROOT
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "pipelines", "penguin")


def create_pipeline(root: str) -> tfx.dsl.Pipeline:
    module = os.path.join(EXAMPLE, "model.py")
    examples = tfx.components.CsvExampleGen(
        input_base=os.path.join(EXAMPLE, "data"),
        output_config=tfx.proto.Output(
            split_config=tfx.proto.SplitConfig(
                splits=[
                    tfx.proto.SplitConfig.Split(name="train", hash_buckets=2),
                    tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1),
                ]
            )
        ),
    ).with_id("examples")
    stats = tfx.components.StatisticsGen(examples=examples.outputs["examples"]).with_id("stats")
    schema = tfx.components.SchemaGen(
        statistics=stats.outputs["statistics"], infer_feature_shape=False
    ).with_id("schema")
    validate = tfx.components.ExampleValidator(
        statistics=stats.outputs["statistics"], schema=schema.outputs["schema"]
    ).with_id("validate")
    transform = tfx.components.Transform(
        examples=examples.outputs["examples"], schema=schema.outputs["schema"], module_file=module
    ).with_id("transform")
    tune = tfx.components.Tuner(
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        module_file=module,
        train_args=tfx.proto.TrainArgs(num_steps=20),
        eval_args=tfx.proto.EvalArgs(num_steps=5),
        custom_config={"max_trials": 2},
    ).with_id("tune")
    train = tfx.components.Trainer(
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        hyperparameters=tune.outputs["best_hyperparameters"],
        module_file=module,
        train_args=tfx.proto.TrainArgs(num_steps=200),
        eval_args=tfx.proto.EvalArgs(num_steps=10),
    ).with_id("train")
    eval_config = tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key="species_xf",
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["island"])],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(
                        class_name="SparseCategoricalAccuracy",
                        threshold=tfma.MetricThreshold(
                            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.6})
                        ),
                    ),
                    tfma.MetricConfig(class_name="ExampleCount"),
                ]
            )
        ],
    )
    evaluate = tfx.components.Evaluator(
        examples=examples.outputs["examples"],
        model=train.outputs["model"],
        eval_config=eval_config,
    ).with_id("evaluate")
    push = tfx.components.Pusher(
        model=train.outputs["model"],
        model_blessing=evaluate.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=os.path.join(root, "serving")
            )
        ),
    ).with_id("push")
    return tfx.dsl.Pipeline(
        pipeline_name="penguin",
        pipeline_root=root,
        components=[examples, stats, schema, validate, transform, tune, train, evaluate, push],
        enable_cache=True,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(root, "metadata.db")
        ),
        beam_pipeline_args=[],
    )


if __name__ == "__main__":
    tfx.orchestration.LocalDagRunner().run(create_pipeline(sys.argv[1]))
