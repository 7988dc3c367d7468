"""Comparing a run's outputs with a reproduction's, file by file."""

from __future__ import annotations

from ml_metadata.proto import metadata_store_pb2

from tfxd.runners.outputs import compare_outputs


def artifact(folder, files: dict[str, str]) -> metadata_store_pb2.Artifact:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return metadata_store_pb2.Artifact(uri=str(folder))


def test_outputs_compare_by_content_and_name_what_the_reproduction_lacks(tmp_path):
    old = {
        ("schema", "schema"): (artifact(tmp_path / "a" / "s", {"schema.pbtxt": "x"}), "Schema"),
        ("train", "model"): (artifact(tmp_path / "a" / "m", {"w": "1"}), "Model"),
        ("transform", "pre_transform_stats"): (
            artifact(tmp_path / "a" / "p", {"FeatureStats.pb": "s"}),
            "ExampleStatistics",
        ),
    }
    new = {
        ("schema", "schema"): (artifact(tmp_path / "b" / "s", {"schema.pbtxt": "x"}), "Schema"),
        ("train", "model"): (artifact(tmp_path / "b" / "m", {"w": "2"}), "Model"),
    }
    checks = {(c.node, c.output): c for c in compare_outputs(old, new)}
    assert checks["schema", "schema"].identical and checks["schema", "schema"].required
    model = checks["train", "model"]
    assert not model.identical and not model.required and "1 of 1 file(s) differ" in model.detail
    lacking = checks["transform", "pre_transform_stats"]
    assert not lacking.identical and not lacking.required
    assert lacking.detail.startswith("only in the recorded run")
