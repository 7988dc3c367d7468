"""TFX's own penguin module (penguin_utils_keras.py from the tfx wheel, unmodified) trained and
pushed with TFLitePusher, twice: its serving signature over serialized tf.Examples converts; then
the model history, a rollback through the CLI, and an unchanged re-run that is a no-op."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import tfxd

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: edge}
spec:
  root: runs
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema: {type: SchemaGen, inputs: {statistics: stats.statistics}}
    transform:
      type: Transform
      inputs: {examples: examples.examples, schema: schema.schema}
      with: {module_file: penguin_utils_keras.py}
    train:
      type: Trainer
      inputs: {examples: transform.transformed_examples, transform_graph: transform.transform_graph}
      with: {module_file: penguin_utils_keras.py, train_steps: 150, eval_steps: 5}
    baseline: {type: BaselineModel, with: {source: serving}}
    push:
      type: TFLitePusher
      inputs: {model: train.model, examples: examples.examples}
      with: {destination: serving, label: species, variants: [float32, int8], max_drop: 0.05}
      after: [baseline]
"""


def penguins_as_tfx_ships_them(path: Path) -> None:
    """TFX's penguin example reads penguins_processed.csv: rows with a gap dropped, species as
    0/1/2, each measurement scaled to [0, 1]. Made here from the palmerpenguins data."""
    from importlib import resources

    source = resources.files("palmerpenguins") / "data" / "penguins.csv"
    keys = ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g"]
    columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    with source.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if all(r[c] not in ("", "NA") for c in columns)]
    species = sorted({r["species"] for r in rows})
    low = {c: min(float(r[c]) for r in rows) for c in columns}
    high = {c: max(float(r[c]) for r in rows) for c in columns}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["species", *keys])
        for r in rows:
            scaled = [(float(r[c]) - low[c]) / (high[c] - low[c]) for c in columns]
            writer.writerow([species.index(r["species"]), *(f"{v:.6f}" for v in scaled)])


def test_tflite_push_history_and_rollback(tmp_path: Path):
    import tfx

    folder = tmp_path / "edge"
    (folder / "data").mkdir(parents=True)
    penguins_as_tfx_ships_them(folder / "data" / "penguins_processed.csv")
    module = Path(tfx.__file__).parent / "examples" / "penguin" / "penguin_utils_keras.py"
    shutil.copy(module, folder / "penguin_utils_keras.py")
    (folder / "pipeline.yaml").write_text(PIPELINE)
    spec = str(folder / "pipeline.yaml")

    first = tfxd("run", spec, cwd=folder)
    assert first.returncode == 0, first.stdout + first.stderr
    second = tfxd("run", spec, "--from", "train", "--no-cache", cwd=folder)
    assert second.returncode == 0, second.stdout + second.stderr

    model_dir = folder / "serving" / "edge"
    versions = sorted(int(p.name) for p in model_dir.iterdir() if p.name.isdigit())
    assert len(versions) == 2 and versions[0] < versions[1]
    manifest = json.loads((model_dir / str(versions[1]) / "manifest.json").read_text())
    by_variant = {v["variant"]: v for v in manifest["variants"]}
    assert manifest["signature"] == "serving_default"
    assert manifest["saved_model"]["accuracy"] > 0.9
    assert by_variant["float32"]["pushed"] and by_variant["float32"]["tf_ops"] == ["ParseExampleV2"]
    assert by_variant["float32"]["metric"] >= manifest["saved_model"]["accuracy"] - 0.05
    assert (model_dir / str(versions[1]) / "tflite" / "float32.tflite").is_file()
    # Full int8 of a signature over serialized examples: recorded, with the way out.
    assert not by_variant["int8"]["pushed"]
    assert "convert signature 'model'" in by_variant["int8"]["reason"]
    assert (
        f"specific {{ versions: {versions[1]} }}"
        in (folder / "serving" / "models.config").read_text()
    )

    listed = tfxd("models", "edge", "-f", spec, cwd=folder)
    assert listed.returncode == 0 and f"{versions[1]} *" in listed.stdout
    rolled = tfxd("rollback", "edge", "-f", spec, "--reason", "canary failed", cwd=folder)
    assert rolled.returncode == 0, rolled.stderr
    assert f"serving version {versions[0]} (was {versions[1]})" in rolled.stdout
    assert f"versions: {versions[0]} }}" in (folder / "serving" / "models.config").read_text()
    missing = tfxd("rollback", "edge", "-f", spec, "--to", "1", cwd=folder)
    assert missing.returncode == 1 and "no complete version 1" in missing.stderr

    # Serving moved since BaselineModel last ran (it saw no version yet): it runs again, and
    # nothing downstream of the model changes, so nothing is pushed.
    moved = tfxd("run", spec, cwd=folder)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert f"{'baseline':<12} done" in moved.stdout, moved.stdout
    for node in ("examples", "transform", "train", "push"):
        assert f"{node:<12} cached" in moved.stdout, moved.stdout
    # Unchanged re-run: BaselineModel is cached while serving is unchanged, so every node
    # comes from the cache and nothing is pushed.
    again = tfxd("run", spec, cwd=folder)
    assert again.returncode == 0, again.stdout + again.stderr
    for node in ("examples", "transform", "train", "baseline", "push"):
        assert f"{node:<12} cached" in again.stdout, again.stdout
    assert "nothing ran: every node came from the cache" in again.stdout
    assert sorted(int(p.name) for p in model_dir.iterdir() if p.name.isdigit()) == versions
    assert f"versions: {versions[0]} }}" in (folder / "serving" / "models.config").read_text()
