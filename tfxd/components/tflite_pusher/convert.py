"""TFLite variants of a SavedModel (a named signature, or a Keras model's own inputs), each
measured against the SavedModel on real examples."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
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
    tf_ops: list[str] = field(default_factory=list)  # run by the Flex delegate, not TFLite

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


MODEL = "model"  # ``signature: model``: the Keras model's own inputs (preprocessing on the device)
OUTPUT = "output"  # the output name of a ``model`` conversion


@dataclass
class Signature:
    """What is converted and measured: a named signature of the SavedModel, or its Keras model."""

    key: str
    inputs: dict[str, tuple[tuple[int, ...], Any]]  # name → (shape without batch, tf dtype)
    output: str

    @property
    def serialized(self) -> bool:
        """Takes serialized tf.Examples (TFX's serving signatures do)."""
        import tensorflow as tf

        return len(self.inputs) == 1 and next(iter(self.inputs.values()))[1] == tf.string

    @property
    def runner_key(self) -> str:
        return "serving_default" if self.key == MODEL else self.key


class Source:
    """A SavedModel opened for one signature: reads examples as its inputs and predicts."""

    def __init__(self, saved_model: str, key: str, output: str | None, label: str):
        import tensorflow as tf

        self.label = label
        self.transform: Any = None
        self.loaded = tf.saved_model.load(saved_model)
        if key == MODEL:
            structure, specs = model_inputs(self.loaded)
            inputs = {s.name: (tuple(int(d or 1) for d in s.shape[1:]), s.dtype) for s in specs}
            self.signature = Signature(MODEL, inputs, OUTPUT)
            self.fn = lambda feed: self.loaded(
                tf.nest.pack_sequence_as(structure, [tf.constant(feed[s.name]) for s in specs]),
                training=False,
            )
            return
        found = sorted(self.loaded.signatures.keys())
        if key not in found:
            raise ValueError(
                f"the SavedModel has no signature '{key}' (it has: {', '.join(found) or 'none'}): "
                f"set with.signature to one of them, or to '{MODEL}' for a Keras model's own inputs"
            )
        fn = self.loaded.signatures[key]
        specs = fn.structured_input_signature[1]
        inputs = {n: (tuple(int(d or 1) for d in t.shape[1:]), t.dtype) for n, t in specs.items()}
        outputs = sorted(fn.structured_outputs)
        if output is None and len(outputs) != 1:
            raise ValueError(
                f"signature '{key}' has outputs {', '.join(outputs)}: set with.output to the "
                "one holding the probabilities"
            )
        self.signature = Signature(key, inputs, output or outputs[0])
        if output is not None and output not in outputs:
            raise ValueError(
                f"signature '{key}' has no output '{output}' (it has: {', '.join(outputs)})"
            )
        if "transform_features" in self.loaded.signatures:
            self.transform = self.loaded.signatures["transform_features"]
        self.fn = lambda feed: fn(**{n: tf.constant(v) for n, v in feed.items()})[
            self.signature.output
        ]

    def read(
        self, files: list[str], limit: int, labels: bool = True
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Up to ``limit`` examples from gzipped TFRecords: the signature's inputs and, with
        ``labels``, the labels (from the examples, or through the model's ``transform_features``
        signature when the label is made by Transform, as in TFX's modules)."""
        import tensorflow as tf

        data = tf.data.TFRecordDataset(files, compression_type="GZIP").take(limit).batch(limit)
        batch = next(iter(data), None)
        if batch is None:
            return {}, np.zeros((0,), np.int64)
        name = next(iter(self.signature.inputs))
        if self.signature.serialized:
            feed = {name: np.array(list(batch.numpy()), dtype=object)}
        else:
            spec = {
                n: tf.io.FixedLenFeature(list(shape), tf.int64 if d.is_integer else tf.float32)
                for n, (shape, d) in self.signature.inputs.items()
            }
            try:
                parsed = tf.io.parse_example(batch, spec)
            except tf.errors.InvalidArgumentError as err:
                detail = " ".join(str(err.message).split("Name: <unknown>, ")[-1].split())
                raise ValueError(
                    f"the examples do not fit the inputs of signature '{self.signature.key}' "
                    f"({detail[:300]}): give it the examples it reads (raw ones for a serving "
                    f"signature over tf.Examples, transformed ones for '{MODEL}')"
                ) from None
            feed = {
                n: parsed[n].numpy().astype(d.as_numpy_dtype)
                for n, (_, d) in self.signature.inputs.items()
            }
        return feed, self._labels(batch) if labels else np.zeros((0,), np.int64)

    def _labels(self, batch: Any) -> np.ndarray:
        import tensorflow as tf

        try:
            spec = {self.label: tf.io.FixedLenFeature([1], tf.int64)}
            return tf.io.parse_example(batch, spec)[self.label].numpy().reshape(-1)
        except (tf.errors.InvalidArgumentError, ValueError) as err:
            if self.transform is None:
                raise ValueError(
                    f"label '{self.label}' is not an integer feature of every example, and the "
                    "model has no transform_features signature to make it: set with.label"
                ) from err
        made = self.transform(examples=batch)
        if self.label not in made:
            raise ValueError(
                f"label '{self.label}' is neither an integer feature of the examples nor an "
                f"output of transform_features ({', '.join(sorted(made))}): set with.label"
            )
        return np.asarray(made[self.label]).reshape(-1).astype(np.int64)

    def predict(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.fn(feed))


def model_inputs(loaded: Any) -> tuple[Any, list[Any]]:
    """The inputs of the model itself, from the call traced when it was saved (Keras
    ``model.save`` and ``tf.saved_model.save`` of a Keras model both keep it): their structure
    and the flat, named, batch-polymorphic specs."""
    import tensorflow as tf

    traces = list(getattr(loaded.__call__, "concrete_functions", []) if callable(loaded) else [])
    if not traces:
        raise ValueError(
            f"signature '{MODEL}' needs the model's own call, and this SavedModel kept none "
            "(it is not a Keras model): convert one of its signatures instead"
        )

    def inference(fn: Any) -> bool:
        args, kwargs = fn.structured_input_signature
        return kwargs.get("training") is False or (len(args) > 1 and args[1] is False)

    fn = next((f for f in traces if inference(f)), traces[0])
    structure = fn.structured_input_signature[0][0]
    specs = [
        tf.TensorSpec([None, *s.shape[1:]], s.dtype, name=s.name or f"input_{i}")
        for i, s in enumerate(tf.nest.flatten(structure))
    ]
    return structure, specs


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    probabilities = np.asarray(probabilities)
    if probabilities.ndim == 2 and probabilities.shape[1] > 1:
        predicted = probabilities.argmax(axis=1)
    else:
        predicted = (probabilities.reshape(-1) > 0.5).astype(np.int64)
    return float((predicted == labels).mean()) if len(labels) else float("nan")


def _samples(representative: dict[str, np.ndarray]) -> Any:
    count = len(next(iter(representative.values())))
    for i in range(count):
        yield {n: column[i : i + 1] for n, column in representative.items()}


def convert(
    saved_model: str,
    key: str,
    variant: str,
    representative: dict[str, np.ndarray],
    select_tf_ops: bool,
    model: Any = None,
) -> bytes:
    """One variant: float32, dynamic_range (int8 weights), float16 (weights) or int8 (weights and
    activations, calibrated on ``representative`` examples; inputs and outputs stay float). A
    signature converts from the SavedModel; ``model`` (with ``key`` MODEL) is the Keras model on
    its own inputs. ``select_tf_ops`` lets ops without a TFLite kernel run as TensorFlow ops."""
    import tensorflow as tf

    if key == MODEL:
        structure, specs = model_inputs(model)

        @tf.function(input_signature=specs)
        def edge(*args: tf.Tensor) -> dict:
            return {OUTPUT: model(tf.nest.pack_sequence_as(structure, list(args)), training=False)}

        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [edge.get_concrete_function()], model
        )
    else:
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=[key])
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if variant == "int8":
        if not representative or not len(next(iter(representative.values()))):
            raise ValueError("full int8 needs representative examples, and none were read")
        converter.representative_dataset = lambda: _samples(representative)
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if select_tf_ops:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops
    return converter.convert()


def tf_ops(content: bytes) -> list[str]:
    """The TensorFlow ops a converted model runs through the Flex delegate (none: builtins only)."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(content, 0)
    codes = (model.OperatorCodes(i).CustomCode() for i in range(model.OperatorCodesLength()))
    return sorted({c.decode()[4:] for c in codes if c and c.startswith(b"Flex")})


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
    saved_model: str,
    key: str,
    variants: list[str],
    representative: dict[str, np.ndarray],
    work: str,
    select_tf_ops: bool = True,
    timeout: int = 600,
) -> dict[str, bytes | str]:
    """``convert`` for every variant in one child process (one TensorFlow import for all): the
    TFLite converter can crash its process (it segfaults on some unsupported ops), so a crash
    costs only the variant it happened in, and the ones after it run in a new child.

    Returns variant → the .tflite bytes, or the reason it failed."""
    import os
    import subprocess
    import sys

    data = os.path.join(work, "representative.npz")
    np.savez(data, **representative)
    out: dict[str, bytes | str] = {}
    pending = list(variants)
    while pending:
        try:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    __name__,
                    saved_model,
                    key,
                    "select" if select_tf_ops else "builtins",
                    data,
                    work,
                    *pending,
                ],
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

    saved_model, key, ops, data, work, *variants = argv
    with np.load(data, allow_pickle=True) as arrays:  # our own file: strings are objects
        representative = {name: arrays[name] for name in arrays.files}
    model = None
    if key == MODEL:
        import tensorflow as tf

        model = tf.saved_model.load(saved_model)
    for variant in variants:
        print(MARK + variant, file=sys.stderr, flush=True)
        try:
            content = convert(saved_model, key, variant, representative, ops == "select", model)
        except Exception as err:  # recorded for this variant; the next one still converts
            with open(f"{work}/{variant}.error", "w", encoding="utf-8") as handle:
                handle.write("".join(traceback.format_exception_only(type(err), err)))
            continue
        with open(f"{work}/{variant}.tflite", "wb") as handle:
            handle.write(content)
    return 0


def evaluate(
    content: bytes, signature: Signature, feed: dict[str, np.ndarray], labels: np.ndarray
) -> tuple[float, float]:
    """(accuracy, mean CPU latency per example in ms) with the TFLite interpreter (the Flex
    delegate where the model needs it), one example per invocation, as on a device."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=content, num_threads=1)
    runner = interpreter.get_signature_runner(signature.runner_key)
    outputs = []
    start = time.perf_counter()
    for i in range(len(labels)):
        outputs.append(runner(**{n: c[i : i + 1] for n, c in feed.items()})[signature.output][0])
    seconds = time.perf_counter() - start
    return accuracy(np.array(outputs), labels), 1000 * seconds / max(len(labels), 1)


if __name__ == "__main__":
    import os
    import sys

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(_main(sys.argv[1:]))
