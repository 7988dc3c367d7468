"""The shapes of requests and answers: TF Serving's V1 rows, the Open Inference Protocol's
tensors, and the tf.Examples between them."""

from __future__ import annotations

import json
from typing import Any

from tfxd.serving.features import BadRequest, Signature, check_examples, examples_of

V2_TYPES = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32"}


def rows_of(outputs: dict[str, Any], signature: Signature) -> list[Any]:
    """TF Serving's row format: one value per row for a single output, else an object per row."""
    names = signature.outputs or sorted(outputs)
    count = len(next(iter(outputs.values()))) if outputs else 0
    plain = {k: v.tolist() for k, v in outputs.items()}
    if len(names) == 1:
        return [text(plain[names[0]][i]) for i in range(count)]
    return [{k: text(plain[k][i]) for k in names} for i in range(count)]


def text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [text(v) for v in value]
    return value


def v2_examples(request: Any, signature: Signature, max_rows: int) -> list[bytes]:
    """A V2 request → serialized tf.Examples: one BYTES input named as the signature's input, or
    one input per raw feature (rows along the first dimension)."""
    inputs = list(request.inputs)
    if len(inputs) == 1 and inputs[0].name == signature.input_key:
        if inputs[0].datatype != "BYTES":
            raise BadRequest(
                f"input {signature.input_key!r} is {inputs[0].datatype}: send BYTES holding "
                "serialized tf.Examples"
            )
        values = [v if isinstance(v, bytes) else str(v).encode() for v in _flat(inputs[0])]
        if len(values) > max_rows:
            raise BadRequest(f"{len(values)} rows in one request; at most {max_rows}: split it")
        check_examples(values, signature)
        return values
    columns: dict[str, list[Any]] = {}
    for tensor in inputs:
        array = tensor.as_numpy()
        if array.ndim == 0:
            raise BadRequest(f"input {tensor.name!r}: shape {tensor.shape}: rows go first")
        columns[tensor.name] = [text(row) for row in array.tolist()]
    counts = {len(v) for v in columns.values()}
    if len(counts) != 1:
        shown = ", ".join(f"{k}: {len(v)}" for k, v in columns.items())
        raise BadRequest(f"inputs hold different numbers of rows ({shown}): send equal rows")
    [count] = counts
    instances = [{name: column[i] for name, column in columns.items()} for i in range(count)]
    return examples_of(instances, signature, max_rows)


def _flat(tensor: Any) -> list[Any]:
    return list(tensor.as_numpy().reshape(-1))


def too_large(size: int, limit: int) -> str:
    return (
        f"the body is {size} bytes; this server takes at most {limit} "
        "(tfxd serve --max-body-bytes): send fewer rows per request"
    )


def instances(body: bytes) -> Any:
    try:
        payload = json.loads(body)
    except UnicodeDecodeError as err:
        raise BadRequest("the body is not UTF-8 text: send JSON") from err
    except json.JSONDecodeError as err:
        raise BadRequest(
            f"the body is not JSON ({err.msg} at line {err.lineno} column {err.colno}): "
            'send {"instances": [...]}'
        ) from err
    if not isinstance(payload, dict) or "instances" not in payload:
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise BadRequest(
            f'the body holds {keys}, not "instances": send {{"instances": [{{"feature": value}}]}}'
        )
    return payload["instances"]
