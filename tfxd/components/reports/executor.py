"""TFX's executors, then a report written to the ``report`` output."""

from __future__ import annotations

import os
import re
from typing import Any

from tfx.components.evaluator import executor as evaluator_executor
from tfx.components.example_validator import executor as validator_executor
from tfx.components.statistics_gen import executor as statistics_executor
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils

from tfxd.components.baseline_model.executor import FOUND, SOURCE, VERSION
from tfxd.components.reports import render


def _write(output_dict: dict[str, list[Any]], text: str) -> None:
    [report] = output_dict["report"]
    fileio.makedirs(os.path.dirname(report.uri))
    report.write(text)


class StatisticsGenExecutor(statistics_executor.Executor):
    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        super().Do(input_dict, output_dict, exec_properties)
        [stats] = output_dict["statistics"]
        splits = {
            split: stats_artifact_utils.load_statistics(stats, split).proto().datasets[0]
            for split in artifact_utils.decode_split_names(stats.split_names)
        }
        _write(output_dict, render.statistics_html(splits))


class ExampleValidatorExecutor(validator_executor.Executor):
    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        from tensorflow_metadata.proto.v0 import anomalies_pb2

        super().Do(input_dict, output_dict, exec_properties)
        [anomalies] = output_dict["anomalies"]
        splits = {}
        for split in artifact_utils.decode_split_names(anomalies.split_names):
            path = os.path.join(
                artifact_utils.get_split_uri([anomalies], split),
                validator_executor.DEFAULT_FILE_NAME,
            )
            splits[split] = anomalies_pb2.Anomalies.FromString(io_utils.read_bytes_file(path))
        _write(output_dict, render.anomalies_markdown(splits))


def baseline_note(baseline: Any | None) -> tuple[bool, str]:
    """(use it, what to say): a BaselineModel artifact marked "none" is the first run."""
    if baseline is None:
        return False, "none (no baseline_model input)"
    state = baseline.get_custom_property(FOUND) if baseline.has_custom_property(FOUND) else None
    if state == "none":
        source = baseline.get_custom_property(SOURCE)
        return False, f"none yet (no model under {source}): change thresholds are skipped"
    if state == "found":
        return True, (
            f"version {baseline.get_custom_property(VERSION)} "
            f"from {baseline.get_custom_property(SOURCE)}"
        )
    return True, f"model at {baseline.uri}"


# What TensorFlow says when a model's parsing does not fit the examples it is given: a feature
# of another type, or one its feature spec requires and the examples lack.
_CANNOT_READ = re.compile(
    r"(Data types don't match.*|Feature: \S+ \(data type: \w+\) is required but could not be "
    r"found[^\n]*)"
)
NOT_COMPARABLE = "tfxd_baseline_not_comparable"


def cannot_read(error: BaseException) -> str:
    """The line saying why a model cannot parse the examples ('' if ``error`` is not that)."""
    import traceback

    # Beam re-raises a worker's error as its own; TensorFlow's line is in the chained causes.
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    found = _CANNOT_READ.search(text)
    return found.group(1).strip().rstrip(".")[:300] if found else ""


def _clear(output_dict: dict) -> None:
    """Empty the outputs of a failed evaluation, for the next one to write."""
    for key in ("evaluation", "blessing"):
        for artifact in output_dict.get(key, []):
            if fileio.exists(artifact.uri):
                fileio.rmtree(artifact.uri)
            fileio.makedirs(artifact.uri)


class EvaluatorExecutor(evaluator_executor.Executor):
    """TFX's Evaluator. A baseline marked "none" (first run) is dropped, so TFMA evaluates the
    candidate alone and change thresholds are skipped (TFMA's rubber stamp). A baseline that
    cannot read these examples (the accepted schema evolved: a type learned, a column made
    optional) is not comparable: the evaluation runs again without it, as on a first run, and
    the blessing and the report say so and why. The model serving then cannot read such data
    either; the candidate, which can, is judged on its value thresholds alone."""

    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        import tensorflow_model_analysis as tfma

        input_dict = dict(input_dict)
        listed = input_dict.get("baseline_model") or []
        use, note = baseline_note(listed[0] if listed else None)
        if listed and not use:
            del input_dict["baseline_model"]
        why = ""
        try:
            super().Do(input_dict, output_dict, exec_properties)
        except Exception as err:
            why = cannot_read(err) if use else ""
            if not why:
                raise
            _clear(output_dict)
            del input_dict["baseline_model"]
            super().Do(input_dict, output_dict, exec_properties)  # the candidate's own error
            note = (
                f"{note} is not comparable: it cannot read these examples ({why}); the "
                "candidate is judged on its value thresholds alone, change thresholds skipped"
            )
        [evaluation] = output_dict["evaluation"]
        [blessing] = output_dict["blessing"]
        blessed = fileio.exists(os.path.join(blessing.uri, "BLESSED"))
        if why:
            blessing.set_string_custom_property(NOT_COMPARABLE, why)
        validation = None
        if fileio.exists(os.path.join(evaluation.uri, "validations")):
            validation = tfma.load_validation_result(evaluation.uri)
        metrics = list(tfma.load_metrics(evaluation.uri))
        _write(
            output_dict,
            render.evaluation_markdown(metrics, validation, blessed=blessed, baseline=note),
        )
