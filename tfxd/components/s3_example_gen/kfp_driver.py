"""S3ExampleGen's driver on Kubeflow Pipelines v2 (the task's ``preCacheCheck``).

Runs TFX's own KFP file-based ExampleGen driver with ``s3://`` registered for TFX's fileio, then
replaces the fingerprint it computed from modification times with the ETag fingerprint, in the
output parameters and on the Examples artifact, so KFP's cache key follows content.
"""

from __future__ import annotations

import json
import sys

from tfxd.components.s3_example_gen import service  # noqa: F401  (registers s3:// with fileio)
from tfxd.errors import TfxdError
from tfxd.infra import s3

FINGERPRINT = "input_fingerprint"


def main(argv: list[str]) -> int:
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    from tfx.dsl.io import fileio
    from tfx.orchestration.kubeflow.v2.file_based_example_gen import driver

    args = driver._parse_flags(argv)
    executor_input = pipeline_spec_pb2.ExecutorInput()
    json_format.Parse(
        args.json_serialized_invocation_args, executor_input, ignore_unknown_fields=True
    )
    base = executor_input.inputs.parameter_values["input_base"].string_value
    s3.require_objects(base)
    try:
        driver.main(args)
    except ValueError as err:
        raise TfxdError(f"{base}: {err}") from err
    path = executor_input.outputs.output_file
    with fileio.open(path) as handle:
        output = json.loads(handle.read())
    parameters = output["parameterValues"]
    splits = json.loads(parameters["input_config"]).get("splits", [])
    fingerprint = s3.splits_fingerprint(base, [(s["name"], s["pattern"]) for s in splits])
    parameters[FINGERPRINT] = fingerprint
    for artifact in output.get("artifacts", {}).get("examples", {}).get("artifacts", []):
        artifact.setdefault("metadata", {})[FINGERPRINT] = fingerprint
    with fileio.open(path, "w") as handle:
        handle.write(json.dumps(output, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
