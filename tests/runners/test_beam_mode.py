"""The Beam mode of a local run: in memory for small inputs, one worker process per core from
``spec.beam.multi_processing_from_mb``, as ``spec.beam`` or the Beam args say; shown, recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import PENGUIN, tfxd
from tfxd.pipelines.pipeline import validate_file
from tfxd.runners.beam_mode import choose

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: beamy}
spec:
  root: runs
BEAM
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
"""


def pipeline(folder: Path, beam: str = "") -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    shutil.copy(PENGUIN / "data" / "penguins.csv", folder / "data" / "penguins.csv")
    path = folder / "pipeline.yaml"
    path.write_text(PIPELINE.replace("BEAM\n", beam), encoding="utf-8")
    return path


def test_the_mode_follows_input_size_unless_the_file_or_the_run_says(tmp_path, penguin_data):
    auto = validate_file(pipeline(tmp_path / "a", "  beam: {workers: 2}\n"))
    small = choose(auto, 99_000_000)
    assert (small.mode, small.args, small.nodes) == ("in_memory", (), ())
    assert small.describe() == "in_memory (inputs 99.0 MB < 100)"
    big = choose(auto, 100_000_000)
    assert big.mode == "multi_processing" and big.workers == 2
    assert big.args == ("--direct_running_mode=multi_processing", "--direct_num_workers=2")
    # the types checked to give the same outputs (the CsvExampleGen reads in its own process)
    assert big.nodes == ("stats",)
    assert big.describe() == "multi_processing, 2 workers, for stats (inputs 100 MB ≥ 100)"

    # A --beam-arg naming the mode is the run's choice: nothing added but it.
    mine = choose(auto, 100_000_000, ["--direct_running_mode=in_memory"])
    assert mine.extra == ("--direct_running_mode=in_memory",) and mine.mode == "beam_args"
    assert mine.args == () and mine.nodes == ()
    assert mine.describe() == "as the Beam args say (--direct_running_mode)"
    # So are the file's beam_args, and spec.beam.mode, whatever the size.
    named = validate_file(pipeline(tmp_path / "b", "  beam_args: [--direct_num_workers=3]\n"))
    assert choose(named, 10**10).args == () and choose(named, 10**10).extra == ()
    fixed = validate_file(pipeline(tmp_path / "c", "  beam: {mode: multi_processing}\n"))
    assert choose(fixed, 0).mode == "multi_processing"


def test_a_bad_mode_is_named_by_file_and_field(tmp_path, penguin_data):
    path = pipeline(tmp_path, "  beam: {mode: threads}\n")
    done = tfxd("validate", str(path), cwd=tmp_path)
    assert done.returncode != 0
    text = done.stdout + done.stderr
    assert "pipeline.yaml:6" in text and "spec.beam.mode" in text, text
    assert "in_memory" in text and "multi_processing" in text, text


@pytest.mark.slow  # two runs of a 2-node pipeline, one with Beam worker processes (~40 s)
def test_worker_processes_make_the_same_statistics_and_the_run_record_says_how(
    tmp_path, penguin_data
):
    from tfxd.mlmd.records import read_record
    from tfxd.mlmd.store import open_store
    from tfxd.mlmd.views import list_runs

    outputs = {}
    for name, beam, extra in (
        ("memory", "", []),
        ("workers", "  beam: {multi_processing_from_mb: 0.001, workers: 2}\n", []),
        ("flag", "", ["--beam-arg=--direct_running_mode=multi_processing"]),
    ):
        path = pipeline(tmp_path / name, beam)
        done = tfxd("run", str(path), "--jobs", "1", *extra, cwd=path.parent)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs[name] = (path, done.stdout)
    assert "beam: in_memory (inputs 0.0 MB < 100)" in outputs["memory"][1]
    assert (
        "beam: multi_processing, 2 workers, for stats (inputs 0 MB ≥ 0.001)"
        in outputs["workers"][1]
    )
    assert "beam: as the Beam args say (--direct_running_mode)" in outputs["flag"][1]

    from tensorflow_metadata.proto.v0 import statistics_pb2

    def statistics(folder: Path) -> tuple[dict, dict]:
        means, counts = {}, {}
        for split in ("train", "eval"):
            [path] = (folder / "runs" / "stats").glob(f"statistics/*/Split-{split}/FeatureStats.pb")
            stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(path.read_bytes())
            counts[split] = stats.datasets[0].num_examples
            for feature in stats.datasets[0].features:
                if feature.HasField("num_stats"):
                    means[split, feature.path.step[0]] = feature.num_stats.mean
        return means, counts

    means, counts = statistics(tmp_path / "workers")
    assert counts == statistics(tmp_path / "memory")[1] and sum(counts.values()) == 344
    assert means == pytest.approx(statistics(tmp_path / "memory")[0], rel=1e-9)
    store = open_store(validate_file(outputs["workers"][0]).loaded)
    [run] = list_runs(store, "beamy")
    record = read_record(store, "beamy", run.run_id)
    assert record is not None and record.beam.startswith("multi_processing, 2 workers"), record
