"""The taxi pipeline at production sizes: `tfxd run` against TFX's LocalDagRunner on the same
pipeline and data, under Beam in memory and in multi-processing (one worker per core).

The data is the taxi sample of the tfx wheel grown to N rows (``tfxd example taxi --rows N``, by
half-year), read as one input. The pipeline: CsvExampleGen, StatisticsGen, SchemaGen, a data gate
(tfxd's DriftValidator; TFX's ExampleValidator, its nearest equivalent), Transform and Trainer with
TFX's own ``taxi_utils_native_keras.py`` (unmodified, a fixed step count), Evaluator and
BulkInferrer. Each run is a fresh process; per node it prints wall seconds (from ML Metadata's
execution times), bytes written and rows/s, and per run the peak RSS of the process. Beside them,
the physical limits of the same machine on the same file: pyarrow reading the CSV, the same rows
written as tf.Examples to TFRecord (ingestion), and tf.data reading those TFRecords back (training
input). Prints, asserts nothing.

    .venv/bin/python bench/scale.py [--rows 100000 1000000] [--beam in_memory] [--without-tfx]
    .venv/bin/python bench/scale.py --crossover --rows 100000 1000000   # spec.beam's threshold
    .venv/bin/python bench/scale.py --kill-in transform --rows 1000000    # killed, resumed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
LIMITS_UP_TO = 2_000_000  # the floors' Python loop writes ~15,000 rows/s: not at 10M
NODES = ["examples", "stats", "schema", "gate", "transform", "train", "evaluate", "infer"]

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {{name: taxiscale}}
spec:
  root: runs
  beam_args: {beam}
  components:
    examples:
      type: CsvExampleGen
      with: {{input_base: data, input_splits: {{single_split: "span-*/*"}}}}
    stats: {{type: StatisticsGen, inputs: {{examples: examples.examples}}}}
    schema:
      type: SchemaGen
      inputs: {{statistics: stats.statistics}}
      with: {{infer_feature_shape: false}}
    gate:
      type: DriftValidator
      inputs: {{examples: examples.examples, statistics: stats.statistics, schema: schema.schema}}
    transform:
      type: Transform
      inputs: {{examples: examples.examples, schema: schema.schema}}
      after: [gate]
      with: {{module_file: taxi_utils_native_keras.py}}
    train:
      type: Trainer
      inputs:
        examples: transform.transformed_examples
        transform_graph: transform.transform_graph
        schema: schema.schema
      with: {{module_file: taxi_utils_native_keras.py, train_steps: {steps}, eval_steps: 20}}
    evaluate:
      type: Evaluator
      inputs: {{examples: examples.examples, model: train.model}}
      with:
        label_key: tips_xf
        preprocessing: [transform_features]
        metrics: [{{class_name: BinaryAccuracy}}]
    infer:
      type: BulkInferrer
      inputs: {{examples: examples.examples, model: train.model}}
"""

BEAM = {
    "in_memory": ["--direct_running_mode=in_memory"],
    "multi_processing": [
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={len(os.sched_getaffinity(0))}",
    ],
}


def module_file() -> Path:
    import tfx

    return Path(tfx.__file__).parent / "examples/chicago_taxi_pipeline/taxi_utils_native_keras.py"


def tfx_pipeline(work: Path, beam: list[str], steps: int):  # the LocalDagRunner baseline
    import tensorflow_model_analysis as tfma
    from tfx import v1 as tfx

    module = str(work / "taxi_utils_native_keras.py")
    examples = tfx.components.CsvExampleGen(
        input_base=str(work / "data"),
        input_config=tfx.proto.Input(
            splits=[tfx.proto.Input.Split(name="single_split", pattern="span-*/*")]
        ),
    ).with_id("examples")
    stats = tfx.components.StatisticsGen(examples=examples.outputs["examples"]).with_id("stats")
    schema = tfx.components.SchemaGen(
        statistics=stats.outputs["statistics"], infer_feature_shape=False
    ).with_id("schema")
    gate = tfx.components.ExampleValidator(
        statistics=stats.outputs["statistics"], schema=schema.outputs["schema"]
    ).with_id("gate")
    transform = tfx.components.Transform(
        examples=examples.outputs["examples"], schema=schema.outputs["schema"], module_file=module
    ).with_id("transform")
    transform.add_upstream_node(gate)
    train = tfx.components.Trainer(
        module_file=module,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=steps),
        eval_args=tfx.proto.EvalArgs(num_steps=20),
    ).with_id("train")
    config = tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key="tips_xf",
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name="BinaryAccuracy")])],
    )
    evaluate = tfx.components.Evaluator(
        examples=examples.outputs["examples"], model=train.outputs["model"], eval_config=config
    ).with_id("evaluate")
    infer = tfx.components.BulkInferrer(
        examples=examples.outputs["examples"], model=train.outputs["model"]
    ).with_id("infer")
    return tfx.dsl.Pipeline(
        pipeline_name="taxiscale",
        pipeline_root=str(work / "runs"),
        components=[examples, stats, schema, gate, transform, train, evaluate, infer],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(work / "runs" / "metadata.db")
        ),
        beam_pipeline_args=beam,
        enable_cache=False,
    )


def node_facts(work: Path, samples: list[tuple[float, int]]) -> dict[str, dict[str, float]]:
    """Per node of the run in ``work``: wall seconds (MLMD times), bytes of its outputs, and the
    peak RSS of the run's process tree among ``samples`` (epoch seconds, bytes) taken while it
    ran (``--jobs 1``: one node at a time). A node whose run was stopped in it (``done`` 0) has
    the seconds from its start to the last sample."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    if not (work / "runs" / "metadata.db").exists():
        return {}
    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(work / "runs" / "metadata.db")
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READONLY
    store = metadata_store.MetadataStore(config)
    last = max((t for t, _ in samples), default=0.0)
    out: dict[str, dict[str, float]] = {}
    for execution in store.get_executions():
        contexts = store.get_contexts_by_execution(execution.id)
        names = [c.name.split(".", 1)[-1] for c in contexts if c.type == "node"]
        node = names[0] if names else ""
        done = execution.last_known_state == mlmd.Execution.COMPLETE
        stopped = execution.last_known_state in (mlmd.Execution.NEW, mlmd.Execution.RUNNING)
        if node not in NODES or not (done or stopped):
            continue
        events = store.get_events_by_execution_ids([execution.id])
        outputs = [e.artifact_id for e in events if e.type == mlmd.Event.OUTPUT]
        size = 0
        for artifact in store.get_artifacts_by_id(outputs):
            path = Path(artifact.uri)
            files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
            size += sum(f.stat().st_size for f in files if f.is_file())
        start = execution.create_time_since_epoch / 1e3
        end = execution.last_update_time_since_epoch / 1e3 if done else last
        peak = max((rss for t, rss in samples if start <= t <= end), default=0)
        out[node] = {"seconds": end - start, "bytes": size, "peak": peak, "done": float(done)}
    return out


def run(work: Path, who: str, beam: str, steps: int) -> tuple[float, list[tuple[float, int]], str]:
    """One run in a fresh process: wall seconds, the RSS of its process tree, sampled (epoch
    seconds, bytes), and why it failed ('' if it did not)."""
    if who == "tfxd":
        (work / "pipeline.yaml").write_text(
            PIPELINE.format(beam=json.dumps(BEAM[beam]), steps=steps), encoding="utf-8"
        )
        command = [sys.executable, "-m", "tfxd.cli", "run", "pipeline.yaml", "--jobs", "1"]
    else:
        command = [sys.executable, __file__, "--tfx-run", str(work), beam, str(steps)]
    return sampled(command, work)


MEMORY_SHARE = 0.9  # of the machine's memory a run may hold (no swap: past it the OOM killer)


def memory_cap() -> int:
    """Bytes a run's process tree may hold before it is stopped (`MEMORY_SHARE`)."""
    import psutil

    return int(psutil.virtual_memory().total * MEMORY_SHARE)


def sampled(command: list[str], work: Path) -> tuple[float, list[tuple[float, int]], str]:
    """``command`` run in ``work``: wall seconds, the RSS of its process tree sampled every 0.2 s
    (epoch seconds, bytes), and why it failed ('' if not): the log's tail, or the memory cap it
    was stopped at (`memory_cap`)."""
    import signal

    import psutil

    cap = memory_cap()
    log = (work / "run.log").open("w")
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    samples: list[tuple[float, int]] = []
    capped = ""
    while proc.poll() is None:
        try:
            tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            samples.append((time.time(), sum(p.memory_info().rss for p in tree if p.is_running())))
        except psutil.Error:
            pass
        if samples and samples[-1][1] > cap and not capped:
            capped = f"stopped: its process tree held {samples[-1][1] / 2**30:.2f} GiB"
            capped += f" (the cap, {MEMORY_SHARE:.0%} of the machine's memory)"
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    log.close()
    failed = capped or ((work / "run.log").read_text()[-5000:] if proc.returncode else "")
    return seconds, samples, failed


def limits(data: Path, rows: int) -> dict[str, float]:
    """Rows/s of the machine's own floor on this file: pyarrow CSV read, tf.Example TFRecord
    write of those rows, tf.data read of the TFRecords, and the same records written gzipped
    (the output format of every ExampleGen; one thread). Serialized deterministically (map
    entries by key), as ExampleGens write them: in hash order they compress half as fast."""
    import pyarrow as pa
    import tensorflow as tf
    from pyarrow import csv as pacsv

    files = sorted(data.glob("span-*/data.csv"))
    started = time.perf_counter()
    tables = [pacsv.read_csv(f) for f in files]
    read = time.perf_counter() - started
    record = data.parent / "limits.tfrecord"
    started = time.perf_counter()
    with tf.io.TFRecordWriter(str(record)) as writer:
        batches = [b for table in tables for b in table.to_batches(max_chunksize=10_000)]
        for batch in batches:  # each span its own types: an empty column reads as null
            columns = {n: batch.column(n).to_pylist() for n in batch.schema.names}
            kinds = {n: batch.schema.field(n).type for n in batch.schema.names}
            for i in range(batch.num_rows):
                feature = {}
                for name, values in columns.items():
                    value = values[i]
                    if value is None:
                        continue
                    if pa.types.is_integer(kinds[name]):
                        feature[name] = tf.train.Feature(
                            int64_list=tf.train.Int64List(value=[value])
                        )
                    elif pa.types.is_floating(kinds[name]):
                        feature[name] = tf.train.Feature(
                            float_list=tf.train.FloatList(value=[value])
                        )
                    else:
                        data_ = str(value).encode()
                        feature[name] = tf.train.Feature(
                            bytes_list=tf.train.BytesList(value=[data_])
                        )
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString(deterministic=True))
    wrote = time.perf_counter() - started
    started = time.perf_counter()
    count = 0
    for batch in tf.data.TFRecordDataset(str(record)).batch(1024).prefetch(2):
        count += int(batch.shape[0])
    scanned = time.perf_counter() - started
    zipped = 0.0  # the same records into gzipped TFRecord, as every ExampleGen writes them
    with tf.io.TFRecordWriter(str(record) + ".gz", "GZIP") as writer:
        for batch in tf.data.TFRecordDataset(str(record)).batch(10_000):
            serialized = batch.numpy().tolist()
            started = time.perf_counter()
            for one in serialized:
                writer.write(one)
            zipped += time.perf_counter() - started
    record.unlink()
    Path(str(record) + ".gz").unlink()
    return {
        "pyarrow CSV read": rows / read,
        "pyarrow → tf.Example loop → TFRecord": rows / wrote,
        "tf.data TFRecord read": count / scanned,
        "gzipped TFRecord write alone": count / zipped,
    }


def crossover(sizes: list[int]) -> None:
    """The data nodes (CsvExampleGen, which reads in its own process, and StatisticsGen, which
    may run in worker processes), under both modes: per node seconds and peak RSS."""
    from tfxd.examples import write_grown_taxi

    head = PIPELINE.split("    schema:", 1)[0].replace("  beam_args: {beam}\n", "  beam: {beam}\n")
    print(f"{len(os.sched_getaffinity(0))} cores: examples + stats, wall s of the tfxd run")
    for rows in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            write_grown_taxi(data, rows, by="half-year")
            megabytes = sum(f.stat().st_size for f in data.rglob("*.csv")) / 1e6
            seconds = {}
            for mode in BEAM:
                work = Path(tmp) / mode
                work.mkdir()
                (work / "data").symlink_to(data)
                (work / "pipeline.yaml").write_text(
                    head.format(beam="{mode: " + mode + "}"), encoding="utf-8"
                )
                command = [sys.executable, "-m", "tfxd.cli", "run", "pipeline.yaml", "--jobs", "1"]
                seconds[mode], samples, failed = sampled(command, work)
                if failed:
                    sys.exit(f"{mode} failed:\n{failed}")
                for node, fact in node_facts(work, samples).items():
                    print(
                        f"  {rows:>11,} rows {mode:<16} {node:<8} {fact['seconds']:7.1f} s "
                        f"{rows / max(fact['seconds'], 1e-3):>10,.0f} rows/s "
                        f"peak {fact['peak'] / 2**30:5.2f} GiB"
                    )
                shutil.rmtree(work / "runs")
            ratio = seconds["multi_processing"] / seconds["in_memory"]
            print(
                f"  {rows:>11,} rows {megabytes:>8,.0f} MB: in_memory {seconds['in_memory']:7.1f}"
                f"  multi_processing {seconds['multi_processing']:7.1f}  ratio {ratio:.2f}"
            )


def kill_and_resume(sizes: list[int], node: str, after: float) -> None:
    """``tfxd run`` (spec.beam at auto, up to the Transform) SIGKILLed ``after`` seconds into
    ``node``, then run again: what the re-run did, the partial outputs the kill left and what of
    them the re-run left behind."""
    import signal

    from tfxd.examples import write_grown_taxi
    from tfxd.mlmd.store import open_store
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.launch import partial_outputs
    from tfxd.runners.plan import RUNNING

    text = PIPELINE.split("    train:", 1)[0].replace("  beam_args: {beam}\n", "").format()
    for rows in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "kill"
            write_grown_taxi(work / "data", rows, by="half-year")
            shutil.copy(module_file(), work / "taxi_utils_native_keras.py")
            (work / "pipeline.yaml").write_text(text, encoding="utf-8")
            command = [sys.executable, "-m", "tfxd.cli", "run", "pipeline.yaml", "--jobs", "1"]
            started = time.perf_counter()
            proc = subprocess.Popen(
                command, cwd=work, stdout=subprocess.DEVNULL, start_new_session=True
            )
            while not list((work / "runs").glob(f".logs/*/{node}.log")):
                if proc.poll() is not None:
                    sys.exit(f"the run ended before {node} started")
                time.sleep(0.2)
            time.sleep(after)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            killed_at = time.perf_counter() - started
            pipe = validate_file(work / "pipeline.yaml")
            store = open_store(pipe.loaded)
            running = [e for e in store.get_executions() if e.last_known_state == RUNNING]
            left = partial_outputs(store, str(work / "runs"), running)
            size = sum(f.stat().st_size for d in left for f in d.rglob("*") if f.is_file())
            started = time.perf_counter()
            again = subprocess.run(command, cwd=work, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if again.returncode != 0:
                sys.exit(f"the re-run failed:\n{again.stdout[-3000:]}")
            print(f"== {rows:,} rows: killed {killed_at:.0f} s into the run, {after:g} s in {node}")
            print(f"  partial outputs left by the kill: {len(left)} folders, {size / 1e6:.1f} MB")
            print(f"  re-run {seconds:.1f} s:")
            for line in again.stdout.splitlines():
                if "cached" in line or "done" in line or "repaired" in line:
                    print(f"    {line.strip()}")
            print(f"  partial folders after the re-run: {sum(d.exists() for d in left)}")


def _ratio(mine: float, theirs: float, done: bool = True) -> str:
    """tfxd's seconds over TFX's; '-' without a TFX run, '<' where TFX was stopped before the end
    (its seconds a lower bound, marked '+')."""
    if theirs <= 0:
        return "    -"
    return f"{mine / theirs:5.2f}" if done else f"<{mine / theirs:4.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(  # multi_processing: TFX's Transform fails there (docs/benchmarks.md)
        "--beam", nargs="+", choices=list(BEAM), default=["in_memory"]
    )
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument(
        "--crossover",
        action="store_true",
        help="only CsvExampleGen + StatisticsGen under tfxd run, in memory vs worker processes",
    )
    parser.add_argument(
        "--kill-in",
        metavar="NODE",
        help="a tfxd run killed in NODE (e.g. transform) and run again, instead of the comparison",
    )
    parser.add_argument("--kill-after", type=float, default=20.0, help="seconds into NODE")
    parser.add_argument(
        "--without-tfx", action="store_true", help="tfxd's runs only (TFX's columns print 0)"
    )
    parser.add_argument("--tfx-run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.crossover:
        return crossover(args.rows)
    if args.kill_in:
        return kill_and_resume(args.rows, args.kill_in, args.kill_after)
    if args.tfx_run:
        from tfx import v1 as tfx

        work, beam, steps = Path(args.tfx_run[0]), args.tfx_run[1], int(args.tfx_run[2])
        tfx.orchestration.LocalDagRunner().run(tfx_pipeline(work, BEAM[beam], steps))
        return
    from tfxd.examples import write_grown_taxi

    print(f"{len(os.sched_getaffinity(0))} cores; {args.steps} training steps; rows/s of the input")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            write_grown_taxi(data, rows, by="half-year")
            megabytes = sum(f.stat().st_size for f in data.rglob("*.csv")) / 1e6
            print(f"\n== {rows:,} rows ({megabytes:,.0f} MB of CSV)")
            for name, rate in limits(data, rows).items() if rows <= LIMITS_UP_TO else []:
                print(f"  limit  {name:<28} {rate:>12,.0f} rows/s")
            for beam in args.beam:
                facts, failed_runs = {}, set()
                for who in ("tfxd",) if args.without_tfx else ("tfxd", "tfx"):
                    work = Path(tmp) / f"{who}-{beam}"
                    work.mkdir()
                    (work / "data").symlink_to(data)
                    shutil.copy(module_file(), work / "taxi_utils_native_keras.py")
                    seconds, samples, failed = run(work, who, beam, args.steps)
                    peak = max((rss for _, rss in samples), default=0)
                    facts[who] = (seconds, peak, node_facts(work, samples))
                    if failed:
                        failed_runs.add(who)
                        stopped = [n for n, f in facts[who][2].items() if not f["done"]]
                        where = f"in {stopped[0]}" if stopped else "outside any node"
                        print(f"  {who} {beam} failed {where} after {seconds:.1f} s:")
                        print("    " + failed.strip().replace("\n", "\n    ")[-2000:])
                    shutil.rmtree(work / "runs", ignore_errors=True)
                print(
                    f"  beam {beam}: node, tfxd s | TFX s | ratio, tfxd rows/s, MB written, "
                    "peak RSS GiB tfxd | TFX"
                )
                nothing = (0.0, 0, {})  # --without-tfx
                for node in NODES:
                    mine = facts["tfxd"][2].get(node)
                    theirs = facts.get("tfx", nothing)[2].get(node)
                    theirs = theirs or {"seconds": 0.0, "peak": 0, "done": 1.0}
                    if not mine:
                        continue
                    mark = " " if theirs["done"] else "+"
                    print(
                        f"    {node:<10} {mine['seconds']:8.1f} | {theirs['seconds']:8.1f}{mark}| "
                        f"{_ratio(mine['seconds'], theirs['seconds'], bool(theirs['done']))}  "
                        f"{rows / max(mine['seconds'], 1e-3):>10,.0f}  {mine['bytes'] / 1e6:8.1f}  "
                        f"{mine['peak'] / 2**30:5.2f} | {theirs['peak'] / 2**30:5.2f}"
                    )
                (ts, tp, _), (fs, fp, _) = facts["tfxd"], facts.get("tfx", nothing)
                whole = "tfx" not in failed_runs  # else TFX's seconds are not a whole run's
                print(
                    f"    {'run':<10} {ts:8.1f} | {fs:8.1f}{' ' if whole else '+'}| "
                    f"{_ratio(ts, fs) if whole else '    -'}  "
                    f"peak RSS tfxd {tp / 2**30:.2f} GiB, TFX {fp / 2**30:.2f} GiB"
                )


if __name__ == "__main__":
    main()
