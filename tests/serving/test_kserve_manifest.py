"""``tfxd compile --target kserve``: an InferenceService pinned to the serving version through a
model config file, checked by KServe's own model in the serving environment. No cluster runs
here: what a cluster does with the manifest is read from KServe's runtime, not tried."""

from __future__ import annotations

import json
import os
import subprocess

import yaml

from tests.conftest import tfxd
from tests.serving.test_server import python
from tests.serving.toy import push, write_model
from tfxd.file import load
from tfxd.mlmd.models import destinations
from tfxd.pipelines.pipeline import check
from tfxd.runners.serve import SOURCE


def test_the_manifest_pins_the_serving_version_and_passes_kserve(penguin_copy, tmp_path):
    python()  # the serving environment, or a skip that says why (a failure under CI)
    [dest] = destinations(check(load(penguin_copy), {}))
    model = write_model(tmp_path / "model", scale=1.0)
    first, second = push(dest, model), push(dest, write_model(tmp_path / "m2", scale=2.0))
    dest.serve(first)  # a rollback: the highest version is not the serving one
    out = tmp_path / "isvc.yaml"
    done = tfxd(
        "compile", str(penguin_copy), "--target", "kserve", "-o", str(out),
        "--storage-uri", "s3://models/penguin/", "--canary", "10",
        "--service-account", "models-reader", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not checked" not in done.stdout, done.stdout
    isvc = yaml.safe_load(out.read_text())
    predictor = isvc["spec"]["predictor"]
    assert isvc["metadata"]["name"] == "penguin"
    assert isvc["metadata"]["annotations"]["tfxd/model-version"] == str(first)
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["serviceAccountName"] == "models-reader"
    assert predictor["model"]["storageUri"] == "s3://models/penguin"
    [arg] = predictor["model"]["args"]
    assert arg == f"--model_config_file=/mnt/models/kserve-{first}.config"
    config = (dest.model_dir / f"kserve-{first}.config").read_text()
    assert 'base_path: "/mnt/models"' in config and f"versions: {first} " in config
    assert 'name: "penguin"' in config
    assert (dest.model_dir / f"kserve-{second}.config").is_file()  # written at push

    wrong = tfxd(
        "compile", str(penguin_copy), "--target", "kserve", "-o", str(out),
        "--storage-uri", "s3://models/penguin", "--version", "7", cwd=tmp_path,
    )  # fmt: skip
    assert wrong.returncode == 1 and "no complete version 7 under" in wrong.stderr, wrong.stderr
    secret = tfxd(
        "compile", str(penguin_copy), "--target", "kserve", "-o", str(out),
        "--storage-uri", "s3://AKIA:secret@models/penguin", cwd=tmp_path,
    )  # fmt: skip
    assert secret.returncode == 1 and "carries a credential" in secret.stderr, secret.stderr


def test_kserve_model_catches_what_a_typo_would_drop(tmp_path):
    document = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "taxi"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "tensorflow"},
                                         "storageUrl": "s3://m/taxi"}}},
    }  # fmt: skip
    path = tmp_path / "isvc.json"
    path.write_text(json.dumps(document))
    done = subprocess.run(
        [str(python()), "-m", "tfxd.serving.manifest_check", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SOURCE)},
        timeout=120,
    )
    assert done.returncode == 1
    assert "spec.predictor.model.storageUrl: not a field of KServe's InferenceService" in (
        done.stdout
    )
