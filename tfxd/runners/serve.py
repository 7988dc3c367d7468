"""``tfxd serve``: start the model server (``tfxd.serving.server``) in the serving environment for
the pusher destination of a checked pipeline. The server follows that destination's pointer."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tfxd
from tfxd.errors import TfxdError
from tfxd.infra.versions import Destination
from tfxd.mlmd.models import destinations

SOURCE = Path(tfxd.__file__).resolve().parent.parent  # what PYTHONPATH needs to import tfxd


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    grpc_port: int = 8081
    max_rows: int = 1024
    max_body_bytes: int = 16 * 1024 * 1024
    node: str | None = None
    log: Any = None  # the pipeline file's spec.serving.log, its path resolved


def serving_python() -> Path:
    """The serving environment's interpreter: ``$TFXD_SERVING_PYTHON`` or ``.venv-serve`` beside
    the tfxd source."""
    configured = os.environ.get("TFXD_SERVING_PYTHON")
    python = Path(configured) if configured else SOURCE / ".venv-serve" / "bin" / "python"
    if not python.is_file():
        raise TfxdError(
            f"the serving environment is not installed ({python} is missing): run "
            "bash scripts/serving-env.sh (scripts/setup.sh runs it), or set TFXD_SERVING_PYTHON "
            "to a Python with kserve==0.15.2 and tensorflow==2.16.2"
        )
    return python


def destination(pipe: Any, node: str | None) -> Destination:
    found = destinations(pipe)
    if node is not None:
        for dest in found:
            if dest.node == node:
                return dest
        raise TfxdError(
            f"{pipe.loaded.path}: no pusher node {node!r} (pushers: "
            f"{', '.join(d.node for d in found)}): pass --node with one of them"
        )
    if len(found) > 1:
        raise TfxdError(
            f"{pipe.loaded.path}: several pushers ({', '.join(d.node for d in found)}): "
            "pass --node to name the one to serve"
        )
    return found[0]


def command(dest: Destination, options: ServeOptions) -> list[str]:
    return [
        str(serving_python()),
        "-m",
        "tfxd.serving.server",
        "--model-dir", str(dest.model_dir),
        "--folder", str(dest.folder),
        "--model", dest.model,
        "--node", dest.node,
        "--host", options.host,
        "--port", str(options.port),
        "--grpc-port", str(options.grpc_port),
        "--max-rows", str(options.max_rows),
        "--max-body-bytes", str(options.max_body_bytes),
    ] + ([
        "--log-dir", str(options.log.path), "--log-sample", str(options.log.sample),
        "--log-span-rows", str(options.log.span_rows),
        "--log-span-seconds", str(options.log.span_seconds),
    ] if options.log is not None else [])  # fmt: skip


def exec_server(pipe: Any, options: ServeOptions, verbose: bool) -> None:
    """Replace this process with the server (signals reach it directly)."""
    from tfxd.serving.log_store import open_log

    dest = destination(pipe, options.node)
    if options.log is not None:
        open_log(options.log.path).spans()  # an unreachable log is an error now, not at a span
    argv = command(dest, options)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SOURCE), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "2")
    print(
        f"serving {dest.model!r} from {dest.model_dir} on http://{options.host}:{options.port} "
        + (f"and grpc {options.host}:{options.grpc_port}" if options.grpc_port else "(no gRPC)"),
        file=sys.stderr,
        flush=True,
    )
    os.execve(argv[0], argv, env)


def serve_pipeline(args: Any) -> None:
    """``tfxd serve``: its pipeline (a file, or a name with ``-f``), then the server."""
    from tfxd.file import load
    from tfxd.mlmd.views import find_pipeline_file
    from tfxd.pipelines.pipeline import check

    named = args.file is None and Path(args.pipeline).suffix in (".yaml", ".yml")
    loaded = load(args.pipeline) if named else find_pipeline_file(args.pipeline, args.file)
    pipe = check(loaded, {})
    options = ServeOptions(
        host=args.host,
        port=args.port,
        grpc_port=args.grpc_port,
        max_rows=args.max_rows,
        max_body_bytes=args.max_body_bytes,
        node=args.node,
        log=serving_log(pipe),
    )
    exec_server(pipe, options, args.verbose)


def serving_log(pipe: Any) -> Any:
    """The pipeline's ``spec.serving.log`` with its path resolved, or None."""
    settings = pipe.file.body.serving.log
    if settings is None:
        return None
    from tfxd.mlmd.serving_skew import log_location

    return settings.model_copy(update={"path": log_location(pipe)})
