"""`tfxd run --jobs 1` against `--jobs 2` on TFX's own penguin pipeline in tfxd YAML (see
tfx_own_penguin.py), whose two branches run side by side: the labelled and unlabelled ExampleGens,
and after training the Evaluator → Pusher branch next to the BulkInferrer. Fresh roots, median of
--repeats first runs; prints wall times and the ratio, asserts nothing.

    .venv/bin/python bench/jobs.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_vs_tfx import timed
from tfx_own_penguin import prepare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    walls: dict[int, list[float]] = {1: [], 2: []}
    for i in range(args.repeats):
        for jobs, times in walls.items():
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                prepare(work)
                command = [sys.executable, "-m", "tfxd.cli", "run", str(work / "pipeline.yaml")]
                times.append(timed([*command, "--jobs", str(jobs)], work))
            print(f"repeat {i + 1} --jobs {jobs}: {times[-1]:.1f}s")
    one, two = (statistics.median(walls[j]) for j in (1, 2))
    print(f"cpu cores: {os.cpu_count()}, repeats: {args.repeats}")
    print(f"first run  --jobs 1 {one:.1f}s  --jobs 2 {two:.1f}s  ratio {two / one:.2f}")


if __name__ == "__main__":
    main()
