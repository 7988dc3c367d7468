"""HorovodTrainer's executor: real Horovod ranks (Gloo) on this machine, on real TFRecords."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.servers.process import missing
from tfxd.components.standard.input_profile import INPUT_PROFILE
from tfxd.errors import TfxdError

pytestmark = pytest.mark.heavy  # Horovod ranks: two processes training at once


@pytest.fixture(autouse=True)
def horovod_installed():
    if importlib.util.find_spec("horovod") is None:
        missing("Horovod", "bash scripts/setup.sh builds it")


MODULE = Path(__file__).with_name("horovod_module.py")
N = 512  # examples: 32 batches of 16, so 2 ranks x 10 steps stay within one pass


def write_examples(folder: Path, split: str, n: int, seed: int) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    out = folder / f"Split-{split}"
    out.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(out / "data-00000-of-00001.gz"), options="GZIP") as writer:
        for i in range(n):
            x1, x2 = rng.normal(size=2)
            feature = {
                "id": tf.train.Feature(int64_list=tf.train.Int64List(value=[i])),
                "x1": tf.train.Feature(float_list=tf.train.FloatList(value=[x1])),
                "x2": tf.train.Feature(float_list=tf.train.FloatList(value=[x2])),
                "y": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(x1 + x2 > 0)])),
            }
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("horovod") / "examples"
    write_examples(root, "train", N, 1)
    write_examples(root, "eval", 128, 2)
    return root


def train(tmp_path: Path, examples: Path, workers: int, execution: int = 1, **config):
    """Run the executor once, as the local runner would; return the per-rank reports, the
    model's folder and the ModelRun artifact."""
    from tfx.types import standard_artifacts

    from tfxd.components.horovod_trainer.executor import Executor

    reports = tmp_path / "reports"  # one folder: the settings of a re-run must not change
    reports.mkdir(exist_ok=True)
    for old in reports.iterdir():
        old.unlink()
    ex = standard_artifacts.Examples()
    ex.uri = str(examples)
    ex.split_names = '["train", "eval"]'
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "root" / "train" / "model" / str(execution))
    run = standard_artifacts.ModelRun()
    run.uri = str(tmp_path / "root" / "train" / "model_run" / str(execution))
    Executor().Do(
        {"examples": [ex]},
        {"model": [model], "model_run": [run]},
        {
            "workers": workers,
            "module_file": str(MODULE),
            "train_args": json.dumps({"num_steps": config.pop("steps", 20)}),
            "eval_args": json.dumps({"num_steps": 5}),
            "custom_config": json.dumps({"report_dir": str(reports), **config}),
        },
    )
    ranks = sorted(reports.glob("rank-*.json"))
    return [json.loads(p.read_text()) for p in ranks], Path(model.uri), run


def test_negative_control_without_the_distributed_optimizer_weights_differ(tmp_path, examples):
    reports, _, _ = train(tmp_path, examples, 2, distributed=False)
    assert reports[0]["max_diff"] > 1e-4  # gradients were not averaged


def test_a_killed_training_resumes_and_two_ranks_train_disjoint_shards_into_one_model(
    tmp_path, examples
):
    """One pair of Horovod launches (each ~30 s here) for both: a training killed after epoch 1
    resumes from its checkpoint, and the resumed 2-rank training reads disjoint shards and ends
    with identical weights on both ranks."""
    marker = tmp_path / "crashed"
    config = {"epochs": 4, "steps": 40, "crash_marker": str(marker), "crash_after": 1}
    with pytest.raises(TfxdError, match="a rank failed.*re-run resumes"):
        train(tmp_path, examples, 2, execution=1, **config)
    assert marker.exists()
    saved = list((tmp_path / "root" / "train" / ".horovod").glob("*/rank-0/*"))
    assert saved, "the backup of epoch 1 must survive the crash"
    reports, model, run = train(tmp_path, examples, 2, execution=2, **config)
    assert [r["first_epoch"] for r in reports] == [2, 2]  # resumed after epoch 1, on both ranks

    assert [r["rank"] for r in reports] == [0, 1] and reports[0]["size"] == 2
    ids = [set(r["ids"]) for r in reports]
    assert len(ids[0]) == len(ids[1]) == 48  # 6 batches of 8 each
    assert not ids[0] & ids[1], "ranks must read different shards"
    assert reports[0]["max_diff"] == 0.0 and reports[1]["max_diff"] == 0.0
    assert (model / "Format-Serving" / "saved_model.pb").is_file()
    # only rank 0 writes the output model; rank 1's went to the execution's scratch folder
    assert not (model.parent / "Format-Serving").exists()
    scratch = tmp_path / "root" / "train" / "model_run" / "2" / "horovod"
    assert (scratch / "rank-1" / "Format-Serving").is_dir()
    # each rank timed its own shard's input against its steps; the run is its slowest rank's
    profile = json.loads(run.get_string_custom_property(INPUT_PROFILE))
    assert len(profile["ranks"]) == 2 and profile["share"] == max(profile["ranks"])
    assert profile["bound"] in ("input", "compute") and profile["steps"] > 0
    # a finished training leaves no checkpoints behind
    assert not any((tmp_path / "root" / "train" / ".horovod").iterdir())


def test_more_workers_than_cores_is_refused_before_anything_starts(tmp_path, examples):
    with pytest.raises(TfxdError, match=r"workers: 64, but this machine can run \d+"):
        train(tmp_path, examples, 64)
    assert not (tmp_path / "root" / "train" / "model_run" / "1" / "horovod").exists()


def test_missing_horovod_gives_an_install_hint(monkeypatch):
    from tfxd.components.horovod_trainer.executor import require_horovod

    for name in ("horovod", "horovod.tensorflow"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(TfxdError) as raised:
        require_horovod()
    assert "HorovodTrainer needs Horovod" in str(raised.value)
    assert "pip install --no-build-isolation horovod==0.28.1" in str(raised.value)


def test_a_model_saved_with_horovod_ops_is_refused(tmp_path, examples):
    # include_optimizer=True: the DistributedOptimizer's allreduce ends up in the SavedModel
    with pytest.raises(TfxdError, match="holds Horovod ops.*include_optimizer=False"):
        train(tmp_path, examples, 2, steps=4, clean=False)
