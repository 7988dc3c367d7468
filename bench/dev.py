"""Edit → result: `tfxd dev` against a fresh `tfxd run` after the same edit.

TFX's own penguin pipeline in tfxd YAML (as in bench/tfx_own_penguin.py), run once; then,
``--edits`` times each, a line appended to the module file (Transform, Trainer, Evaluator,
BulkInferrer and Pusher run again) followed by a fresh `tfxd run`, and the same edits under one
`tfxd dev` process, timed from the edit to the end of its pass. Prints medians and their ratio;
asserts nothing.

    .venv/bin/python bench/dev.py [--edits 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from tfx_own_penguin import prepare


def edit(work: Path, tag: str) -> None:
    with (work / "penguin_utils_keras.py").open("a") as module:
        module.write(f"# {tag}\n")


def wait_for(log: Path, text: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        if time.monotonic() > deadline:
            raise SystemExit(f"no {text!r} in {log}:\n{log.read_text()}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=3)
    args = parser.parse_args()
    tfxd = [sys.executable, "-m", "tfxd.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work)
        subprocess.run([*tfxd, "run", "pipeline.yaml"], cwd=work, check=True, capture_output=True)
        fresh = []
        for i in range(args.edits):
            edit(work, f"run {i}")
            start = time.perf_counter()
            run = [*tfxd, "run", "pipeline.yaml"]
            subprocess.run(run, cwd=work, check=True, capture_output=True)
            fresh.append(time.perf_counter() - start)
            print(f"fresh run after edit {i + 1}: {fresh[-1]:.1f}s", flush=True)
        log = work / "dev.log"
        with log.open("w") as out:
            dev = [*tfxd, "dev", "pipeline.yaml"]
            proc = subprocess.Popen(dev, cwd=work, stdout=out, stderr=out)
        try:
            wait_for(log, "pass 1 ended")
            passes = []
            for i in range(args.edits):
                time.sleep(2)
                edit(work, f"dev {i}")
                start = time.perf_counter()
                wait_for(log, f"pass {i + 2} ended")
                passes.append(time.perf_counter() - start)
                print(f"tfxd dev pass after edit {i + 1}: {passes[-1]:.1f}s", flush=True)
        finally:
            proc.terminate()
            proc.wait()
    a, b = statistics.median(passes), statistics.median(fresh)
    print(f"cpu cores: {os.cpu_count()}, edits: {args.edits}")
    print(f"edit → result: tfxd dev {a:.1f}s  fresh tfxd run {b:.1f}s  ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
