"""The penguin pipeline end to end through the CLI: killed mid-training, re-run, lineage, a push
of the SavedModel and four TFLite variants, predict, 2 Horovod ranks vs 1, rollback, the runs
compared and a metric plotted over them, and the retrained run reproduced from scratch."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.conftest import kill_run_in, statuses, tfxd

pytestmark = [pytest.mark.slow, pytest.mark.heavy]


def open_store(db: Path):
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(db)
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def test_killed_run_resumes_then_lineage_push_and_predict(penguin_copy: Path):
    folder = penguin_copy.parent
    runs = folder / "runs"
    # 1. Start a run and SIGKILL it while the trainer is running.
    kill_run_in(penguin_copy, "train", "--param", "train_steps=150")
    assert not (runs / "serving").exists() or not any((runs / "serving").iterdir())
    assert no_ranks_left(), "Horovod ranks must die with the killed run"

    from ml_metadata.proto import metadata_store_pb2 as mlmd

    store = open_store(runs / "metadata.db")
    running = [e for e in store.get_executions() if e.last_known_state == mlmd.Execution.RUNNING]
    assert len(running) == 1 and running[0].type.endswith("HorovodTrainer")

    # 2. Run again: finished nodes come from the cache, the trainer's leftover is repaired; the
    # plan said so, node by node.
    predicted = planned(penguin_copy, "--param", "train_steps=150")
    assert predicted["train"] == ("run", "no earlier execution"), predicted
    again = tfxd("run", str(penguin_copy), "--param", "train_steps=150", cwd=folder)
    assert again.returncode == 0, again.stdout + again.stderr
    out = again.stdout
    assert statuses(out) == {n: action for n, (action, _) in predicted.items()}, out
    assert "repaired 1 execution(s) left running" in out
    # BaselineModel too: nothing serves yet, as when the killed run resolved it.
    for node in ("examples", "stats", "schema", "validate", "transform", "tune", "baseline"):
        assert f"{node:<12} cached" in out, out
    for node in ("train", "evaluate", "push"):
        assert f"{node:<12} done" in out, out
    store = open_store(runs / "metadata.db")
    states = {e.last_known_state for e in store.get_executions()}
    assert mlmd.Execution.RUNNING not in states

    # 3. Runs: the interrupted one and the one that finished.
    listed = tfxd("runs", "penguin", "-f", str(penguin_copy), cwd=folder)
    assert listed.returncode == 0, listed.stderr
    assert "interrupted" in listed.stdout and "succeeded" in listed.stdout
    from tfxd.mlmd.lineage import latest_artifact, trace
    from tfxd.mlmd.views import list_runs

    newest, killed = list_runs(store, "penguin")[:2]
    assert newest.status == "succeeded" and len(newest.cached) == 7
    assert killed.status == "interrupted"

    # 4. Lineage: model ← train ← transform ← examples ← input files.
    model = latest_artifact(store, "penguin", "Model")
    root = trace(store, "penguin", model)
    assert root.producer == "train"
    producers = {c.producer for c in root.inputs}
    assert {"transform", "tune"} <= producers
    transform = next(c for c in root.inputs if c.producer == "transform")
    examples = next(c for c in transform.inputs if c.producer == "examples")
    assert any(str(folder / "data") in d for d in examples.details)
    shown = tfxd("lineage", "penguin", "--model", "latest", "-f", str(penguin_copy), cwd=folder)
    assert shown.returncode == 0 and "input files" in shown.stdout

    # 4b. Run again, nothing changed: the version now serving is the one this model was pushed
    # as, so the Evaluator would compare the candidate with itself. Nothing executes, and the
    # plan and the run say why.
    predicted = planned(penguin_copy, "--param", "train_steps=150")
    assert {action for action, _ in predicted.values()} == {"cached"}, predicted
    assert "evaluate's candidate" in predicted["baseline"][1], predicted
    same = tfxd("run", str(penguin_copy), "--param", "train_steps=150", cwd=folder)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "0 ran, 10 cached" in same.stdout, same.stdout
    assert "its evaluation against itself is known" in same.stdout, same.stdout

    # 5. The pushed model and its four TFLite variants; the SavedModel predicts on raw CSV rows.
    [version] = [p for p in (runs / "serving" / "penguin").iterdir() if p.name.isdigit()]
    assert (version / "saved_model.pb").is_file()
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["saved_model"]["accuracy"] > 0.9
    for variant in manifest["variants"]:
        assert variant["pushed"], variant
        assert variant["drop"] <= 0.03 and variant["bytes"] > 0, variant
        assert (version / "tflite" / f"{variant['variant']}.tflite").is_file()
    assert {v["variant"] for v in manifest["variants"]} == {
        "float32",
        "dynamic_range",
        "float16",
        "int8",
    }
    import csv

    import tensorflow as tf

    rows = list(csv.DictReader((folder / "data" / "penguins.csv").open()))[:40]

    def example(row: dict) -> bytes:
        feature = {}
        for key, value in row.items():
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
        if row["year"]:
            feature["year"] = tf.train.Feature(
                int64_list=tf.train.Int64List(value=[int(row["year"])])
            )
        return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()

    loaded = tf.saved_model.load(str(version))
    batch = tf.constant([example(r) for r in rows])
    probs = loaded.signatures["serving_default"](examples=batch)["probabilities"].numpy()
    assert probs.shape == (40, 3)
    assert abs(probs.sum(axis=1) - 1).max() < 1e-4
    labels = loaded.signatures["transform_features"](examples=batch)["species_xf"].numpy()
    accuracy = float((probs.argmax(axis=1) == labels.reshape(-1)).mean())
    assert accuracy > 0.7, accuracy

    # 6. A partial run from the baseline: the Evaluator now compares with the serving model.
    partial = tfxd("run", str(penguin_copy), "--from", "baseline", cwd=folder)
    assert partial.returncode == 0, partial.stdout + partial.stderr
    assert f"{'evaluate':<12} done" in partial.stdout
    assert f"{'train':<12} skipped" in partial.stdout
    reports = sorted(
        (runs / "evaluate" / "report").glob("*/value"), key=lambda p: int(p.parent.name)
    )
    first, latest = reports[0].read_text(), reports[-1].read_text()
    assert "Baseline: none yet" in first
    assert f"Baseline: version {version.name} from {version}" in latest
    assert "| Overall | sparse_categorical_accuracy |" in latest and "| change |" in latest
    # The same trained model is not pushed a second time, and the run says why.
    assert f"not pushed: this model is already version {version.name}" in partial.stdout
    # BaselineModel's copy of the serving model shadows neither the latest nor the serving one.
    store = open_store(runs / "metadata.db")
    assert latest_artifact(store, "penguin", "Model").id == model.id
    serving = tfxd("lineage", "penguin", "--model", "serving", "-f", str(penguin_copy), cwd=folder)
    assert serving.returncode == 0, serving.stderr
    assert f"Model #{model.id} " in serving.stdout and "← train" in serving.stdout
    assert "input files" in serving.stdout and "baseline" not in serving.stdout

    # 6b. Nothing changed since: the plan says every node is cached, and the run is recorded in
    # ML Metadata from the plan alone (no TFX launcher), reusing the earlier executions' outputs.
    predicted = planned(penguin_copy, "--param", "train_steps=150")
    assert {action for action, _ in predicted.values()} == {"cached"}, predicted
    unchanged = tfxd("run", str(penguin_copy), "--param", "train_steps=150", cwd=folder)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "0 ran, 10 cached" in unchanged.stdout and "nothing ran" in unchanged.stdout
    store = open_store(runs / "metadata.db")
    newest = list_runs(store, "penguin")[0]
    assert newest.status == "succeeded" and len(newest.cached) == 10
    from tfxd.runners.plan import CACHED_FROM

    reused = store.get_executions_by_id([n.execution_id for n in newest.nodes])
    assert all(CACHED_FROM in e.custom_properties for e in reused)
    assert latest_artifact(store, "penguin", "Model").id == model.id

    # 7. The 2-rank model against a 1-rank one trained on the same transformed data.
    two_ranks, one_rank, transformed = train_one_rank(store, folder)
    accuracies = [eval_accuracy(m, transformed) for m in (two_ranks, one_rank)]
    assert accuracies[0] > 0.9
    assert abs(accuracies[0] - accuracies[1]) <= TOLERANCE, accuracies

    # 8. A new model (another train_steps) is a second version; roll back to the first: the
    # pointer moves, recorded in MLMD.
    predicted = planned(penguin_copy, "--param", "train_steps=160")
    assert predicted["train"] == ("run", "train_steps: 150 → 160"), predicted
    retrained = tfxd("run", str(penguin_copy), "--param", "train_steps=160", cwd=folder)
    assert retrained.returncode == 0, retrained.stdout + retrained.stderr
    assert statuses(retrained.stdout) == {n: a for n, (a, _) in predicted.items()}
    assert f"{'push':<12} done" in retrained.stdout and "not pushed" not in retrained.stdout
    versions = sorted(p.name for p in (runs / "serving" / "penguin").iterdir() if p.name.isdigit())
    assert len(versions) == 2
    rolled = tfxd("rollback", "penguin", "-f", str(penguin_copy), "--reason", "e2e", cwd=folder)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert f"serving version {versions[0]} (was {versions[1]})" in rolled.stdout
    assert f"versions: {versions[0]} }}" in (runs / "serving" / "models.config").read_text()
    listed = tfxd("models", "penguin", "-f", str(penguin_copy), cwd=folder)
    assert f"{versions[0]} *" in listed.stdout

    # 9. The runs: train_steps differs, so it is a column; the retrained run against the one
    # before it; accuracy over the runs, the rollback marked.
    table = tfxd("runs", "penguin", "-f", str(penguin_copy), cwd=folder)
    assert re.search(r"┃ train_steps\s*┃", table.stdout), table.stdout
    [newest_row] = [line for line in table.stdout.splitlines() if line.startswith("│ 1 ")]
    assert "160" in newest_row and versions[1] in newest_row  # its parameter and its push
    compared = tfxd("runs", "penguin", "-f", str(penguin_copy), "--compare", "2", "1", cwd=folder)
    assert compared.returncode == 0, compared.stderr
    assert "train_steps: 150 → 160" in compared.stdout
    assert "train: cached → ran" in compared.stdout and "examples" not in compared.stdout
    assert re.search(r"sparse_categorical_accuracy: [\d.]+ → [\d.]+ \([+-]", compared.stdout)
    plotted = tfxd(
        "runs",
        "penguin",
        "-f",
        str(penguin_copy),
        "--metric",
        "sparse_categorical_accuracy",
        "--png",
        str(folder / "acc.png"),
        "--html",
        str(folder / "acc.html"),
        cwd=folder,
    )
    assert plotted.returncode == 0, plotted.stderr
    assert (folder / "acc.png").read_bytes()[:4] == b"\x89PNG"
    page = (folder / "acc.html").read_text()
    assert f"{versions[1]} → {versions[0]}" in page and "data:image/png;base64," in page

    # 10. The retrained run, reproduced from scratch: the same data outputs, metrics within the
    # default tolerance, nothing pushed where the pipeline serves.
    done = tfxd("reproduce", "penguin", "1", "-f", str(penguin_copy), cwd=folder)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    for output in ("examples.examples", "stats.statistics", "schema.schema"):
        assert re.search(rf"same\s+{re.escape(output)} \(", done.stdout), output
    assert re.search(r"same\s+transform.transformed_examples", done.stdout), done.stdout
    assert re.search(r"ok\s+sparse_categorical_accuracy: ", done.stdout), done.stdout
    assert sorted(p.name for p in (runs / "serving" / "penguin").iterdir() if p.name.isdigit()) == (
        versions
    )


def planned(path: Path, *params: str) -> dict[str, tuple[str, str]]:
    """`tfxd plan`: node → (run | cached, why)."""
    shown = tfxd("plan", str(path), *params, cwd=path.parent)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    out: dict[str, tuple[str, str]] = {}
    node = ""
    for line in shown.stdout.splitlines()[:-1]:
        if line.startswith(" "):  # a reason wrapped onto the next line
            action, why = out[node]
            out[node] = (action, f"{why} {line.strip()}")
            continue
        node, action, *why = line.split(maxsplit=2)
        out[node] = (action, why[0] if why else "")
    return out


TOLERANCE = 0.05  # eval accuracy, 2 ranks vs 1 rank (about 120 eval examples)


def no_ranks_left(timeout: float = 15) -> bool:
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ranks = [
            p
            for p in psutil.process_iter(["cmdline"])
            if "tfxd.components.horovod_trainer.worker" in " ".join(p.info["cmdline"] or [])
        ]
        if not ranks:
            return True
        time.sleep(0.5)
    return False


def train_one_rank(store, folder: Path) -> tuple[Path, Path, str]:
    """One process trains on the last training's own inputs and settings: TFX's own Trainer
    executor in this process, as HorovodTrainer's single rank would (``horovod_context()`` is a
    one-process context outside a rank; no launcher, no fresh interpreter importing TensorFlow).
    Returns the 2-rank model, the 1-rank model and the transformed examples' URI."""
    from tfx.components.trainer.executor import GenericExecutor
    from tfx.types import artifact_utils, standard_artifacts

    execution = [
        e
        for e in store.get_executions()
        if e.type.endswith("HorovodTrainer") and e.last_known_state == e.COMPLETE
    ][-1]
    inputs: dict[str, list] = {}
    outputs: dict[str, str] = {}
    for event in store.get_events_by_execution_ids([execution.id]):
        [artifact] = store.get_artifacts_by_id([event.artifact_id])
        key = event.path.steps[0].key
        if event.type == event.OUTPUT:
            outputs[key] = artifact.uri
            continue
        [kind] = store.get_artifact_types_by_id([artifact.type_id])
        inputs.setdefault(key, []).append(artifact_utils.deserialize_artifact(kind, artifact))
    properties = {k: v.string_value or v.int_value for k, v in execution.custom_properties.items()}
    wanted = ("train_args", "eval_args", "module_path", "module_file", "run_fn", "custom_config")
    model = standard_artifacts.Model()
    model.uri = str(folder / "one-rank" / "train" / "model" / "1")
    run = standard_artifacts.ModelRun()
    run.uri = str(folder / "one-rank" / "train" / "model_run" / "1")
    GenericExecutor().Do(
        inputs,
        {"model": [model], "model_run": [run]},
        {k: properties[k] for k in wanted if properties.get(k)},
    )
    two_ranks = Path(outputs["model"]) / "Format-Serving"
    return two_ranks, Path(model.uri) / "Format-Serving", inputs["examples"][0].uri


def eval_accuracy(model_dir: Path, examples_uri: str) -> float:
    """The model's accuracy (its own call) on the whole transformed eval split."""
    from tfxd.components.tflite_pusher.convert import MODEL, Source, accuracy

    source = Source(str(model_dir), MODEL, None, "species_xf")
    files = [str(f) for f in Path(examples_uri, "Split-eval").glob("*.gz")]
    feed, labels = source.read(files, 10_000)
    return accuracy(source.predict(feed), labels)
