"""BaselineModel's executor on real folders and a real SavedModel."""

from __future__ import annotations

from pathlib import Path

import pytest
from tfx.types import standard_artifacts

from tfxd.components.baseline_model.executor import Executor, latest_version
from tfxd.components.reports.executor import baseline_note
from tfxd.errors import TfxdError


def saved_model(path: Path) -> None:
    import tensorflow as tf

    module = tf.Module()
    module.scale = tf.Variable(2.0)
    module.f = tf.function(
        lambda x: x * module.scale, input_signature=[tf.TensorSpec([], tf.float32)]
    )
    tf.saved_model.save(module, str(path))


def run(source: Path, out: Path) -> standard_artifacts.Model:
    model = standard_artifacts.Model()
    model.uri = str(out)
    Executor().Do({}, {"model": [model]}, {"source": str(source)})
    return model


def test_no_serving_folder_means_no_baseline(tmp_path):
    model = run(tmp_path / "serving", tmp_path / "out")
    assert model.get_string_custom_property("tfxd_baseline") == "none"
    use, note = baseline_note(model)
    assert not use and "none yet" in note and "change thresholds are skipped" in note


def test_newest_complete_version_is_copied_for_the_evaluator(tmp_path):
    import tensorflow as tf

    serving = tmp_path / "serving"
    saved_model(serving / "100")
    saved_model(serving / "200")
    (serving / "300" / "variables").mkdir(parents=True)  # a push cut short: no saved_model.pb
    (serving / "notes").mkdir()
    assert latest_version(str(serving)) == "200"
    model = run(serving, tmp_path / "out")
    assert model.get_string_custom_property("tfxd_baseline") == "found"
    assert model.get_string_custom_property("tfxd_baseline_version") == "200"
    loaded = tf.saved_model.load(str(tmp_path / "out" / "Format-Serving"))
    assert float(loaded.f(tf.constant(3.0))) == 6.0
    use, note = baseline_note(model)
    assert use and note == f"version 200 from {serving / '200'}"


def test_source_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "serving").write_text("")
    with pytest.raises(TfxdError, match="is not a folder"):
        run(tmp_path / "serving", tmp_path / "out")
