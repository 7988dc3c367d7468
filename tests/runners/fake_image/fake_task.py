"""A container entrypoint for run-spec tests: reads the ExecutorInput like a KFP task does.

Writes each output artifact's URI/data.txt with its input parameters and upstream data, and an
ExecutorOutput with metadata {"n": <len of data>} and an output parameter "echo"."""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    mode, executor_input = argv[0], json.loads(argv[1])
    if mode == "fail":
        print("fake task failing on purpose", file=sys.stderr)
        return 3
    inputs = executor_input["inputs"]
    upstream = []
    for key, listed in sorted(inputs.get("artifacts", {}).items()):
        for artifact in listed["artifacts"]:
            with open(os.path.join(artifact["uri"], "data.txt"), encoding="utf-8") as handle:
                upstream.append(f"{key}<{handle.read()}>")
    params = ",".join(f"{k}={v}" for k, v in sorted(inputs.get("parameterValues", {}).items()))
    text = params + ";" + ";".join(upstream)
    out = {"artifacts": {}, "parameterValues": {"echo": params}}
    for key, listed in executor_input["outputs"]["artifacts"].items():
        artifact = listed["artifacts"][0]
        with open(os.path.join(artifact["uri"], "data.txt"), "w", encoding="utf-8") as handle:
            handle.write(text)
        out["artifacts"][key] = {
            "artifacts": [
                {"name": artifact["name"], "uri": artifact["uri"], "metadata": {"n": len(text)}}
            ]
        }
    with open(executor_input["outputs"]["outputFile"], "w", encoding="utf-8") as handle:
        json.dump(out, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
