"""TFLite variants of a Keras SavedModel, each measured against the SavedModel on real examples."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

VARIANTS = ("float32", "dynamic_range", "float16", "int8")


@dataclass
class VariantResult:
    variant: str
    bytes: int = 0
    metric: float | None = None
    drop: float | None = None
    latency_ms: float | None = None
    pushed: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_keras(path: str) -> Any:
    import tf_keras

    return tf_keras.models.load_model(path, compile=False)


def input_names(model: Any) -> list[str]:
    return [t.name.split(":")[0] for t in model.inputs]


def read_examples(files: list[str], model: Any, label: str, limit: int) -> tuple[list, np.ndarray]:
    """Up to ``limit`` examples from gzipped TFRecords, as the model's inputs plus labels."""
    import tensorflow as tf

    spec = {
        name: tf.io.FixedLenFeature(
            [int(d or 1) for d in t.shape[1:]], tf.int64 if t.dtype.is_integer else tf.float32
        )
        for name, t in zip(input_names(model), model.inputs, strict=True)
    }
    spec[label] = tf.io.FixedLenFeature([1], tf.int64)
    data = tf.data.TFRecordDataset(files, compression_type="GZIP").take(limit).batch(limit)
    batch = next(iter(data.map(lambda b: tf.io.parse_example(b, spec))), None)
    if batch is None:
        return [], np.zeros((0,), np.int64)
    inputs = [
        batch[name].numpy().astype(t.dtype.as_numpy_dtype)
        for name, t in zip(input_names(model), model.inputs, strict=True)
    ]
    return inputs, batch[label].numpy().reshape(-1)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    probabilities = np.asarray(probabilities)
    if probabilities.ndim == 2 and probabilities.shape[1] > 1:
        predicted = probabilities.argmax(axis=1)
    else:
        predicted = (probabilities.reshape(-1) > 0.5).astype(np.int64)
    return float((predicted == labels).mean()) if len(labels) else float("nan")


def convert(model: Any, variant: str, representative: list) -> bytes:
    """One variant: float32, dynamic_range (int8 weights), float16 (weights) or int8 (weights and
    activations, calibrated on ``representative`` examples; inputs and outputs stay float)."""
    import tensorflow as tf

    specs = [
        tf.TensorSpec([None, *t.shape[1:]], t.dtype, name=name)
        for name, t in zip(input_names(model), model.inputs, strict=True)
    ]

    @tf.function(input_signature=specs)
    def edge(*args: tf.Tensor) -> dict:
        return {"output": model(list(args))}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [edge.get_concrete_function()], model
    )
    if variant != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if variant == "int8":
        if not representative or not len(representative[0]):
            raise ValueError("full int8 needs representative examples, and none were read")
        count = len(representative[0])
        names = input_names(model)

        def samples():
            for i in range(count):
                yield {
                    n: column[i : i + 1] for n, column in zip(names, representative, strict=True)
                }

        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


MARK = "tfxd-tflite-variant: "  # the child's stderr line that starts each variant


def _failure(stderr: str, returncode: int) -> str:
    """What went wrong in one variant's conversion, from the converter's output."""
    import re

    unsupported = sorted(set(re.findall(r"'(tf\.\w+)' op is neither", stderr)))
    errors = [ln.split("error:", 1)[1].strip() for ln in stderr.splitlines() if "error:" in ln]
    if unsupported:
        detail = f"ops TFLite has no kernel for: {', '.join(unsupported)}"
    elif returncode < 0:
        detail = "the converter crashed"
    else:
        detail = errors[-1] if errors else (stderr.strip().splitlines() or ["no output"])[-1]
    how = f"signal {-returncode}" if returncode < 0 else f"exit {returncode}"
    return f"converter failed ({how}): {detail[:400]}"


def convert_isolated(
    saved_model: str, variants: list[str], representative: list, work: str, timeout: int = 600
) -> dict[str, bytes | str]:
    """``convert`` for every variant in one child process (one TensorFlow import for all): the
    TFLite converter can crash its process (it segfaults on some unsupported ops), so a crash
    costs only the variant it happened in, and the ones after it run in a new child.

    Returns variant → the .tflite bytes, or the reason it failed."""
    import os
    import subprocess
    import sys

    data = os.path.join(work, "representative.npz")
    np.savez(data, *representative)
    out: dict[str, bytes | str] = {}
    pending = list(variants)
    while pending:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", __name__, saved_model, data, work, *pending],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            returncode, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as err:
            returncode = -9
            stderr = err.stderr.decode() if isinstance(err.stderr, bytes) else err.stderr or ""
        parts = stderr.split(MARK)
        logs = {p.split("\n", 1)[0].strip(): p for p in parts[1:]}
        for variant in list(pending):
            result, error = (os.path.join(work, f"{variant}.{e}") for e in ("tflite", "error"))
            if os.path.exists(result):
                with open(result, "rb") as handle:
                    out[variant] = handle.read()
            elif os.path.exists(error):
                with open(error, encoding="utf-8") as handle:
                    out[variant] = _failure(handle.read(), 1)
            elif not logs:  # the child died before its first variant: no use trying again
                out.update({v: _failure(stderr, returncode or 1) for v in pending})
                pending.clear()
                break
            else:  # the child died in this variant: the rest go to a new child
                out[variant] = _failure(logs.get(variant, stderr), returncode or 1)
                pending.remove(variant)
                break
            pending.remove(variant)
    return out


def _main(argv: list[str]) -> int:
    import sys
    import traceback

    saved_model, data, work, *variants = argv
    with np.load(data) as arrays:
        representative = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    model = load_keras(saved_model)
    for variant in variants:
        print(MARK + variant, file=sys.stderr, flush=True)
        try:
            content = convert(model, variant, representative)
        except Exception as err:  # recorded for this variant; the next one still converts
            with open(f"{work}/{variant}.error", "w", encoding="utf-8") as handle:
                handle.write("".join(traceback.format_exception_only(type(err), err)))
            continue
        with open(f"{work}/{variant}.tflite", "wb") as handle:
            handle.write(content)
    return 0


def evaluate(
    content: bytes, names: list[str], inputs: list, labels: np.ndarray
) -> tuple[float, float]:
    """(accuracy, mean CPU latency per example in ms) with the TFLite interpreter, one example
    per invocation, as on a device. ``names`` are the model's input names, in input order."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=content, num_threads=1)
    runner = interpreter.get_signature_runner()
    outputs = []
    start = time.perf_counter()
    for i in range(len(labels)):
        feed = {name: column[i : i + 1] for name, column in zip(names, inputs, strict=True)}
        outputs.append(runner(**feed)["output"][0])
    seconds = time.perf_counter() - start
    return accuracy(np.array(outputs), labels), 1000 * seconds / max(len(labels), 1)


if __name__ == "__main__":
    import os
    import sys

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(_main(sys.argv[1:]))
