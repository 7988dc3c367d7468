"""``tfxd serve``'s model server: KServe's Python ModelServer answering with the version the serving
pointer names, following the pointer live. Runs in the serving environment::

    .venv-serve/bin/python -m tfxd.serving.server --model-dir D --folder F --model M [...]

- TF Serving's REST shape: ``POST /v1/models/M:predict`` (and ``/versions/N:predict``) with
  ``{"instances": [...]}``, each row raw features as JSON or ``{"b64": <serialized tf.Example>}``;
  ``GET /v1/models/M`` for its state.
- The Open Inference Protocol (V2) over REST (``/v2/models/M/infer``) and gRPC, one BYTES input
  of serialized tf.Examples or one input per feature.
- Every answer names its version (``model_version`` in the body, ``x-model-version`` header).
- KServe's health routes (``/v2/health/live``, ``/v2/health/ready``) and ``/metrics`` with
  tfxd's per-version counters and latency histogram beside KServe's own.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tfxd.errors import TfxdError
from tfxd.infra.versions import Destination
from tfxd.serving import status
from tfxd.serving.features import BadRequest, examples_of
from tfxd.serving.follow import Follower, Loaded
from tfxd.serving.protocol import V2_TYPES, instances, rows_of, text, too_large, v2_examples
from tfxd.serving.request_log import LogSettings, RequestLog

log = logging.getLogger("tfxd.serve")


class NotServed(TfxdError):
    """A request for a model or version this server does not answer (404)."""


class TooLarge(TfxdError):
    """A body over the size limit (413)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tfxd.serving.server")
    p.add_argument("--model-dir", required=True, help="the base path holding numbered versions")
    p.add_argument("--folder", required=True, help="the folder holding the serving pointer")
    p.add_argument("--model", required=True, help="the model name (the URL's M)")
    p.add_argument("--node", default="", help="the pusher node that keeps these versions")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--grpc-port", type=int, default=8081, help="0: no gRPC")
    p.add_argument("--max-rows", type=int, default=1024)
    p.add_argument("--max-body-bytes", type=int, default=16 * 1024 * 1024)
    p.add_argument("--poll", type=float, default=0.2, help="seconds between looks at the pointer")
    p.add_argument("--log-dir", help="the serving log's folder or s3:// prefix (none: no log)")
    p.add_argument("--log-staging", help="local folder for spans before an S3 upload")
    p.add_argument("--log-sample", type=float, default=1.0)
    p.add_argument("--log-span-rows", type=int, default=100_000)
    p.add_argument("--log-span-seconds", type=float, default=3600.0)
    return p.parse_args(argv)


class Metrics:
    """Prometheus series per version, in the registry KServe's ``/metrics`` serves."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        labels = ["model", "version", "protocol"]
        self.requests = Counter("tfxd_requests", "requests answered", [*labels, "code"])
        self.rows = Counter("tfxd_rows", "rows predicted", labels)
        self.latency = Histogram(
            "tfxd_request_seconds",
            "request latency, body parsed to answer encoded",
            labels,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.serving = Gauge("tfxd_serving_version", "the version answering", ["model"])
        self.refused = Gauge("tfxd_refused_versions", "versions refused on load", ["model"])

    def observe(self, model: str, version: Any, protocol: str, code: int, rows: int, t0: float):
        v = str(version) if version is not None else ""
        self.requests.labels(model, v, protocol, str(code)).inc()
        if code == 200:
            self.rows.labels(model, v, protocol).inc(rows)
            self.latency.labels(model, v, protocol).observe(time.perf_counter() - t0)


def build(args: argparse.Namespace) -> tuple[Any, Follower, RequestLog | None]:
    """The KServe model, the follower and the metrics, wired to the FastAPI app KServe serves."""
    import kserve
    from fastapi.responses import JSONResponse
    from kserve.errors import InvalidInput
    from kserve.model_server import app
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

    dest = Destination(args.node, Path(args.folder), args.model, Path(args.model_dir))
    metrics = Metrics()
    requests = None
    if args.log_dir:
        settings = LogSettings(
            args.log_dir,
            args.log_sample,
            args.log_span_rows,
            args.log_span_seconds,
            Path(args.log_staging) if args.log_staging else None,
        )
        requests = RequestLog(settings)

    def publish(follower: Follower) -> None:
        version = follower.answering
        if version is not None:
            metrics.serving.labels(args.model).set(version)
        metrics.refused.labels(args.model).set(len(follower.refused))
        status.write(
            dest.folder,
            args.port,
            status.ServerStatus(
                model=args.model,
                pid=os.getpid(),
                address=f"{args.host}:{args.port}",
                version=version,
                refused={str(k): v for k, v in follower.refused.items()},
                since=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            ),
        )

    follower = Follower(dest, every=args.poll, changed=publish)

    class Served(kserve.Model):
        def __init__(self) -> None:
            super().__init__(args.model, return_response_headers=True)

        def load(self) -> bool:
            follower.step()
            self.ready = follower.current is not None
            return self.ready

        def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> Any:
            t0 = time.perf_counter()
            current = _answering(follower)
            if not isinstance(payload, InferRequest):
                raise InvalidInput("send an Open Inference Protocol request")
            try:
                serialized = v2_examples(payload, current.signature, args.max_rows)
                outputs = current.predict(serialized)
            except BadRequest as err:
                metrics.observe(args.model, current.version, "v2", 400, 0, t0)
                raise InvalidInput(str(err)) from err
            if requests is not None:
                requests.offer(serialized, current.version, outputs)
            if response_headers is not None:
                response_headers["x-model-version"] = str(current.version)
            infer_outputs = []
            for name in current.signature.outputs or sorted(outputs):
                array = outputs[name]
                datatype = V2_TYPES.get(str(array.dtype), "BYTES")
                data = [text(v) for v in array.reshape(-1).tolist()]
                infer_outputs.append(InferOutput(name, list(array.shape), datatype, data))
            metrics.observe(args.model, current.version, "v2", 200, len(serialized), t0)
            return InferResponse(
                response_id=payload.id or str(uuid.uuid4()),
                model_name=self.name,
                infer_outputs=infer_outputs,
                model_version=str(current.version),
                from_grpc=payload.from_grpc,
            )

    async def v1(request: Any) -> JSONResponse:
        t0 = time.perf_counter()
        name, version = request.path_params["name"], request.path_params.get("version")
        current = follower.current
        answering = current.version if current is not None else None
        try:
            if name != args.model:
                raise NotServed(f"no model {name!r} here; this server answers {args.model!r}")
            if current is None:
                raise NotServed(f"{args.model!r} has no version loaded yet")
            if version is not None and version != str(current.version):
                raise NotServed(
                    f"version {version} of {args.model!r} is not served; this server answers "
                    f"version {current.version} (the serving pointer's): tfxd rollback --to "
                    f"{version} serves it"
                )
            body = await request.body()
            if len(body) > args.max_body_bytes:
                raise TooLarge(too_large(len(body), args.max_body_bytes))
            serialized = examples_of(instances(body), current.signature, args.max_rows)
            outputs = await _predict(current, serialized)
        except (BadRequest, NotServed, TooLarge) as err:
            code = {BadRequest: 400, NotServed: 404, TooLarge: 413}[type(err)]
            metrics.observe(args.model, answering, "v1", code, 0, t0)
            return JSONResponse({"error": str(err)}, status_code=code)
        except Exception as err:  # a fault of the server, not of the request: logged whole
            log.exception("answering %s", request.url.path)
            metrics.observe(args.model, answering, "v1", 500, 0, t0)
            why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            return JSONResponse({"error": f"tfxd serve failed: {why} (see its log)"}, 500)
        if requests is not None:
            requests.offer(serialized, current.version, outputs)
        answer = {"predictions": rows_of(outputs, current.signature)}
        answer["model_version"] = str(current.version)
        metrics.observe(args.model, current.version, "v1", 200, len(serialized), t0)
        return JSONResponse(answer, headers={"x-model-version": str(current.version)})

    async def v1_state(request: Any) -> JSONResponse:
        name = request.path_params["name"]
        if name != args.model:
            return JSONResponse({"error": f"no model {name!r} here"}, status_code=404)
        version = follower.answering
        state = "AVAILABLE" if version is not None else "LOADING"
        return JSONResponse(
            {"model_version_status": [{"version": str(version or ""), "state": state}]}
        )

    app.add_middleware(LimitBody, limit=args.max_body_bytes)

    # Plain Starlette routes (the request passed as it is), added before KServe adds its own at
    # start, so these answer the V1 paths.
    app.router.add_route("/v1/models/{name}:predict", v1, methods=["POST"])
    app.router.add_route("/v1/models/{name}/versions/{version}:predict", v1, methods=["POST"])
    app.router.add_route("/v1/models/{name}", v1_state, methods=["GET"])
    return Served(), follower, requests


async def _predict(current: Loaded, serialized: list[bytes]) -> dict[str, Any]:
    """Batches up to 256 rows on the event loop: on 2 cores a thread hop cost more than it
    gained (bench/serving.py); larger ones on a worker thread, so requests are parsed meanwhile."""
    if len(serialized) <= 256:
        return current.predict(serialized)
    return await asyncio.get_running_loop().run_in_executor(None, current.predict, serialized)


class LimitBody:
    """Refuses a body whose declared size is over the limit (413) before it is read. A plain
    ASGI middleware: Starlette's decorator form costs ~0.3 ms a request."""

    def __init__(self, app: Any, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            declared = dict(scope.get("headers") or []).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.limit:
                from fastapi.responses import JSONResponse

                answer = JSONResponse({"error": too_large(int(declared), self.limit)}, 413)
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _answering(follower: Follower) -> Loaded:
    current = follower.current
    if current is None:
        from kserve.errors import ModelNotReady

        raise ModelNotReady(follower.dest.model, "no version loaded yet")
    return current


def serve(args: argparse.Namespace) -> int:
    import kserve
    from kserve.model_server import args as kserve_args
    from kserve.protocol.grpc.server import GRPCServer

    model, follower, requests = build(args)
    if not model.load():
        why = "; ".join(f"version {v}: {r}" for v, r in follower.refused.items())
        pinned = follower.pinned()
        print(
            f"error: nothing to serve for {args.model!r}: "
            + (why or f"the serving pointer in {args.folder} names no version ({pinned})"),
            file=sys.stderr,
        )
        return 3

    class Local(GRPCServer):
        """KServe's gRPC server bound to the requested host, not every interface."""

        async def start(self, max_workers: int) -> None:
            from concurrent import futures

            from grpc import aio
            from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
            from kserve.protocol.grpc.interceptors import (
                ExceptionToStatusInterceptor,
                LoggingInterceptor,
            )
            from kserve.protocol.grpc.servicer import InferenceServicer

            servicer = InferenceServicer(self._data_plane, self._model_repository_extension)
            self._server = aio.server(
                futures.ThreadPoolExecutor(max_workers=max_workers),
                interceptors=(LoggingInterceptor(), ExceptionToStatusInterceptor()),
            )
            grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
                servicer, self._server
            )
            self._server.add_insecure_port(f"{args.host}:{args.grpc_port}")
            await self._server.start()
            await self._server.wait_for_termination()

    class Server(kserve.ModelServer):
        def setup_event_loop(self) -> None:  # after the servers exist, before they start
            super().setup_event_loop()
            # KServe logs two trace lines and uvicorn an access line per request (KServe's
            # logging setup has run by now): at these rates they cost more than a small model.
            for name in ("kserve.trace", "uvicorn.access"):
                logging.getLogger(name).setLevel(logging.WARNING)
            self._rest_server.config.host = args.host
            if args.grpc_port:
                self._grpc_server = Local(
                    args.grpc_port,
                    self.dataplane,
                    self.model_repository_extension,
                    kwargs=vars(kserve_args),
                    grace_period=2,
                )
                self.servers.append(self._grpc_server.start(self.max_threads))

        def stop(self, sig: int) -> None:
            if self._rest_server is not None:
                self._rest_server._server.should_exit = True
            super().stop(sig)

    follower.start()
    if requests is not None:
        requests.start()
    try:
        Server(http_port=args.port, enable_grpc=False, grace_period=2).start([model])
    finally:
        follower.stop()
        if requests is not None:
            requests.stop()  # the open span is closed whole
        status.remove(Path(args.folder), args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sys.argv = sys.argv[:1]  # KServe parses the command line when imported
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s tfxd.serve %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
