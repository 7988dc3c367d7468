"""Staged user modules: one package per content, importable by a fresh process, refused clearly
where the file name is not a Python name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfxd.errors import TfxdError
from tfxd.pipelines.pipeline import validate_file
from tfxd.pipelines.staged import module_stager, python_path

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: staged}
spec:
  root: runs
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema: {type: SchemaGen, inputs: {statistics: stats.statistics}}
    transform:
      type: Transform
      inputs: {examples: examples.examples, schema: schema.schema}
      with: {module_file: MODULE}
"""


def pipeline(folder: Path, module: str) -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "helpers.py").write_text("SCALE = 2\n", encoding="utf-8")
    (folder / module).write_text(
        "from helpers import SCALE\n\ndef preprocessing_fn(inputs):\n    return inputs\n",
        encoding="utf-8",
    )
    path = folder / "pipeline.yaml"
    path.write_text(PIPELINE.replace("MODULE", module), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def own_path(monkeypatch):
    """Staging puts its folder on sys.path and PYTHONPATH: this process's are restored after."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))


def test_one_package_per_content_importable_by_another_process(tmp_path):
    pipe = validate_file(pipeline(tmp_path, "prep.py"))
    stage = module_stager(pipe, tmp_path / "runs")
    name = stage("prep.py")
    assert name.startswith("tfxd_user_") and name.endswith(".prep")
    assert stage("prep.py") == name  # same content, same package, written once
    (tmp_path / "helpers.py").write_text("SCALE = 3\n", encoding="utf-8")  # a local import
    edited = stage("prep.py")
    assert edited != name  # an edit of what the module imports is a new package
    assert sorted(p.name for p in (tmp_path / "runs" / ".modules").iterdir()) == sorted(
        n.split(".")[0] for n in (name, edited)
    )
    code = f"import {edited} as m; import helpers; print(m.SCALE, helpers.SCALE)"
    env = {"PYTHONPATH": os.pathsep.join(python_path(pipe, tmp_path / "runs"))}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "3"]


def test_a_module_name_python_cannot_import_is_refused_with_the_fix(tmp_path):
    pipe = validate_file(pipeline(tmp_path, "my-prep.py"))
    with pytest.raises(TfxdError, match=r"pipeline.yaml: module file my-prep.py: .*rename"):
        module_stager(pipe, tmp_path / "runs")("my-prep.py")
    assert not (tmp_path / "runs" / ".modules").exists() or not any(
        (tmp_path / "runs" / ".modules").iterdir()
    )
