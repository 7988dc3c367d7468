"""``tfxd serve`` against the in-process call of the same signature, in the same run: p50/p99
latency and requests/s at concurrency 1 and 8 (one row a request), and rows/s with 64-row
requests. The model is TFX-shaped (a serving signature over serialized tf.Examples, parsing four
float features, a small dense network). Clients are threads on the same machine, keeping their
HTTP connections open, so on a 2-core machine they take CPU from the server: a lower bound.
Goals: batched rows/s ≥ 0.25 of the in-process rows/s; p50 overhead ≤ 1.5 ms at concurrency 1.
Prints, asserts nothing.

    .venv/bin/python bench/serving.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
JSON = {"content-type": "application/json"}
FEATURES = ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g"]


def write_model(path: Path) -> None:
    import tensorflow as tf
    import tf_keras as keras

    inputs = {name: keras.Input(shape=(1,), name=name) for name in FEATURES}
    hidden = keras.layers.Dense(8, activation="relu")(
        keras.layers.concatenate(list(inputs.values()))
    )
    model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    spec = {name: tf.io.FixedLenFeature([1], tf.float32) for name in FEATURES}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(examples):
        return {"outputs": model(tf.io.parse_example(examples, spec))}

    model.save(str(path), save_format="tf", signatures={"serving_default": serve})


def row(i: int) -> dict[str, float]:
    return {name: float(40 + (i * 7 + k) % 13) for k, name in enumerate(FEATURES)}


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def in_process(path: Path, duration: float) -> dict[str, float]:
    import tensorflow as tf

    from tfxd.serving.features import examples_of, read_signature

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    signature = read_signature(fn)
    one = examples_of([row(0)], signature, 1)
    batch = examples_of([row(i) for i in range(64)], signature, 64)
    fn(examples=tf.constant(one))
    took = []
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        fn(examples=tf.constant(one))["outputs"].numpy()
        took.append(time.perf_counter() - t0)
    rows, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < duration:
        fn(examples=tf.constant(batch))["outputs"].numpy()
        rows += 64
    p50, p99 = percentiles(took)
    return {"p50": p50, "p99": p99, "calls/s": len(took) / duration,
            "rows/s": rows / (time.perf_counter() - t0)}  # fmt: skip


def load(port: int, rows: int, clients: int, duration: float) -> dict[str, float]:
    body = json.dumps({"instances": [row(i) for i in range(rows)]}).encode()
    took: list[float] = []
    errors = [0]
    lock = threading.Lock()
    end = time.perf_counter() + duration

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            conn.request(
                "POST", "/v1/models/bench:predict", body, {"content-type": "application/json"}
            )
            answer = conn.getresponse()
            answer.read()
            mine.append(time.perf_counter() - t0)
            if answer.status != 200:
                errors[0] += 1
        with lock:
            took.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    p50, p99 = percentiles(took)
    return {"p50": p50, "p99": p99, "req/s": len(took) / elapsed,
            "rows/s": len(took) * rows / elapsed, "errors": errors[0]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    args = parser.parse_args()
    from tfxd.infra.versions import Destination, push_saved_model
    from tfxd.runners.serve import SOURCE, serving_python

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        write_model(model)
        folder = Path(tmp) / "serving"
        dest = Destination("push", folder, "bench", folder)
        push_saved_model(dest, str(model), {"source_model": str(model), "blessed": True})
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [str(serving_python()), "-m", "tfxd.serving.server", "--model-dir", str(folder),
             "--folder", str(folder), "--model", "bench", "--port", str(port), "--grpc-port", "0"],
            env={**os.environ, "PYTHONPATH": str(SOURCE)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/v2/health/ready")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the server did not start")
                time.sleep(0.3)
            load(port, 1, 1, 1.0)  # warm-up
            base = in_process(model, args.seconds)
            one = load(port, 1, 1, args.seconds)
            eight = load(port, 1, 8, args.seconds)
            batched = load(port, 64, 1, args.seconds)
            batched8 = load(port, 64, 8, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{'':32} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'rows/s':>10} {'errors':>7}")
    print(f"{'in process, 1 row':32} {base['p50']:8.3f} {base['p99']:8.3f} "
          f"{base['calls/s']:9.0f} {'':>10}")  # fmt: skip
    print(f"{'in process, 64 rows':32} {'':>8} {'':>8} {'':>9} {base['rows/s']:10.0f}")
    for label, r in (("tfxd serve V1, 1 row, conc 1", one), ("tfxd serve V1, 1 row, conc 8", eight),
                     ("tfxd serve V1, 64 rows, conc 1", batched),
                     ("tfxd serve V1, 64 rows, conc 8", batched8)):  # fmt: skip
        print(f"{label:32} {r['p50']:8.3f} {r['p99']:8.3f} {r['req/s']:9.0f} {r['rows/s']:10.0f} "
              f"{r['errors']:7d}")  # fmt: skip
    best = max(batched["rows/s"], batched8["rows/s"])
    print(f"batched rows/s vs in process: {best / base['rows/s']:.2f} (goal >= 0.25)")
    print(f"p50 overhead at concurrency 1: {one['p50'] - base['p50']:.2f} ms (goal <= 1.5)")


if __name__ == "__main__":
    main()
