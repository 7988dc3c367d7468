"""The penguin pipeline compiled for Kubeflow, then executed task by task with ``tfxd run-spec``:
the same spec file a cluster would get, with a folder standing in for the image."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import PENGUIN, tfxd

pytestmark = [pytest.mark.slow, pytest.mark.heavy]


def test_compiled_penguin_spec_runs_end_to_end_and_pushes(tmp_path: Path, penguin_data: Path):
    image = tmp_path / "image"  # stands in for the image's /tfxd
    shutil.copytree(
        PENGUIN,
        image / "pipelines" / "penguin",
        ignore=shutil.ignore_patterns("runs", "__pycache__"),
    )
    spec = tmp_path / "penguin.kfp.yaml"
    compiled = tfxd(
        "compile",
        str(image / "pipelines" / "penguin" / "pipeline.yaml"),
        "--target",
        "kubeflow",
        "-o",
        str(spec),
        cwd=tmp_path,
    )
    assert compiled.returncode == 0, compiled.stderr
    root = tmp_path / "root"
    args = ["run-spec", str(spec), "--mount", f"/tfxd={image}", "--root", str(root)]
    first = tfxd(*args, "--run-id", "r1", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    tasks = ["examples", "stats", "schema", "validate", "transform", "tune", "train"]
    for task in [*tasks, "evaluate", "push"]:
        assert f"✓  {task}" in first.stdout, first.stdout

    # The preCacheCheck driver ran: the examples carry span and fingerprint like on a cluster.
    examples = json.loads((root / "r1" / "examples" / ".done.json").read_text())
    [artifact] = examples["artifacts"]["examples"]
    assert artifact["metadata"]["split_names"] == '["train", "eval"]'
    metadata = artifact["metadata"]
    assert metadata.get("span", metadata.get("custom:span")) == 0
    assert metadata["input_fingerprint"].startswith("split:single_split,num_files:1,")

    blessing = root / "r1" / "evaluate" / "blessing"
    assert (blessing / "BLESSED").exists()
    pushed = json.loads((root / "r1" / "push" / ".done.json").read_text())
    [model] = pushed["artifacts"]["pushed_model"]
    assert model["metadata"]["pushed"] == 1
    destination = Path(model["metadata"]["pushed_destination"])
    # The image path /tfxd/pipelines/penguin/runs/serving landed in the mounted folder.
    serving = image / "pipelines" / "penguin" / "runs" / "serving"
    assert destination.parent == serving / "penguin"
    assert (destination / "saved_model.pb").exists()
    assert len(list((destination / "tflite").glob("*.tflite"))) == 4

    # The report artifacts are the files the KFP UI shows (system.HTML / system.Markdown).
    assert "<h2>train:" in (root / "r1" / "stats" / "report").read_text()
    assert "Data validation: no anomalies" in (root / "r1" / "validate" / "report").read_text()
    first_report = (root / "r1" / "evaluate" / "report").read_text()
    assert "Model evaluation: BLESSED" in first_report and "Baseline: none yet" in first_report

    # What each task records of its run, on its outputs' metadata (KFP's store keeps it too).
    trained = json.loads((root / "r1" / "train" / ".done.json").read_text())
    [model_out] = trained["artifacts"]["model"]
    facts = model_out["metadata"]
    file_text = (image / "pipelines" / "penguin" / "pipeline.yaml").read_bytes()
    assert facts["tfxd_pipeline_sha256"] == hashlib.sha256(file_text).hexdigest()
    assert "model.py" in json.loads(facts["tfxd_modules"]) and facts["tfxd_packages"]
    evaluated = json.loads((root / "r1" / "evaluate" / ".done.json").read_text())
    [evaluation] = evaluated["artifacts"]["evaluation"]
    assert "sparse_categorical_accuracy" in json.loads(evaluation["metadata"]["tfxd_metrics"])

    # The run is recorded in the pipeline file's ML Metadata store, as a local run is: the runs
    # table shows its accuracy and the version it pushed, lineage walks the tasks' events.
    pipeline_file = str(image / "pipelines" / "penguin" / "pipeline.yaml")
    listed = tfxd("runs", "penguin", "-f", pipeline_file, cwd=tmp_path)
    [row] = [line for line in listed.stdout.splitlines() if line.startswith("│ 1 ")]
    assert re.search(r"│ r1 +│ succeeded +│", row) and destination.name in row, listed.stdout
    assert re.search(r"│ (0\.\d+|1) +│", row), row  # sparse_categorical_accuracy
    traced = tfxd("lineage", "penguin", "--model", "latest", "-f", pipeline_file, cwd=tmp_path)
    assert traced.returncode == 0, traced.stdout + traced.stderr
    for producer in ("train", "transform", "examples", "tune"):
        assert f"← {producer} (execution" in traced.stdout, traced.stdout

    # Re-running the finished run resumes every task and executes nothing.
    again = tfxd(*args, "--run-id", "r1", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("resumed") == 10, again.stdout

    # Forget the last three tasks: they run again, and the Evaluator now has a baseline, the
    # model the first pass pushed, found by the BaselineModel task (no resolver on KFP).
    for task in ("baseline", "evaluate", "push"):
        (root / "r1" / task / ".done.json").unlink()
    third = tfxd(*args, "--run-id", "r1", cwd=tmp_path)
    assert third.returncode == 0, third.stdout + third.stderr
    assert third.stdout.count("resumed") == 7, third.stdout
    report = (root / "r1" / "evaluate" / "report").read_text()
    assert f"Baseline: version {destination.name} from {destination}" in report
    assert "| Overall | sparse_categorical_accuracy |" in report
