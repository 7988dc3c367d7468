"""BaselineModel's executor on real folders and a real SavedModel."""

from __future__ import annotations

from pathlib import Path

import pytest
from tfx.types import standard_artifacts

from tests.components.executors import small_saved_model as saved_model
from tfxd.components.baseline_model.executor import Executor, latest_version
from tfxd.components.reports.executor import baseline_note
from tfxd.errors import TfxdError


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


def test_driver_keys_the_cache_on_the_serving_version(tmp_path):
    """The driver's exec property changes exactly when what serves changes: a new version
    (no pointer), a pointer moved by a rollback; it stays put otherwise."""
    from tfx.orchestration.portable import data_types

    from tfxd.components.baseline_model.driver import ServingDriver
    from tfxd.infra.versions import set_serving

    serving = tmp_path / "serving"

    def key() -> str:
        info = data_types.ExecutionInfo(exec_properties={"source": str(serving)})
        return ServingDriver(None).run(info).exec_properties["serving"].string_value

    assert key() == ""
    saved_model(serving / "m" / "100")
    (serving / "m" / "100" / "manifest.json").write_text("{}")
    assert key() == ""  # versions sit under <model>/ and no pointer names one yet
    set_serving(serving, "m", 100)
    assert key() == str(serving / "m" / "100")
    assert key() == key()
    saved_model(serving / "m" / "200")
    assert key() == str(serving / "m" / "100")  # pinned: a newer push does not serve yet
    set_serving(serving, "m", 200)
    assert key() == str(serving / "m" / "200")

    plain = tmp_path / "pusher"  # TFX's Pusher: versions directly under the destination
    saved_model(plain / "7")
    info = data_types.ExecutionInfo(exec_properties={"source": str(plain)})
    assert ServingDriver(None).run(info).exec_properties["serving"].string_value == str(plain / "7")
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "out")
    Executor().Do({}, {"model": [model]}, {"source": str(plain), "serving": str(plain / "7")})
    assert model.get_string_custom_property("tfxd_baseline_version") == "7"
