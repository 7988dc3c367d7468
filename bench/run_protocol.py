"""Input listings and hashes per `tfxd run`: what the run protocol saves.

Two small pipelines, an ExampleGen and a StatisticsGen: CsvExampleGen over the taxi example's
spans in a folder, and S3ExampleGen over the same spans in an S3 API server (moto, on 127.0.0.1).
Each is run three times with `tfxd run --jobs 1` in a fresh process: first (everything executes),
again unchanged (the cached shortcut), and after one input file changed (the ExampleGen executes
again). Counted in the run's process by Python's audit hooks and botocore: input files opened to
be hashed, folder scans under the data folder, and S3 ListObjectsV2 / GetObject / HeadObject
requests. ``--tree`` measures another checkout of tfxd (e.g. a ``git worktree`` of an older
commit) with the same environment, for the before/after table. Asserts nothing.

    .venv/bin/python bench/run_protocol.py [--tree /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Runs in the measured process: hooks installed, then `tfxd run`.
PROBE = r"""
import json, os, sys
data, out = sys.argv[1], sys.argv[2]
counts = {"hashed": 0, "scans": 0, "ListObjectsV2": 0, "GetObject": 0, "HeadObject": 0}
HASHERS = {"file_digest", "content_hashes"}

def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(data):
        frame = sys._getframe(1)
        for _ in range(4):
            if frame is None:
                break
            if frame.f_code.co_name in HASHERS:
                counts["hashed"] += 1
                break
            frame = frame.f_back
    elif event in ("os.scandir", "os.listdir") and str(args[0]).startswith(data):
        counts["scans"] += 1

sys.addaudithook(hook)
import botocore.client
real = botocore.client.BaseClient._make_api_call
def counted(self, operation, params):
    if operation in counts:
        counts[operation] += 1
    return real(self, operation, params)
botocore.client.BaseClient._make_api_call = counted
from tfxd.cli import main
code = main(["run", sys.argv[3], "--jobs", "1"])
with open(out, "w") as f:
    json.dump({"code": code, **counts}, f)
"""

CSV = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: protocol-csv}
spec:
  root: runs
  components:
    examples:
      type: CsvExampleGen
      with: {input_base: data, input_splits: {single_split: "span-{SPAN}/*.csv"}}
    stats:
      type: StatisticsGen
      inputs: {examples: examples.examples}
"""

S3 = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: protocol-s3}
spec:
  root: runs
  components:
    examples:
      type: S3ExampleGen
      with: {input_base: "s3://protocol/trips", format: csv,
             input_splits: {single_split: "span-{SPAN}/*.csv"}}
    stats:
      type: StatisticsGen
      inputs: {examples: examples.examples}
"""


def run(tree: Path, work: Path, data: str, env: dict[str, str]) -> dict[str, int]:
    out = work / "counts.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, data, str(out), str(work / "pipeline.yaml")],
        cwd=work,
        env={**env, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"run failed in {work}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def spans(folder: Path) -> list[Path]:
    from tfxd.examples import write_example_data

    written = write_example_data("taxi", folder)
    return sorted(p for p in Path(written).rglob("*.csv"))


def measure(tree: Path) -> dict[str, list[dict[str, int]]]:
    import logging

    from tests.servers.s3 import s3_server
    from tfxd.infra import s3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request lines

    results: dict[str, list[dict[str, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        source = base / "source"
        files = spans(source)
        root = files[0].parent.parent
        # CSV: the spans in a folder beside the pipeline file
        csv = base / "csv"
        shutil.copytree(root, csv / "data")
        (csv / "pipeline.yaml").write_text(CSV)
        data = str(csv / "data")
        env = dict(os.environ)
        results["csv"] = [run(tree, csv, data, env), run(tree, csv, data, env)]
        newest = sorted((csv / "data").rglob("*.csv"))[-1]
        newest.write_text(newest.read_text() + newest.read_text().splitlines()[-1] + "\n")
        results["csv"].append(run(tree, csv, data, env))
        # S3: the same spans under a prefix of an S3 API server
        with s3_server() as s3_env:
            s3.client().create_bucket(Bucket="protocol")
            for path in sorted(root.rglob("*.csv")):
                key = f"trips/{path.relative_to(root).as_posix()}"
                s3.client().put_object(Bucket="protocol", Key=key, Body=path.read_bytes())
            remote = base / "s3"
            remote.mkdir()
            (remote / "pipeline.yaml").write_text(S3)
            env = {**os.environ, **s3_env}
            results["s3"] = [run(tree, remote, "s3://", env), run(tree, remote, "s3://", env)]
            last = sorted(root.rglob("*.csv"))[-1]
            key = f"trips/{last.relative_to(root).as_posix()}"
            s3.client().put_object(Bucket="protocol", Key=key, Body=last.read_bytes() + b"\n")
            results["s3"].append(run(tree, remote, "s3://", env))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=str(REPO), help="the tfxd checkout to measure")
    args = parser.parse_args()
    results = measure(Path(args.tree).resolve())
    names = ("first run", "unchanged", "one file changed")
    keys = ("hashed", "scans", "ListObjectsV2", "GetObject", "HeadObject")
    print(f"tree: {args.tree}")
    print(f"{'pipeline':<10}{'run':<18}" + "".join(f"{k:>15}" for k in keys))
    for pipeline, runs in results.items():
        for name, counts in zip(names, runs, strict=True):
            cells = "".join(f"{counts[k]:>15}" for k in keys)
            print(f"{pipeline:<10}{name:<18}{cells}   exit {counts['code']}")


if __name__ == "__main__":
    main()
