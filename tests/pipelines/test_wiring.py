"""``tfxd validate`` checks what a node reads against what its producer gives, before anything runs:
on TFX's own taxi module (unmodified) wired the way users get it wrong."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from tfxd.errors import PipelineFileError
from tfxd.pipelines.pipeline import validate_file

TFX = Path(importlib.util.find_spec("tfx").origin).parent
MODULE = "taxi_utils_native_keras.py"

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: wiring}
spec:
  root: runs
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema: {type: SchemaGen, inputs: {statistics: stats.statistics}}
    transform:
      type: Transform
      inputs: {examples: examples.examples, schema: schema.schema}
      with: {module_file: taxi_utils_native_keras.py}
    train:
      type: Trainer
      inputs: TRAIN_INPUTS
      with: {module_file: taxi_utils_native_keras.py, train_steps: 10}
    evaluate:
      type: Evaluator
      inputs: {examples: EVAL_EXAMPLES, model: train.model}
      with:
        label_key: tips_xf
        preprocessing: [transform_features]
        metrics: [{class_name: BinaryAccuracy}]
    push:
      type: TFLitePusher
      inputs: {model: train.model, model_blessing: evaluate.blessing, examples: PUSH_EXAMPLES}
      with: {destination: serving, label: tips_xf}
"""
GOOD = {
    "TRAIN_INPUTS": "{examples: transform.transformed_examples, "
    "transform_graph: transform.transform_graph, schema: schema.schema}",
    "EVAL_EXAMPLES": "examples.examples",
    "PUSH_EXAMPLES": "examples.examples",
}


def write(tmp_path: Path, **changes: str) -> Path:
    shutil.copy(TFX / "examples/chicago_taxi_pipeline" / MODULE, tmp_path / MODULE)
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "data.csv").write_text("fare,tips\n1.0,0\n")
    text = PIPELINE
    for key, value in {**GOOD, **changes}.items():
        text = text.replace(key, value)
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PipelineFileError) as info:
        validate_file(path)
    return [str(p) for p in info.value.problems]


def test_the_right_wiring_validates(tmp_path):
    assert validate_file(write(tmp_path)).order[-1] == "push"


def test_a_pusher_given_transformed_examples_is_refused_with_the_fix(tmp_path):
    [found] = problems(write(tmp_path, PUSH_EXAMPLES="transform.transformed_examples"))
    assert "pipeline.yaml:27:81:" in found  # the push node's examples input
    assert (
        "TFLitePusher 'push': 'examples' gets transformed examples (transform.transformed_examples)"
        ", but signature 'serving_default' of a TFX module parses raw serialized tf.Examples\n"
        "    fix: examples: <ExampleGen node>.examples, or signature: model for transformed ones"
    ) in found, found


def test_an_evaluator_with_preprocessing_needs_raw_examples(tmp_path):
    [found] = problems(write(tmp_path, EVAL_EXAMPLES="transform.transformed_examples"))
    assert "Evaluator 'evaluate': 'examples' gets transformed examples" in found
    assert "its preprocessing (transform_features) runs the Transform graph on raw" in found


def test_a_trainer_whose_module_reads_transformed_data_needs_transform_outputs(tmp_path):
    raw = problems(
        write(
            tmp_path,
            TRAIN_INPUTS="{examples: examples.examples, transform_graph: "
            "transform.transform_graph, schema: schema.schema}",
        )
    )
    [found] = raw
    assert (
        "Trainer 'train': 'examples' gets raw examples (examples.examples), but its module reads "
        f"its examples with the transformed schema at {MODULE}:165 (transformed_metadata)"
    ) in found, found
    assert "fix: examples: <Transform node>.transformed_examples" in found
    [missing] = problems(write(tmp_path, TRAIN_INPUTS="{examples: transform.transformed_examples}"))
    assert (
        "Trainer 'train' has no input 'transform_graph', and its module reads the transform "
        f"graph at {MODULE}:305 (fn_args.transform_output)"
    ) in missing, missing
