"""The continuous-training loop unattended, on data no one here wrote: TFX's own Chicago taxi
module (``taxi_utils_native_keras.py`` from the tfx wheel, unmodified) and the wheel's taxi sample
cut into six half-years (``tfxd example taxi --by half-year``), the spans arriving one at a time,
each followed by ``tfxd watch --once``, the gate and the ExampleGen at their defaults:

- span 1 (2013-H1) is the cold start: its schema becomes the accepted one, its model serves;
- span 2 holds a census tract where span 1 held none and new taxi companies, as the sample
  comes: the schema evolves by policy (a learned type, a grown domain); the serving model cannot
  read the learned type, so the Evaluator judges the candidate without it, says so, and it serves;
- span 3 carries one row with an unparsable number: that row is set aside, named, and counted;
  the rest trains and serves;
- span 4, shifted in a numeric (trip_miles ×2.5) and a categorical feature (every trip paid in
  cash), is rejected naming both, nothing trained from it;
- span 5 arrives under a deliberately bad parameter: its model is not blessed, serving stays;
  span 6 passes and serves; ``tfxd rollback`` moves serving back to span 3's model and
  ``tfxd lineage --model serving`` reaches that span's files;
- ``tfxd runs``, ``tfxd drift``, ``tfxd schema show`` and ``tfxd models`` hold all of it;
- ``tfxd serve`` answers as the SavedModel does, follows the rollback live and logs what it is
  sent to an S3 prefix (an S3 API server on 127.0.0.1); ``tfxd watch`` finds the shifted rows
  skewed and the clean ones not, and under ``on_serving_drift: retrain`` retrains.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import tfxd

pytestmark = [pytest.mark.slow, pytest.mark.heavy]
SHIFTED = {"trip_miles", "payment_type"}

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
    drift:                          # every setting at its default
      type: DriftValidator
      inputs: {examples: examples.examples, statistics: stats.statistics, schema: schema.schema}
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
  serving: {log: {path: "s3://taxiloop/served", span_rows: 400}}
"""


def rewrite(path: Path, change) -> None:
    """Each row of a span's CSV through ``change`` (row index, row → row)."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows = [change(i, row) for i, row in enumerate(rows)]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def shift(index: int, row: dict) -> dict:
    """Trips 2.5 times as long, every one paid in cash."""
    if row["trip_miles"]:
        row["trip_miles"] = str(float(row["trip_miles"]) * 2.5)
    return {**row, "payment_type": "Cash"}


def torn(index: int, row: dict) -> dict:
    """One row's distance as an export writes a value it could not format."""
    return {**row, "trip_miles": "N/A"} if index == 100 else row


def flat(text: str) -> str:
    return " ".join(text.split())


def versions(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "serving").iterdir() if p.name.isdigit())


def serving_version(folder: Path) -> str:
    config = (folder / "serving" / "models.config").read_text()
    return config.split("versions:", 1)[1].split("}", 1)[0].strip()


@pytest.fixture
def serving_log():
    """The serving log's bucket, on an S3 API server on 127.0.0.1."""
    import boto3

    from tests.servers.s3 import s3_server
    from tfxd.serving.log_store import S3Log

    with s3_server():
        boto3.client("s3").create_bucket(Bucket="taxiloop")
        yield S3Log("s3://taxiloop/served")


def test_the_loop_on_tfx_taxi_module_and_half_year_spans(tmp_path: Path, serving_log):
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

    # Span 2: the census tract that was empty in every row of span 1 holds integers now, and
    # new companies come: both evolve the accepted schema by policy. The model serving cannot
    # parse the tract as an integer: the Evaluator judges the candidate on its own.
    arrive(2)
    code, out = watch()
    assert code == 0, out
    text = flat(out)
    assert "baseline not comparable (judged without it): " in text, text
    assert f"{'push':<12} done" in out, out
    assert len(versions(folder)) == 2

    # Span 3: one row whose trip_miles reads N/A. It is set aside, the span trains without it.
    arrive(3)
    data = folder / "data" / "span-3" / "data.csv"
    rewrite(data, torn)
    line = next(n for n, text in enumerate(data.read_text().splitlines(), 1) if "N/A" in text)
    code, out = watch()
    assert code == 0, out
    text = flat(out)
    assert "1 bad row(s) set aside: " in text and "BadRows/rows.csv" in text, text
    assert f"{'push':<12} done" in out, out
    [set_aside] = (folder / "runs").rglob("BadRows/rows.csv")
    header, row = set_aside.read_text().splitlines()
    assert header == data.read_text().splitlines()[0] and ",N/A," in row
    assert (set_aside.parent / "why.txt").read_text() == (
        f"{data}:{line}: trip_miles: 'N/A' is not a number (FLOAT in the accepted schema)\n"
    )
    assert len(versions(folder)) == 3

    # Span 4 drifts: rejected on exactly the shifted features; nothing trained from it.
    arrive(4)
    rewrite(folder / "data" / "span-4" / "data.csv", shift)
    code, out = watch()
    assert code == 5, out
    text = flat(out)
    assert "node 'drift' failed" in text and "span 4 drifted from span(s) 3:" in text, text
    assert "breaks the accepted schema" not in text
    for name in SHIFTED:
        assert name in text
    assert f"{'train':<12} done" not in out and f"{'push':<12} done" not in out

    # Span 5 under a deliberately bad parameter in the file: one training step. The model is
    # trained, not blessed against the serving one, and serving stays where it was.
    served = versions(folder)
    arrive(5)
    (folder / "pipeline.yaml").write_text(PIPELINE.replace("train_steps: 40", "train_steps: 1"))
    code, out = watch()
    assert code == 0, out
    assert f"{'train':<12} done" in out and f"{'evaluate':<12} done" in out, out
    assert "not pushed: the model is not blessed" in flat(out), out
    assert versions(folder) == served and serving_version(folder) == served[-1]

    # Span 6, back to the file as it was: it passes and serves.
    (folder / "pipeline.yaml").write_text(PIPELINE)
    arrive(6)
    code, out = watch()
    assert code == 0, out
    good = versions(folder)
    assert len(good) == 4 and serving_version(folder) == good[-1]

    listed = tfxd("models", "taxiloop", "-f", spec, cwd=folder)
    assert listed.returncode == 0, listed.stderr
    assert f"{good[-1]} *" in listed.stdout, listed.stdout

    # Roll back: span 3's model serves again, traced to span 3's files.
    rolled = tfxd("rollback", "taxiloop", "-f", spec, "--reason", "canary failed", cwd=folder)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert f"serving version {good[-2]} (was {good[-1]})" in rolled.stdout
    assert serving_version(folder) == good[-2]
    lineage = tfxd("lineage", "taxiloop", "--model", "serving", "-f", spec, cwd=folder)
    assert lineage.returncode == 0, lineage.stderr
    shown = flat(lineage.stdout)
    assert "← train" in shown and "input files" in shown, shown
    assert "span-3" in shown and "span-6" not in shown, shown

    # The history: six spans; 2 evolved the schema, 4 drifted on exactly the shifted features
    # and did not become a baseline.
    from tfxd.file import load
    from tfxd.mlmd.drift import drift_history
    from tfxd.mlmd.store import open_store

    store = open_store(load(spec))
    records = {r.span: r for r in drift_history(store, "taxiloop")}
    assert sorted(records) == [1, 2, 3, 4, 5, 6]
    assert records[1].verdict.status == "no baseline"
    assert records[2].verdict.status == "pass" and records[2].verdict.schema_evolved
    assert records[4].gate == "failed"
    assert {s.feature for s in records[4].verdict.breaches} == SHIFTED
    assert records[5].verdict.baseline == [3] and records[6].verdict.baseline == [5]
    assert records[5].verdict.status == "pass"  # the data was fine: the training was not

    drift = tfxd(
        "drift", "taxiloop", "-f", spec, "--png", "drift.png", "--html", "drift.html", cwd=folder
    )
    assert drift.returncode == 0, drift.stderr
    assert "DRIFT" in drift.stdout and "no baseline" in drift.stdout, drift.stdout
    assert "span 2: schema evolved: " in flat(drift.stdout), drift.stdout
    assert (folder / "drift.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in (folder / "drift.html").read_text()
    schema = tfxd("schema", "show", "taxiloop", "-f", spec, cwd=folder)
    assert schema.returncode == 0, schema.stderr
    assert "evolved by policy" in schema.stdout, schema.stdout
    runs = tfxd("runs", "taxiloop", "-f", spec, cwd=folder)
    assert runs.returncode == 0 and "failed" in runs.stdout and "drift" in runs.stdout
    assert "bad rows" in runs.stdout and "1/" in runs.stdout, runs.stdout
    status = tfxd("watch", spec, "--status", cwd=folder)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "bad rows" in status.stdout, status.stdout

    serve_what_the_registry_says(folder, spec, good, serving_log)


def typed(row: dict) -> dict:
    """A CSV row as a client sends it as JSON: numbers as numbers, empty cells as null."""
    out: dict = {}
    for key, text in row.items():
        for kind in (int, float):
            try:
                out[key] = kind(text)
                break
            except ValueError:
                continue
        else:
            out[key] = text or None
    return out


def serve_what_the_registry_says(folder: Path, spec: str, good: list[str], store: Any) -> None:
    """``tfxd serve`` answers with the rolled-back version, as the model itself does in process
    (raw JSON rows and serialized tf.Examples alike), and follows the next rollback live."""
    import base64
    import itertools
    import json
    import subprocess
    import sys
    import time
    import urllib.request

    import tensorflow as tf

    from tests.servers.process import free_port
    from tfxd.serving.features import read_signature

    port = free_port()
    tfxd_bin = Path(sys.executable).parent / "tfxd"
    log = folder / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(tfxd_bin), "serve", spec, "--port", str(port), "--grpc-port", "0"],
            stdout=out, stderr=subprocess.STDOUT, cwd=folder,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def call(body: dict) -> dict:
        request = urllib.request.Request(
            f"{url}/v1/models/taxiloop:predict", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                urllib.request.urlopen(f"{url}/v2/health/ready", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with (folder / "data" / "span-6" / "data.csv").open(newline="") as handle:
            rows = [typed(row) for row in itertools.islice(csv.DictReader(handle), 20)]
        served = folder / "serving" / good[-2]
        fn = tf.saved_model.load(str(served)).signatures["serving_default"]
        signature = read_signature(fn)
        examples = []
        for row in rows:
            example = tf.train.Example()
            for key, value in row.items():
                feature = signature.features.get(key)
                if value is None or feature is None:
                    continue
                slot = example.features.feature[key]
                if feature.kind == "float":
                    slot.float_list.value.append(float(value))
                elif feature.kind == "int":
                    slot.int64_list.value.append(int(value))
                else:
                    slot.bytes_list.value.append(str(value).encode())
            examples.append(example.SerializeToString())
        [output] = signature.outputs
        expected = fn(examples=tf.constant(examples))[output].numpy().tolist()

        answer = call({"instances": rows})
        assert answer["model_version"] == good[-2]
        assert answer["predictions"] == expected
        b64 = [{"b64": base64.b64encode(e).decode()} for e in examples]
        assert call({"instances": b64})["predictions"] == expected

        listed = tfxd("models", "taxiloop", "-f", spec, cwd=folder)
        assert f"tfxd serve on 127.0.0.1:{port} (pid {server.pid}) answers version " in flat(
            listed.stdout
        ), listed.stdout

        rolled = tfxd("rollback", "taxiloop", "-f", spec, "--to", good[-1], cwd=folder)
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        deadline = time.monotonic() + 10
        while call({"instances": rows[:1]})["model_version"] != good[-1]:
            assert time.monotonic() < deadline, "the rollback did not reach the server"
            time.sleep(0.1)

        # What production sends, logged in spans of 400 rows, one version each: first span 6's
        # own rows (1 sent already), then the same rows shifted as span 4 was.
        with (folder / "data" / "span-6" / "data.csv").open(newline="") as handle:
            raw = list(csv.DictReader(handle))[::5][:399]
        clean = [typed(row) for row in raw]
        shifted = [typed(shift(0, row)) for row in (raw + raw[:1])]
        for batch in (clean, shifted):
            for start in range(0, len(batch), 50):
                assert call({"instances": batch[start : start + 50]})["model_version"] == good[-1]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert store.spans() == [1, 2, 3]  # published to the bucket whole

    # The next check judges them: span 6's rows match its training, the shifted ones do not.
    watched = tfxd("watch", spec, "--once", cwd=folder)
    text = flat(watched.stdout + watched.stderr)
    assert watched.returncode == 6, text
    assert f"served 2 (version {good[-1]}, trained on span 6): no skew" in text, text
    skewed = text.split(f"served 3 (version {good[-1]}, trained on span 6): skew: ", 1)[1]
    skewed = skewed.split(" served ", 1)[0].split(" taxiloop: ", 1)[0]
    for name in SHIFTED:
        assert name in skewed, skewed
    assert "serving skew in served" in text and "(exit 6)" in text, text
    drift = tfxd("drift", "taxiloop", "-f", spec, "--serving", cwd=folder)
    assert drift.returncode == 0, drift.stdout + drift.stderr  # nothing new to judge
    assert "no new serving-log span" in drift.stdout and "served 3" in drift.stdout, drift.stdout

    # Under on_serving_drift: retrain, the next skewed span (the server's files of span 3, as a
    # fourth) starts a fresh run of the newest data span instead of only warning.
    for name in ("data.tfrecord", "span.json"):  # the marker last, as the server writes
        store.client.copy_object(
            Bucket="taxiloop",
            Key=f"served/span-4/{name}",
            CopySource={"Bucket": "taxiloop", "Key": f"served/span-3/{name}"},
        )
    (folder / "pipeline.yaml").write_text(
        PIPELINE.replace("span_rows: 400}", "span_rows: 400}, on_serving_drift: retrain")
    )
    retrained = tfxd("watch", spec, "--once", cwd=folder)
    text = flat(retrained.stdout + retrained.stderr)
    assert retrained.returncode == 0, text
    assert "serving skew: retraining on span 6" in text and "retrained on 6" in text, text
    assert f"{'train':<12} done" in retrained.stdout, retrained.stdout
