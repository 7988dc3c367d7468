"""The continuous-training loop on data no one here wrote: TFX's own Chicago taxi module
(``taxi_utils_native_keras.py`` from the tfx wheel, unmodified) and the wheel's taxi sample cut
into half-years (``tfxd example taxi --by half-year``), the spans arriving one at a time, each
followed by ``tfxd watch --once``:

- span 1 (2013-H1) is the cold start: its schema becomes the accepted one, its model serves;
- span 2 holds one census tract where span 1 held none, as the sample comes: the gate rejects it
  naming the column and both types; ``tfxd schema accept`` makes its schema the accepted one;
- span 3 passes and is pushed;
- span 4, shifted in two features, drifts: rejected on exactly those, nothing trained from it;
- span 5 passes and is pushed; a run under a deliberately bad parameter trains a model that is
  not blessed, so serving stays; an unchanged re-run is a no-op; ``tfxd rollback`` moves serving
  back and ``tfxd lineage --model serving`` reaches that span's files;
- the drift history, its plots, ``tfxd schema show`` and ``tfxd runs`` hold all of it.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.conftest import tfxd

pytestmark = pytest.mark.slow
SHIFTED = {"fare", "payment_type"}

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: taxiloop}
spec:
  root: runs
  parameters: {train_steps: 40}
  watch: {retries: 1}
  components:
    examples:
      type: CsvExampleGen
      with: {input_base: data, input_splits: {single_split: "span-{SPAN}/*"}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema:                         # as TFX's own taxi pipeline: columns stay optional
      type: SchemaGen
      inputs: {statistics: stats.statistics}
      with: {infer_feature_shape: false}
    drift:
      type: DriftValidator
      inputs: {examples: examples.examples, statistics: stats.statistics, schema: schema.schema}
      with:
        default: {categorical: 0.15, numeric: 0.2}
        features: {fare: {jensen_shannon: 0.2}}
        skip: [trip_start_timestamp, trip_start_day, trip_start_month]   # time itself moves
        new_values: 0.05            # new taxi companies every half-year: up to 3% of a span
        evolve: {types: false, domains: false}   # this loop accepts schema changes by hand
    transform:
      type: Transform
      inputs: {examples: examples.examples, schema: schema.schema}
      after: [drift]
      with: {module_file: taxi_utils_native_keras.py}
    train:
      type: Trainer
      inputs:
        examples: transform.transformed_examples
        transform_graph: transform.transform_graph
        schema: schema.schema
      with:
        module_file: taxi_utils_native_keras.py
        train_steps: "${{ parameters.train_steps }}"
        eval_steps: 5
    baseline: {type: BaselineModel, with: {source: serving}}
    evaluate:
      type: Evaluator
      inputs: {examples: examples.examples, model: train.model, baseline_model: baseline.model}
      with:
        label_key: tips_xf
        preprocessing: [transform_features]
        metrics:
          - class_name: BinaryAccuracy
            threshold: {lower: 0.6, change: {direction: higher_is_better, absolute: -0.05}}
    push:
      type: Pusher
      inputs: {model: train.model, model_blessing: evaluate.blessing}
      with: {destination: serving}
"""


def shift(path: Path) -> None:
    """Fares tripled and every trip paid in cash."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["fare"]:
            row["fare"] = str(float(row["fare"]) * 3)
        row["payment_type"] = "Cash"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def flat(text: str) -> str:
    return " ".join(text.split())


def versions(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "serving").iterdir() if p.name.isdigit())


def serving_version(folder: Path) -> str:
    config = (folder / "serving" / "models.config").read_text()
    return config.split("versions:", 1)[1].split("}", 1)[0].strip()


def test_the_loop_on_tfx_taxi_module_and_half_year_spans(tmp_path: Path):
    import tfx

    folder = tmp_path / "taxi"  # where `tfxd example taxi --pipelines tmp_path` writes data/
    folder.mkdir()
    module = Path(tfx.__file__).parent / "examples/chicago_taxi_pipeline/taxi_utils_native_keras.py"
    shutil.copy(module, folder / module.name)
    (folder / "pipeline.yaml").write_text(PIPELINE)
    spec = str(folder / "pipeline.yaml")

    def arrive(span: int) -> None:
        wrote = tfxd(
            "example", "taxi", "--by", "half-year", "--spans", str(span),
            "--pipelines", str(tmp_path), cwd=folder,
        )  # fmt: skip
        assert wrote.returncode == 0, wrote.stderr

    def watch() -> tuple[int, str]:
        done = tfxd("watch", spec, "--once", cwd=folder)
        return done.returncode, done.stdout + done.stderr

    # Span 1, the cold start: trained, blessed (no baseline yet), pushed, serving.
    arrive(1)
    code, out = watch()
    assert code == 0, out
    assert f"{'push':<12} done" in out and "processed 1" in out, out
    [first] = versions(folder)
    assert serving_version(folder) == first

    # Span 2: the census tract that was empty in every row of span 1 holds an integer now.
    arrive(2)
    code, out = watch()
    assert code == 5, out  # rejected by the gate: not retried
    text = flat(out)
    assert (
        "span 2 breaks the accepted schema: pickup_census_tract: STRING in the accepted schema "
        "(span 1), INT in span 2 (it held no values in span 1: the type there was a guess). "
        "Fix: fix the data, or make span 2's schema the accepted one on purpose: "
        "tfxd schema accept taxiloop --span 2, then run the span again" in text
    ), text
    assert f"{'transform':<12} done" not in out and "rejected by a gate 2" in text, out
    accepted = tfxd(
        "schema", "accept", "taxiloop", "-f", spec, "--span", "2", "--reason", "tracts now",
        cwd=folder,
    )  # fmt: skip
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "the accepted schema is now span 2, by tfxd schema accept (was span 1)" in flat(
        accepted.stdout
    )
    code, out = watch()
    assert code == 3 and "no new span" in out, out  # rejected data stays rejected

    # Span 3 fits the accepted schema (the tract is empty again: no values, no break).
    arrive(3)
    code, out = watch()
    assert code == 0, out
    assert f"{'push':<12} done" in out, out
    assert len(versions(folder)) == 2

    # Span 4 drifts: rejected on exactly the shifted features; nothing trained from it.
    arrive(4)
    shift(folder / "data" / "span-4" / "data.csv")
    code, out = watch()
    assert code == 5, out
    text = flat(out)
    assert "node 'drift' failed" in text and "span 4 drifted from span(s) 3:" in text, text
    assert "breaks the accepted schema" not in text
    for name in SHIFTED:
        assert name in text
    assert f"{'train':<12} done" not in out and f"{'push':<12} done" not in out

    # Span 5 passes and serves.
    arrive(5)
    code, out = watch()
    assert code == 0, out
    good = versions(folder)
    assert len(good) == 3 and serving_version(folder) == good[-1]

    # A deliberately bad parameter: one training step. The model is trained, not blessed
    # against the serving one, and serving stays where it was.
    bad = tfxd("run", spec, "--span", "5", "--param", "train_steps=1", cwd=folder)
    assert bad.returncode == 0, bad.stdout + bad.stderr
    assert f"{'train':<12} done" in bad.stdout and f"{'evaluate':<12} done" in bad.stdout
    assert "not pushed: the model is not blessed" in flat(bad.stdout), bad.stdout
    assert versions(folder) == good and serving_version(folder) == good[-1]

    # Back to the default parameter: the span-5 model from the cache, now compared with itself
    # (it serves since span 5), so the Evaluator runs once more; it is not pushed again.
    back = tfxd("run", spec, cwd=folder)
    assert back.returncode == 0, back.stdout + back.stderr
    assert f"{'train':<12} cached" in back.stdout and f"{'examples':<12} cached" in back.stdout
    assert f"not pushed: this model is already version {good[-1]}" in flat(back.stdout)
    # One more run, nothing changed: every node from the cache, nothing pushed.
    again = tfxd("run", spec, cwd=folder)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing ran: every node came from the cache" in again.stdout, again.stdout
    assert versions(folder) == good

    listed = tfxd("models", "taxiloop", "-f", spec, cwd=folder)
    assert listed.returncode == 0, listed.stderr
    assert f"{good[-1]} *" in listed.stdout, listed.stdout

    # Roll back: span 3's model serves again, traced to span 3's files.
    rolled = tfxd("rollback", "taxiloop", "-f", spec, "--reason", "canary failed", cwd=folder)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert f"serving version {good[1]} (was {good[2]})" in rolled.stdout
    assert serving_version(folder) == good[1]
    lineage = tfxd("lineage", "taxiloop", "--model", "serving", "-f", spec, cwd=folder)
    assert lineage.returncode == 0, lineage.stderr
    shown = flat(lineage.stdout)
    assert "← train" in shown and "input files" in shown, shown
    assert "span-3" in shown and "span-5" not in shown, shown

    # The history: five spans; 2 broke the schema, 4 drifted on exactly the shifted features,
    # and neither became a baseline.
    from tfxd.file import load
    from tfxd.mlmd.drift import drift_history
    from tfxd.mlmd.store import open_store

    store = open_store(load(spec))
    records = {r.span: r for r in drift_history(store, "taxiloop")}
    assert sorted(records) == [1, 2, 3, 4, 5]
    assert records[1].verdict.status == "no baseline"
    assert records[2].verdict.status == "schema" and records[2].gate == "failed"
    assert records[3].verdict.baseline == [1]
    assert records[4].gate == "failed"
    assert {s.feature for s in records[4].verdict.breaches} == SHIFTED
    assert records[5].verdict.status == "pass" and records[5].verdict.baseline == [3]

    drift = tfxd(
        "drift", "taxiloop", "-f", spec, "--png", "drift.png", "--html", "drift.html", cwd=folder
    )
    assert drift.returncode == 0, drift.stderr
    assert "DRIFT" in drift.stdout and "SCHEMA" in drift.stdout, drift.stdout
    assert "no baseline" in drift.stdout, drift.stdout
    assert "accepted span 2's schema for drift: tracts now" in flat(drift.stdout)
    assert (folder / "drift.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in (folder / "drift.html").read_text()
    schema = tfxd("schema", "show", "taxiloop", "-f", spec, cwd=folder)
    assert schema.returncode == 0, schema.stderr
    assert "drift: accepted schema from span 2, by tfxd schema accept" in schema.stdout
    runs = tfxd("runs", "taxiloop", "-f", spec, cwd=folder)
    assert runs.returncode == 0 and "failed" in runs.stdout and "drift" in runs.stdout
