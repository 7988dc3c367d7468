"""TFX's own penguin pipeline (tfx/examples/penguin/penguin_pipeline_local.py with
penguin_utils_keras.py from the tfx wheel, unmodified; tuning off, BulkInferrer on) run by TFX's
LocalDagRunner with TFX's default multi-processing Beam args, with in-memory Beam, and with
in-memory Beam in a process given tfxd's AutoGraph rule for tf_keras (what tfxd gains from that
rule is not its orchestration), against the same pipeline written in tfxd YAML and run by
`tfxd run`. Fresh roots, median of --repeats, three runs each: the first; the second, in which
the Evaluator runs again because the first run pushed a model that is now the baseline (TFX's
resolver and tfxd's BaselineModel both see it); the third, in which nothing changed. One
throwaway import of TensorFlow and TFX first, so that no contender pays for a cold disk cache.
Prints wall times and ratios (tfxd / TFX; lower is better), asserts nothing.

    .venv/bin/python bench/tfx_own_penguin.py [--repeats 3] [--jobs N] [--skip NAME ...]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from local_vs_tfx import timed  # noqa: E402

# tfxd's spelling of create_pipeline(enable_tuning=False, enable_bulk_inferrer=True): the
# LatestBlessedModelStrategy resolver becomes BaselineModel (the model the Pusher serves), the
# Cond on the blessing is the Pusher's own blessing check.
PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: penguin-local-keras}
spec:
  root: root
  components:
    examples: {type: CsvExampleGen, with: {input_base: data/labelled}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema:
      type: SchemaGen
      inputs: {statistics: stats.statistics}
      with: {infer_feature_shape: true}
    transform:
      type: Transform
      inputs: {examples: examples.examples, schema: schema.schema}
      with: {module_file: penguin_utils_keras.py}
    train:
      type: Trainer
      inputs:
        examples: transform.transformed_examples
        transform_graph: transform.transform_graph
        schema: schema.schema
      with: {module_file: penguin_utils_keras.py, train_steps: 100, eval_steps: 5}
    baseline: {type: BaselineModel, with: {source: serving}}
    evaluate:
      type: Evaluator
      inputs: {examples: examples.examples, model: train.model, baseline_model: baseline.model}
      with:
        label_key: species_xf
        preprocessing: [transform_features]
        metrics:
          - class_name: SparseCategoricalAccuracy
            threshold: {lower: 0.6, change: {direction: higher_is_better, absolute: -1.0e-10}}
    push:
      type: Pusher
      inputs: {model: train.model, model_blessing: evaluate.blessing}
      with: {destination: serving}
    unlabelled: {type: CsvExampleGen, with: {input_base: data/unlabelled}}
    infer:
      type: BulkInferrer
      inputs: {examples: unlabelled.examples, model: train.model}
      with: {example_splits: [train, eval]}
"""

TFX_RUN = """\
import os, sys
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
from absl import flags
from tfx import v1 as tfx
from tfx.examples.penguin import penguin_pipeline_local as example

flags.FLAGS(["bench"])
work, mode = sys.argv[1], sys.argv[2]
if mode == "in_memory+rule":  # tfxd's AutoGraph rule for tf_keras (docs/decisions.md), TFX's runner
    import tfxd
beam = {"multi_processing": example._beam_pipeline_args_by_runner["DirectRunner"],
        "in_memory": [], "in_memory+rule": []}[mode]
tfx.orchestration.LocalDagRunner().run(example.create_pipeline(
    pipeline_name="penguin_local_keras", pipeline_root=os.path.join(work, "root"),
    data_root=os.path.join(work, "data"), module_file=os.path.join(work, "penguin_utils_keras.py"),
    accuracy_threshold=0.6, serving_model_dir=os.path.join(work, "serving"),
    metadata_path=os.path.join(work, "root", "metadata.db"), user_provided_schema_path=None,
    enable_tuning=False, enable_bulk_inferrer=True, examplegen_input_config=None,
    examplegen_range_config_date=None, resolver_range_config=None, beam_pipeline_args=beam,
    enable_transform_input_cache=True, enable_example_diff=False))
"""


def prepare(work: Path) -> None:
    """TFX's module file and the data the example reads: data/labelled/penguins_processed.csv and
    the same rows without the label in data/unlabelled/."""
    import tfx

    sys.path.insert(0, str(REPO))
    from tests.test_e2e_tflite import penguins_as_tfx_ships_them

    shutil.copy(
        Path(tfx.__file__).parent / "examples" / "penguin" / "penguin_utils_keras.py",
        work / "penguin_utils_keras.py",
    )
    labelled = work / "data" / "labelled" / "penguins_processed.csv"
    labelled.parent.mkdir(parents=True)
    penguins_as_tfx_ships_them(labelled)
    unlabelled = work / "data" / "unlabelled" / "penguins_unlabelled.csv"
    unlabelled.parent.mkdir(parents=True)
    with labelled.open() as source, unlabelled.open("w", newline="") as out:
        writer = csv.writer(out)
        for row in csv.reader(source):
            writer.writerow(row[1:])
    (work / "pipeline.yaml").write_text(PIPELINE)
    (work / "tfx_run.py").write_text(TFX_RUN)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, help="tfxd run --jobs (default: its own)")
    parser.add_argument("--skip", nargs="*", default=[], help="baselines not to run, e.g. multi")
    args = parser.parse_args()
    runs = {
        "tfxd": lambda w: (
            [sys.executable, "-m", "tfxd.cli", "run", str(w / "pipeline.yaml")]
            + (["--jobs", str(args.jobs)] if args.jobs else [])
        ),
        "TFX multi-processing": lambda w: [
            sys.executable,
            str(w / "tfx_run.py"),
            str(w),
            "multi_processing",
        ],
        "TFX in-memory": lambda w: [sys.executable, str(w / "tfx_run.py"), str(w), "in_memory"],
        "TFX in-memory + rule": lambda w: [
            sys.executable,
            str(w / "tfx_run.py"),
            str(w),
            "in_memory+rule",
        ],
    }
    runs = {k: v for k, v in runs.items() if not any(s in k for s in args.skip)}
    subprocess.run(
        [sys.executable, "-c", "import tensorflow, tfx.v1"], check=True, capture_output=True
    )
    labels = ("first run", "second run", "third run")
    times: dict[str, dict[str, list[float]]] = {label: {k: [] for k in runs} for label in labels}
    for i in range(args.repeats):
        for name, command in runs.items():
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                prepare(work)
                for label in labels:
                    times[label][name].append(timed(command(work), work))
            shown = ", ".join(f"{label} {times[label][name][-1]:.1f}s" for label in labels)
            print(f"repeat {i + 1} {name}: {shown}", flush=True)
    print(f"cpu cores: {os.cpu_count()}, repeats: {args.repeats}")
    for label, table in times.items():
        med = {k: statistics.median(v) for k, v in table.items()}
        for baseline in (b for b in med if b != "tfxd"):
            print(
                f"{label:<11} tfxd {med['tfxd']:6.1f}s  {baseline} {med[baseline]:6.1f}s  "
                f"ratio {med['tfxd'] / med[baseline]:.2f}"
            )


if __name__ == "__main__":
    main()
