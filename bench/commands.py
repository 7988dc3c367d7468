"""The everyday commands on the penguin example, each a fresh process: ``validate``, ``plan``,
``runs``, ``models`` and a fully cached ``run``, after one full run in a scratch copy. Prints the
median wall time of each; asserts nothing.

    .venv/bin/python bench/commands.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from local_vs_tfx import PENGUIN, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not (PENGUIN / "data" / "penguins.csv").exists():
        sys.exit("write the data first: tfxd example penguin")
    work = Path(tempfile.mkdtemp(prefix="tfxd-commands-"))
    shutil.copytree(PENGUIN, work / "penguin", ignore=shutil.ignore_patterns("runs"))
    folder = work / "penguin"
    tfxd = [sys.executable, "-m", "tfxd.cli"]
    print(f"first run: {timed([*tfxd, 'run', 'pipeline.yaml'], folder):.1f} s")
    timed([*tfxd, "run", "pipeline.yaml"], folder)  # the new version becomes the baseline
    commands = {
        "validate": ["validate", "pipeline.yaml"],
        "plan": ["plan", "pipeline.yaml"],
        "runs": ["runs", "penguin", "-f", "pipeline.yaml"],
        "models": ["models", "penguin", "-f", "pipeline.yaml"],
        "run (fully cached)": ["run", "pipeline.yaml"],
    }
    for name, command in commands.items():
        seconds = [timed([*tfxd, *command], folder) for _ in range(args.repeats)]
        print(f"{name:<20} median {statistics.median(seconds):5.2f} s  (of {args.repeats})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
