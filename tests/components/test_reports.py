"""Report outputs: renderers on real TFDV/TFMA protos, executors on TFX's own test data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tfx
from tfx.types import standard_artifacts

from tfxd.components.reports import render
from tfxd.components.reports.artifacts import HtmlReport, MarkdownReport

TESTDATA = Path(tfx.__file__).parent / "components" / "testdata"


def stats_for(frame) -> object:
    import tensorflow_data_validation as tfdv

    return tfdv.generate_statistics_from_dataframe(frame).datasets[0]


def test_statistics_html_lists_each_feature_with_missing_share():
    import pandas as pd

    frame = pd.DataFrame(
        {"flipper": [180.0, 190.0, None, 200.0], "island": ["Dream", "Dream", "Biscoe", None]}
    )
    text = render.statistics_html({"train": stats_for(frame)})
    assert "<h2>train: 4 examples</h2>" in text
    assert "<td>flipper</td><td>FLOAT</td><td class='warn'>25.0%</td><td>190</td>" in text
    assert "<td>island</td><td>STRING</td><td class='warn'>25.0%</td>" in text
    assert "<td>2</td><td>Dream</td>" in text  # unique values and the top one


def test_anomalies_markdown_names_feature_and_anomaly():
    import pandas as pd
    import tensorflow_data_validation as tfdv

    train = stats_for(pd.DataFrame({"island": ["Dream", "Biscoe"] * 5}))
    schema = tfdv.infer_schema(
        tfdv.generate_statistics_from_dataframe(pd.DataFrame({"island": ["Dream", "Biscoe"] * 5}))
    )
    shifted = tfdv.generate_statistics_from_dataframe(pd.DataFrame({"island": ["Mars"] * 10}))
    anomalies = tfdv.validate_statistics(shifted, schema)
    text = render.anomalies_markdown(
        {
            "eval": anomalies,
            "train": tfdv.validate_statistics(
                tfdv.generate_statistics_from_dataframe(pd.DataFrame({"island": ["Dream"] * 3})),
                schema,
            ),
        }
    )
    assert text.startswith("# Data validation: 1 anomaly")
    assert "## train\n\nNo anomalies." in text
    assert "| island | ERROR | Unexpected string values" in text
    assert train.num_examples == 10


def test_evaluation_markdown_with_baseline_and_failures():
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2 as m
    from tensorflow_model_analysis.proto import validation_result_pb2 as v

    overall = m.MetricsForSlice()
    for name, model, diff, value in [
        ("accuracy", "candidate", False, 0.9),
        ("accuracy", "baseline", False, 0.95),
        ("accuracy", "candidate", True, -0.05),
    ]:
        entry = overall.metric_keys_and_values.add()
        entry.key.name, entry.key.model_name, entry.key.is_diff = name, model, diff
        entry.value.double_value.value = value
    sliced = m.MetricsForSlice()
    key = sliced.slice_key.single_slice_keys.add()
    key.column, key.bytes_value = "island", b"Dream"
    entry = sliced.metric_keys_and_values.add()
    entry.key.name, entry.key.model_name = "accuracy", "candidate"
    entry.value.double_value.value = 0.8
    result = v.ValidationResult(validation_ok=False)
    failure = result.metric_validations_per_slice.add().failures.add()
    failure.metric_key.name = "accuracy"
    failure.metric_value.double_value.value = 0.8
    failure.message = "lower than 0.85"
    text = render.evaluation_markdown(
        [sliced, overall], result, blessed=False, baseline="version 7 from /serving/7"
    )
    assert text.startswith("# Model evaluation: NOT BLESSED\n\nBaseline: version 7 from /serving/7")
    lines = text.splitlines()
    overall_row = lines.index("| Overall | accuracy | 0.9 | 0.95 | -0.05 |")
    assert overall_row < lines.index("| island=Dream | accuracy | 0.8 |  |  |")  # Overall first
    assert "| Overall | accuracy | 0.8 | lower than 0.85 |" in text


def output(kind, tmp_path: Path, name: str):
    artifact = kind()
    artifact.uri = str(tmp_path / name)
    if not issubclass(kind, (HtmlReport, MarkdownReport)):
        os.makedirs(artifact.uri, exist_ok=True)
    return artifact


def test_statistics_gen_executor_writes_the_html_report(tmp_path):
    from tfxd.components.reports.executor import StatisticsGenExecutor

    examples = standard_artifacts.Examples()
    examples.uri = str(TESTDATA / "csv_example_gen")
    examples.split_names = '["train", "eval"]'
    stats = output(standard_artifacts.ExampleStatistics, tmp_path, "stats")
    report = output(HtmlReport, tmp_path, "report/value")
    StatisticsGenExecutor().Do(
        {"examples": [examples]},
        {"statistics": [stats], "report": [report]},
        {"exclude_splits": "[]"},
    )
    text = (tmp_path / "report" / "value").read_text()
    assert "<h2>train:" in text and "<h2>eval:" in text
    assert "<td>trip_miles</td><td>FLOAT</td>" in text


@pytest.mark.parametrize("broken", [False, True])
def test_example_validator_executor_writes_the_markdown_report(tmp_path, broken):
    import tensorflow_data_validation as tfdv
    from tfx.utils import io_utils

    from tfxd.components.reports.executor import ExampleValidatorExecutor

    stats = standard_artifacts.ExampleStatistics()
    stats.uri = str(TESTDATA / "statistics_gen")
    stats.split_names = '["train", "eval"]'
    schema_dir = tmp_path / "schema"
    schema_dir.mkdir()
    schema = tfdv.load_schema_text(str(TESTDATA / "schema_gen" / "schema.pbtxt"))
    if broken:  # a feature the data does not have: an anomaly in every split
        schema.feature.add(name="not_in_data", type=1, presence={"min_fraction": 1.0})
    io_utils.write_pbtxt_file(str(schema_dir / "schema.pbtxt"), schema)
    schema_artifact = standard_artifacts.Schema()
    schema_artifact.uri = str(schema_dir)
    anomalies = output(standard_artifacts.ExampleAnomalies, tmp_path, "anomalies")
    report = output(MarkdownReport, tmp_path, "report/value")
    ExampleValidatorExecutor().Do(
        {"statistics": [stats], "schema": [schema_artifact]},
        {"anomalies": [anomalies], "report": [report]},
        {"exclude_splits": "[]"},
    )
    text = (tmp_path / "report" / "value").read_text()
    if broken:
        assert text.startswith("# Data validation: 2 anomalies")
        assert "| not_in_data | ERROR | Column dropped" in text
    else:
        assert text.startswith("# Data validation: no anomalies")


def test_a_model_that_cannot_parse_the_examples_is_told_from_other_failures():
    import tensorflow as tf

    from tfxd.components.reports.executor import cannot_read

    example = tf.train.Example()
    example.features.feature["tract"].int64_list.value.append(17031)
    serialized = tf.constant([example.SerializeToString()])

    def parse(spec):
        try:
            tf.io.parse_example(serialized, spec)
        except tf.errors.InvalidArgumentError as err:
            return err
        raise AssertionError("parsed")

    learned = parse({"tract": tf.io.FixedLenFeature([], tf.string)})  # a type learned since
    assert "Data types don't match. Data type: int64 but expected type: string" in cannot_read(
        RuntimeError(f"Beam job failed: {learned}")
    )
    missing = parse({"fare": tf.io.FixedLenFeature([], tf.float32)})  # a column now optional
    assert cannot_read(missing).startswith("Feature: fare (data type: float) is required")
    assert cannot_read(MemoryError("out of memory")) == ""  # not a reason to drop the baseline
