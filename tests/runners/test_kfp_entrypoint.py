"""What a Kubeflow task records of its run on its output artifacts (``kfp_entrypoint.stamp``)."""

from __future__ import annotations

import hashlib
import json

from tfxd.mlmd.records import packages_digest
from tfxd.runners.kfp_entrypoint import _invocation, stamp
from tfxd.runners.recording import installed_packages


def test_outputs_carry_the_pipeline_packages_and_module_digests(tmp_path, monkeypatch):
    folder = tmp_path / "pipelines" / "demo"
    folder.mkdir(parents=True)
    (tmp_path / "pipelines" / "__init__.py").write_text("")
    (folder / "__init__.py").write_text("")
    (folder / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "model.py").write_text("from helpers import double\n\ndef run_fn(a):\n    pass\n")
    (folder / "pipeline.yaml").write_text("apiVersion: tfxd/v1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TFXD_PIPELINE_FILE", str(folder / "pipeline.yaml"))
    out = tmp_path / "executor_output.json"
    written = {"artifacts": {"model": {"artifacts": [{"uri": "/m", "metadata": {"x": 1}}]}}}
    out.write_text(json.dumps(written))
    executor_input = {
        "inputs": {"parameterValues": {"run_fn": "pipelines.demo.model.run_fn", "n": 3}},
        "outputs": {
            "artifacts": {
                "model": {"artifacts": [{"uri": "/m", "type": {"schemaTitle": "tfx.Model"}}]}
            },
            "outputFile": str(out),
        },
    }
    argv = ["x", "--json_serialized_invocation_args", json.dumps(executor_input)]
    assert _invocation(argv) == executor_input

    stamp(executor_input)
    [artifact] = json.loads(out.read_text())["artifacts"]["model"]["artifacts"]
    metadata = artifact["metadata"]
    assert metadata["x"] == 1  # what the executor wrote stays
    text = (folder / "pipeline.yaml").read_bytes()
    assert metadata["tfxd_pipeline_sha256"] == hashlib.sha256(text).hexdigest()
    assert metadata["tfxd_packages"] == packages_digest(installed_packages())
    modules = json.loads(metadata["tfxd_modules"])
    assert modules == {
        "model.py": hashlib.sha256((folder / "model.py").read_bytes()).hexdigest(),
        "helpers.py": hashlib.sha256((folder / "helpers.py").read_bytes()).hexdigest(),
    }
    assert "tfxd_metrics" not in metadata  # not an evaluation
