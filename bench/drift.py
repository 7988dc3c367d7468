"""DriftValidator against TFX's ExampleValidator on the same statistics, and ``tfxd drift`` on a
long history. Prints, asserts nothing.

1. Both executors on the statistics of two taxi spans (the DriftValidator also scores against the
   previous span), median of --repeats; ratio = DriftValidator / ExampleValidator.
2. ``tfxd drift``'s work (read MLMD, build the table, draw the PNG) over 100 spans x 20 features of
   synthetic verdicts written to a fresh SQLite MLMD.

    .venv/bin/python bench/drift.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_stats(folder: Path, csv_bytes: bytes):
    import io

    import pandas as pd
    import tensorflow_data_validation as tfdv

    data = tfdv.generate_statistics_from_dataframe(pd.read_csv(io.BytesIO(csv_bytes)))
    for split in ("train", "eval"):
        (folder / f"Split-{split}").mkdir(parents=True, exist_ok=True)
        (folder / f"Split-{split}" / "FeatureStats.pb").write_bytes(data.SerializeToString())
    return data


def validators(tmp: Path, repeats: int) -> None:
    import tensorflow_data_validation as tfdv
    from tfx.components.example_validator.executor import Executor as TfxValidator
    from tfx.dsl.components.base import base_executor
    from tfx.types import standard_artifacts
    from tfx.utils import io_utils

    from tfxd.components.drift_validator.executor import Executor as DriftExecutor
    from tfxd.components.reports.artifacts import MarkdownReport
    from tfxd.examples import taxi_spans
    from tfxd.infra.drift import History

    spans = taxi_spans([1, 2])
    write_stats(tmp / "s1", spans[1])
    current = write_stats(tmp / "s2", spans[2])
    History(str(tmp / "history")).add(
        1, tfdv.load_stats_binary(str(tmp / "s1" / "Split-train" / "FeatureStats.pb"))
    )
    stats = standard_artifacts.ExampleStatistics()
    stats.uri, stats.split_names = str(tmp / "s2"), '["train", "eval"]'
    (tmp / "schema").mkdir()
    io_utils.write_pbtxt_file(str(tmp / "schema" / "schema.pbtxt"), tfdv.infer_schema(current))
    schema = standard_artifacts.Schema()
    schema.uri = str(tmp / "schema")
    examples = standard_artifacts.Examples()
    examples.set_int_custom_property("span", 2)

    def tfx_run() -> None:
        anomalies = standard_artifacts.ExampleAnomalies()
        anomalies.uri = str(tmp / "anomalies")
        os.makedirs(anomalies.uri, exist_ok=True)
        TfxValidator().Do(
            {"statistics": [stats], "schema": [schema]},
            {"anomalies": [anomalies]},
            {"exclude_splits": "[]"},
        )

    config = {
        "baseline": "previous_span",
        "last_spans": 1,
        "on_drift": "warn",
        "categorical": 0.1,
        "numeric": 0.15,
        "features": {},
        "skip": [],
    }

    def drift_run() -> None:
        report = MarkdownReport()
        report.uri = str(tmp / "report" / "value")
        executor = DriftExecutor(
            base_executor.BaseExecutor.Context(executor_output_uri=str(tmp / "out.pb"))
        )
        executor.Do(
            {"examples": [examples], "statistics": [stats], "schema": [schema]},
            {"report": [report]},
            {"config": json.dumps(config), "history": str(tmp / "history"), "split": "train"},
        )

    tfx_run(), drift_run()  # warm up
    t_tfx, t_drift = median_time(tfx_run, repeats), median_time(drift_run, repeats)
    print(f"ExampleValidator (TFX)  {t_tfx:7.3f} s  (two splits, schema only)")
    print(f"DriftValidator (tfxd)   {t_drift:7.3f} s  (one split, schema + drift vs span 1)")
    print(f"ratio DriftValidator / ExampleValidator: {t_drift / t_tfx:.2f}")


def history(tmp: Path, spans: int, features: int) -> None:
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd
    from rich.console import Console

    from tfxd.infra.drift import Score, Verdict
    from tfxd.mlmd.drift import EXECUTION_TYPE, drift_history, plot_png, table

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp / "metadata.db")
    store = metadata_store.MetadataStore(config)
    exec_type = store.put_execution_type(mlmd.ExecutionType(name=EXECUTION_TYPE))
    ctx_types = {n: store.put_context_type(mlmd.ContextType(name=n)) for n in ("pipeline", "node")}
    [pipeline_ctx, node_ctx] = store.put_contexts(
        [
            mlmd.Context(type_id=ctx_types["pipeline"], name="bench"),
            mlmd.Context(type_id=ctx_types["node"], name="bench.drift"),
        ]
    )
    contexts = store.get_contexts_by_id([pipeline_ctx, node_ctx])
    rng = random.Random(1)
    for span in range(1, spans + 1):
        scores = [
            Score(f"feature_{i:02d}", "jensen_shannon", rng.random() * 0.2, 0.15)
            for i in range(features)
        ]
        verdict = Verdict(
            span=span,
            baseline=[span - 1] if span > 1 else [],
            policy="warn",
            scores=scores if span > 1 else [],
        )
        execution = mlmd.Execution(type_id=exec_type, last_known_state=mlmd.Execution.COMPLETE)
        execution.custom_properties["tfxd_drift"].string_value = verdict.to_json()
        store.put_execution(execution, [], contexts)
    console = Console(file=open(os.devnull, "w"), width=250)

    def show() -> None:
        records = drift_history(store, "bench")
        console.print(table(records, "bench", width=console.width))
        plot_png(records, "bench")

    start = time.perf_counter()
    records = drift_history(store, "bench")
    read = time.perf_counter() - start
    total = median_time(show, 3)
    print(
        f"tfxd drift over {len(records)} spans x {features} features: read MLMD {read:.3f} s, "
        f"read + table + PNG {total:.3f} s (median of 3)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "validators").mkdir()
        (Path(tmp) / "history").mkdir()
        validators(Path(tmp) / "validators", args.repeats)
        history(Path(tmp) / "history", 100, 20)


if __name__ == "__main__":
    main()
