"""tfxd run vs TFX's LocalDagRunner on the penguin pipeline: median wall time of fresh runs and of a
fully cached re-run, and their ratios (tfxd / TFX; lower is better). Prints, asserts nothing.

    .venv/bin/python bench/local_vs_tfx.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PENGUIN = REPO / "pipelines" / "penguin"


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def tfxd_run(work: Path) -> list[str]:
    return [sys.executable, "-m", "tfxd.cli", "run", str(work / "penguin" / "pipeline.yaml")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not (PENGUIN / "data" / "penguins.csv").exists():
        sys.exit("write the data first: tfxd example penguin")
    results: dict[str, list[float]] = {"tfxd": [], "tfx": [], "tfxd cached": [], "tfx cached": []}
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            shutil.copytree(PENGUIN, work / "penguin", ignore=shutil.ignore_patterns("runs"))
            results["tfxd"].append(timed(tfxd_run(work), REPO))
            results["tfxd cached"].append(timed(tfxd_run(work), REPO))
            tfx_cmd = [sys.executable, str(REPO / "bench" / "tfx_penguin.py"), str(work / "tfx")]
            results["tfx"].append(timed(tfx_cmd, REPO))
            results["tfx cached"].append(timed(tfx_cmd, REPO))
        print(f"repeat {i + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in results.items()))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"cpu cores: {os.cpu_count()}, repeats: {args.repeats}")
    print(
        f"fresh run   median: tfxd {med['tfxd']:.1f}s, TFX LocalDagRunner {med['tfx']:.1f}s, "
        f"ratio {med['tfxd'] / med['tfx']:.2f}"
    )
    print(
        f"cached run  median: tfxd {med['tfxd cached']:.1f}s, TFX {med['tfx cached']:.1f}s, "
        f"ratio {med['tfxd cached'] / med['tfx cached']:.2f}"
    )


if __name__ == "__main__":
    main()
