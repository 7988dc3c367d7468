"""The model server as ``tfxd serve`` starts it: a real KServe ModelServer process in the serving
environment on 127.0.0.1, real HTTP and gRPC requests, versions pushed as the pushers push them
and the pointer moved as ``tfxd rollback`` moves it."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.process import free_port, missing
from tests.serving.toy import push, write_model
from tfxd.errors import TfxdError
from tfxd.infra.versions import MANIFEST, Destination, set_serving
from tfxd.runners.serve import SOURCE, serving_python
from tfxd.serving import status


def python() -> Path:
    try:
        return serving_python()
    except TfxdError as err:
        missing("the serving environment", str(err))


@dataclass
class Server:
    dest: Destination
    port: int
    grpc_port: int
    log: Path
    process: subprocess.Popen | None = None
    extra: tuple[str, ...] = ()

    def start(self) -> None:
        command = [
            str(python()), "-m", "tfxd.serving.server",
            "--model-dir", str(self.dest.model_dir), "--folder", str(self.dest.folder),
            "--model", self.dest.model, "--port", str(self.port),
            "--grpc-port", str(self.grpc_port), "--max-rows", "64",
            "--max-body-bytes", "65536", "--poll", "0.1", *self.extra,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(SOURCE), "TF_CPP_MIN_LOG_LEVEL": "2"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while not self.ready():
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            return get(f"{self.url}/v2/health/ready")[0] == 200
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def predict(self, body: object, path: str = "toy:predict") -> tuple[int, dict, dict]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return post(f"{self.url}/v1/models/{path}", data)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def post(url: str, data: bytes, content_type: str | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, data=data, method="POST")
    if content_type:
        request.add_header("content-type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), dict(err.headers)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("serve")
    models = [write_model(root / "trained" / str(i), scale) for i, scale in ((1, 2.0), (2, 3.0))]
    folder = root / "serving"
    dest = Destination("push", folder, "toy", folder)
    versions = [push(dest, model) for model in models]
    set_serving(folder, "toy", versions[0], folder)
    server = Server(dest, free_port(), free_port(), root / "server.log")
    server.start()
    server.versions = versions  # type: ignore[attr-defined]
    yield server
    if server.process is not None and server.process.poll() is None:
        server.process.kill()
        server.process.wait()


ROWS = [{"a": 1.5, "b": 2, "c": ["yes"]}, {"a": 4.0}]


def test_raw_features_b64_examples_and_v2_give_the_in_process_answers(served: Server):
    import tensorflow as tf

    first = served.versions[0]
    model = tf.saved_model.load(str(served.dest.model_dir / str(first)))
    examples = []
    for row in ROWS:
        ex = tf.train.Example()
        for name, value in row.items():
            values = value if isinstance(value, list) else [value]
            slot = ex.features.feature[name]
            if name == "a":
                slot.float_list.value.extend(values)
            elif name == "b":
                slot.int64_list.value.extend(values)
            else:
                slot.bytes_list.value.extend(v.encode() for v in values)
        examples.append(ex.SerializeToString())
    expected = model.signatures["serving_default"](examples=tf.constant(examples))["score"]
    expected = expected.numpy().tolist()

    code, raw, headers = served.predict({"instances": ROWS})
    assert code == 200, raw
    assert raw == {"predictions": expected, "model_version": str(first)}
    assert headers["x-model-version"] == str(first)
    b64 = [{"b64": base64.b64encode(e).decode()} for e in examples]
    assert served.predict({"instances": b64})[1]["predictions"] == expected
    pinned = f"toy/versions/{first}:predict"
    assert served.predict({"instances": ROWS}, pinned)[1]["predictions"] == expected

    v2 = {
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "FP32", "data": [1.5, 4.0]},
            {"name": "b", "shape": [2], "datatype": "INT64", "data": [2, 0]},
        ]
    }
    code, answer, _ = post(
        f"{served.url}/v2/models/toy/infer", json.dumps(v2).encode(), "application/json"
    )
    assert code == 200, answer
    assert answer["model_version"] == str(first)
    assert answer["outputs"][0]["data"] == [expected[0][0] - 1.0, expected[1][0]]  # no "yes"

    client = f"""
import grpc, json, sys
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb, grpc_predict_v2_pb2_grpc as rpc
stub = rpc.GRPCInferenceServiceStub(grpc.insecure_channel("127.0.0.1:{served.grpc_port}"))
tensor = pb.ModelInferRequest.InferInputTensor(name="examples", datatype="BYTES", shape=[2])
tensor.contents.bytes_contents.extend([bytes.fromhex(h) for h in sys.argv[1:]])
answer = stub.ModelInfer(pb.ModelInferRequest(model_name="toy", inputs=[tensor]), timeout=10)
print(json.dumps({{"version": answer.model_version,
                   "scores": list(answer.outputs[0].contents.fp32_contents)}}))
"""
    done = subprocess.run(
        [str(python()), "-c", client, *(e.hex() for e in examples)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    grpc_answer = json.loads(done.stdout)
    assert grpc_answer["version"] == str(first)
    assert grpc_answer["scores"] == pytest.approx([row[0] for row in expected])


@pytest.mark.parametrize(
    ("body", "path", "code", "says"),
    [
        ({"instances": [{"b": 1}]}, "toy:predict", 400, "'a' is missing; the model requires it"),
        ({"instances": [{"a": "x"}]}, "toy:predict", 400, "it is a float feature: send a number"),
        (b'{"instances": [', "toy:predict", 400, "the body is not JSON (Expecting value at"),
        ({"inputs": [1]}, "toy:predict", 400, "the body holds ['inputs'], not \"instances\""),
        ({"instances": [{"a": 1}] * 65}, "toy:predict", 400, "65 instances in one request"),
        ({"instances": [{"a": 1, "c": "x" * 70000}]}, "toy:predict", 413, "at most 65536"),
        ({"instances": [{"a": 1}]}, "taxi:predict", 404, "no model 'taxi' here"),
        ({"instances": [{"a": 1}]}, "toy/versions/7:predict", 404, "version 7 of 'toy' is not"),
    ],
)
def test_bad_requests_get_one_line_naming_the_fix(served: Server, body, path, code, says):
    got, answer, _ = served.predict(body, path)
    assert got == code, answer
    assert says in answer["error"] and "\n" not in answer["error"], answer


def test_what_the_graph_refuses_is_a_400_naming_the_version(served: Server):
    import tensorflow as tf

    two = tf.train.Example()  # 'a' is fixed-size 1 in the signature: only the graph checks it
    two.features.feature["a"].float_list.value.extend([1.0, 2.0])
    row = {"b64": base64.b64encode(two.SerializeToString()).decode()}
    code, answer, _ = served.predict({"instances": [row]})
    assert code == 400, answer
    assert f"version {served.dest.serving()} refused these instances: " in answer["error"]
    assert "\n" not in answer["error"]


def test_bad_v2_requests_are_400s(served: Server):
    url = f"{served.url}/v2/models/toy/infer"
    wrong = {"inputs": [{"name": "a", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}
    code, answer, _ = post(url, json.dumps(wrong).encode(), "application/json")
    assert code == 400 and "'a' is 'x'; it is a float feature" in answer["error"], answer
    uneven = {
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "FP32", "data": [1, 2]},
            {"name": "b", "shape": [1], "datatype": "INT64", "data": [1]},
        ]
    }
    code, answer, _ = post(url, json.dumps(uneven).encode(), "application/json")
    assert code == 400 and "different numbers of rows (a: 2, b: 1)" in answer["error"], answer


def test_health_and_per_version_metrics(served: Server):
    assert get(f"{served.url}/v2/health/live")[0] == 200
    state = json.loads(get(f"{served.url}/v1/models/toy")[1])
    assert state["model_version_status"][0]["state"] == "AVAILABLE"
    served.predict({"instances": ROWS})
    _, text = get(f"{served.url}/metrics")
    version = served.dest.serving()
    labels = f'model="toy",protocol="v1",version="{version}"'
    assert f'tfxd_requests_total{{code="200",{labels}}}' in text
    assert f'tfxd_request_seconds_bucket{{le="0.005",{labels}}}' in text
    [gauge] = re.findall(r'^tfxd_serving_version\{model="toy"\} (\S+)$', text, re.M)
    assert float(gauge) == version


def steady_load(served: Server, stop: threading.Event, seen: list) -> None:
    """Requests one after another until told to stop (at most 5,000 or 60 s)."""
    deadline = time.monotonic() + 60
    while not stop.is_set() and len(seen) < 5000 and time.monotonic() < deadline:
        try:
            code, answer, _ = served.predict({"instances": ROWS[:1]})
        except OSError as err:  # a refused or dropped connection is a failed request too
            code, answer = 0, {"error": str(err)}
        seen.append((time.monotonic(), code, answer.get("model_version")))


def wait_for(served: Server, seen: list, version: int, since: float) -> float:
    deadline = since + 10
    while time.monotonic() < deadline:
        if any(t > since and v == str(version) for t, _, v in seen[-50:]):
            return next(t for t, _, v in seen if t > since and v == str(version)) - since
        time.sleep(0.02)
    raise AssertionError(f"version {version} not answering 10 s after the pointer moved")


def test_push_and_rollback_switch_live_with_no_failed_request(served: Server):
    first, second = served.versions
    stop, seen = threading.Event(), []
    load = threading.Thread(target=steady_load, args=(served, stop, seen))
    load.start()
    try:
        time.sleep(0.5)
        moved = time.monotonic()
        set_serving(served.dest.folder, "toy", second, served.dest.model_dir)  # a push
        forward = wait_for(served, seen, second, moved)
        time.sleep(0.3)
        moved = time.monotonic()
        set_serving(served.dest.folder, "toy", first, served.dest.model_dir)  # a rollback
        back = wait_for(served, seen, first, moved)
        time.sleep(0.3)
    finally:
        stop.set()
        load.join()
    failed = [s for s in seen if s[1] != 200]
    assert not failed, failed[:5]
    order = [v for _, _, v in seen]
    switches = [i for i in range(1, len(order)) if order[i] != order[i - 1]]
    assert len(switches) == 2, "the answering version flapped"
    print(f"{len(seen)} requests, 0 failed; switched in {forward:.2f} s and {back:.2f} s")


def test_a_version_that_cannot_load_is_refused_and_the_old_one_serves(served: Server):
    first = served.dest.serving()
    folder, model_dir = served.dest.folder, served.dest.model_dir
    corrupt = max(served.versions) + 10
    shutil.copytree(model_dir / str(first), model_dir / str(corrupt))
    (model_dir / str(corrupt) / "saved_model.pb").write_bytes(b"not a SavedModel")
    unblessed = corrupt + 1
    shutil.copytree(model_dir / str(first), model_dir / str(unblessed))
    manifest = json.loads((model_dir / str(unblessed) / MANIFEST).read_text())
    (model_dir / str(unblessed) / MANIFEST).write_text(json.dumps({**manifest, "blessed": False}))
    for bad, why in ((corrupt, "does not load"), (unblessed, "was not blessed")):
        set_serving(folder, "toy", bad, model_dir)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            [state] = status.running(folder, "toy")
            if str(bad) in state.refused:
                break
            time.sleep(0.1)
        assert why in state.refused[str(bad)], state
        assert state.version == first
        code, answer, _ = served.predict({"instances": ROWS})
        assert code == 200 and answer["model_version"] == str(first), answer
    set_serving(folder, "toy", first, model_dir)


def test_a_killed_server_restarted_serves_the_pointer_and_a_stopped_one_leaves_no_status(
    served: Server,
):
    second = served.versions[1]
    assert served.process is not None
    served.process.kill()
    served.process.wait()
    assert status.running(served.dest.folder, "toy") == []  # its status file is stale
    set_serving(served.dest.folder, "toy", second, served.dest.model_dir)  # moved while down
    served.start()
    code, answer, _ = served.predict({"instances": ROWS})
    assert code == 200 and answer["model_version"] == str(second), answer
    [state] = status.running(served.dest.folder, "toy")
    assert state.version == second and state.address == f"127.0.0.1:{served.port}"
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=30) == 0
    assert not status.path_for(served.dest.folder, served.port).exists()
