"""Compile time and output size against pipeline size, for both targets. Prints, asserts nothing.

Generated pipelines of N nodes: one CsvExampleGen, then blocks of StatisticsGen → SchemaGen →
ExampleValidator reading it (a wide, shallow DAG, like many per-segment checks). For each N:
validation, Kubeflow compile (PipelineSpec YAML text, checks included) and its size, Airflow compile
(the DAG file) and Airflow's parse of it (``load_dag``: what the scheduler pays on every parse).
Goal: Kubeflow compile at 50 nodes ≤ 1 s, size linear in nodes (bytes per node flat).

    .venv/bin/python bench/compile_scale.py [--sizes 10 50 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent


def pipeline_yaml(nodes: int, data: Path) -> str:
    lines = [
        "apiVersion: tfxd/v1",
        "kind: Pipeline",
        f"metadata: {{name: wide-{nodes}}}",
        "spec:",
        "  root: runs",
        "  components:",
        f"    examples: {{type: CsvExampleGen, with: {{input_base: {data}}}}}",
    ]
    kinds = ["stats", "schema", "validate"]
    for i in range(nodes - 1):
        block, kind = divmod(i, 3)
        name = f"{kinds[kind]}_{block}"
        if kind == 0:
            lines.append(
                f"    {name}: {{type: StatisticsGen, inputs: {{examples: examples.examples}}}}"
            )
        elif kind == 1:
            lines.append(
                f"    {name}: {{type: SchemaGen, inputs: {{statistics: stats_{block}.statistics}}}}"
            )
        else:
            lines.append(
                f"    {name}: {{type: ExampleValidator, inputs: "
                f"{{statistics: stats_{block}.statistics, schema: schema_{block}.schema}}}}"
            )
    lines += [
        "  runners:",
        "    kubeflow: {image: ghcr.io/tfxd/bench:latest, pipeline_root: s3://bench/root}",
        "    airflow: {schedule: '@daily'}",
    ]
    return "\n".join(lines) + "\n"


def best(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from tfxd.examples import write_example_data
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.airflow import compile_airflow, load_dag
    from tfxd.runners.kubeflow import compile_text

    data = write_example_data("penguin", REPO / "pipelines")
    validate_file(REPO / "pipelines" / "penguin" / "pipeline.yaml")  # warm the imports
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("AIRFLOW_HOME", str(Path(tmp) / "airflow"))
        for n in args.sizes:
            folder = Path(tmp) / f"wide{n}"
            folder.mkdir()
            spec = folder / "pipeline.yaml"
            spec.write_text(pipeline_yaml(n, data))
            t_validate, pipe = best(lambda spec=spec: validate_file(spec), args.repeats)
            t_kfp, (text, _) = best(lambda pipe=pipe: compile_text(pipe), args.repeats)
            dag_file = folder / "dag.py"
            t_af, _ = best(lambda pipe=pipe, f=dag_file: compile_airflow(pipe, f), args.repeats)
            t_parse, dag = best(lambda spec=spec: load_dag(str(spec)), args.repeats)
            assert len(dag.tasks) == n
            size = len(text.encode())
            rows.append((n, t_validate, t_kfp, size, t_af, dag_file.stat().st_size, t_parse))
    print(f"median of {args.repeats}; seconds unless noted")
    header = (
        "nodes  validate  kfp-compile  kfp-bytes  bytes/node  airflow-compile  dag-bytes"
        "  airflow-parse"
    )
    print(header)
    for n, tv, tk, size, ta, dag_size, tp in rows:
        print(
            f"{n:5d}  {tv:8.3f}  {tk:11.3f}  {size:9d}  {size / n:10.0f}  {ta:15.3f}"
            f"  {dag_size:9d}  {tp:13.3f}"
        )
    base = rows[0]
    for n, _, tk, size, *_ in rows[1:]:
        print(
            f"{n} vs {base[0]} nodes: kfp compile x{tk / base[2]:.1f}, spec size "
            f"x{size / base[3]:.1f} (nodes x{n / base[0]:.1f})"
        )


if __name__ == "__main__":
    main()
