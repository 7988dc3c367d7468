"""The ``tfxd`` command line: each command's arguments; ``tfxd.cli`` runs ``cmd_<command>``."""

from __future__ import annotations

import argparse

from tfxd.examples import TAXI_CUTS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tfxd", description="Declarative ML pipelines on TFX.")
    p.add_argument("-v", "--verbose", action="store_true", help="show TFX/Beam logs")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_params(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="override a pipeline parameter (repeatable)",
        )

    def with_jobs(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--jobs",
            type=int,
            metavar="N",
            help="run up to N independent nodes at once, in worker processes (default: one per "
            "two cores; 1: one after another in this process)",
        )

    def with_beam_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--beam-arg",
            action="append",
            default=[],
            metavar="ARG",
            help="a Beam pipeline arg for this run, after the file's (e.g. "
            "--beam-arg=--direct_running_mode=multi_processing); repeatable",
        )

    sp = sub.add_parser("validate", help="check a pipeline file and report every problem")
    sp.add_argument("file")
    with_params(sp)
    sp.set_defaults(light=True)

    sp = sub.add_parser(
        "plan", help="which nodes a run executes, which come from the cache, and why"
    )
    sp.add_argument("file")
    with_params(sp)
    sp.add_argument("--span", type=int, help="plan for this span instead of the newest")
    sp.set_defaults(light=True)

    sp = sub.add_parser("run", help="run a pipeline locally (Beam DirectRunner, MLMD)")
    sp.add_argument("file")
    with_params(sp)
    sp.add_argument("--no-cache", action="store_true", help="re-run every node")
    sp.add_argument(
        "--span",
        type=int,
        help="read this span ({SPAN} file patterns; days since 1970-01-01 for queries with "
        "@span_… placeholders) instead of the newest",
    )
    sp.add_argument(
        "--from",
        dest="from_node",
        action="append",
        default=[],
        metavar="NODE",
        help="run NODE and everything downstream of it, reusing earlier outputs",
    )
    sp.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NODE",
        help="run only NODE, reusing the latest outputs of its upstream nodes",
    )
    with_jobs(sp)
    with_beam_args(sp)

    sp = sub.add_parser(
        "dev",
        help="run locally, then again on every change to the pipeline file, its modules or its "
        "data (TensorFlow stays imported between runs)",
    )
    sp.add_argument("file")
    with_params(sp)
    sp.add_argument("--span", type=int, help="read this span instead of the newest")
    with_jobs(sp)
    with_beam_args(sp)
    sp.set_defaults(no_cache=False, from_node=[], only=[])

    sp = sub.add_parser(
        "compile", help="compile for Kubeflow Pipelines v2 or Airflow, or a KServe service"
    )
    sp.add_argument("file")
    sp.add_argument(
        "--target",
        choices=["kubeflow", "vertex", "airflow", "kserve"],
        required=True,
        help="kubeflow: a self-hosted KFP v2 backend; vertex: the same spec, checked against "
        "what Vertex AI Pipelines accepts; kserve: an InferenceService pinned to the serving "
        "version",
    )
    sp.add_argument("--storage-uri", help="kserve: where the model versions are on the cluster")
    sp.add_argument("--version", type=int, help="kserve: the version to pin (default: serving)")
    sp.add_argument("--canary", type=int, help="kserve: percent of traffic to this revision")
    sp.add_argument("--service-account", help="kserve: the service account holding credentials")
    sp.add_argument("--node", help="kserve: the pusher node (where there are several)")
    sp.add_argument("-o", "--output", required=True)
    sp.add_argument("--image", help="container image (default: runners.kubeflow.image)")
    sp.add_argument("--root", help="pipeline root (default: runners.kubeflow.pipeline_root)")
    with_params(sp)

    sp = sub.add_parser(
        "run-spec", help="execute a compiled Kubeflow spec on this machine, task by task"
    )
    sp.add_argument("file", help="a spec written by tfxd compile --target kubeflow")
    sp.add_argument("--root", help="local pipeline root (default: the spec's, if local)")
    sp.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="IMAGE_PATH=HOST_DIR",
        help="stand a host folder in for an image path, e.g. /tfxd=. (repeatable)",
    )
    sp.add_argument("--run-id", help="resume this run after its last finished task")
    sp.add_argument(
        "--cold",
        action="store_true",
        help="start each command in a fresh interpreter, as a container does (default: forked "
        "from one that imported TensorFlow once)",
    )
    with_params(sp)

    def with_server(sp: argparse.ArgumentParser, required: bool) -> None:
        sp.add_argument(
            "--host", required=required, help="KFP API server URL, e.g. http://localhost:8888"
        )
        sp.add_argument("--token-env", help="env var holding a bearer token (default KFP_TOKEN)")
        sp.add_argument("--kubeconfig", help="take the bearer token of this kubeconfig's user")

    sp = sub.add_parser("submit", help="upload to a Kubeflow Pipelines v2 server and start runs")
    sp.add_argument("file")
    with_server(sp, required=True)
    sp.add_argument("--experiment", help="experiment name (default: the pipeline name)")
    sp.add_argument("--run-name", help="run name (default: pipeline name and spec hash)")
    sp.add_argument("--no-run", action="store_true", help="only upload the pipeline")
    sp.add_argument("--cron", help="also create a recurring run on this cron schedule")
    sp.add_argument("--every", help="also create a recurring run every 30m, 6h, 1d, …")
    sp.add_argument("--max-concurrency", type=int, default=1, help="for recurring runs (1-10)")
    sp.add_argument("--image", help="container image (default: runners.kubeflow.image)")
    sp.add_argument("--root", help="pipeline root (default: runners.kubeflow.pipeline_root)")
    with_params(sp)

    sp = sub.add_parser("runs", help="list runs of a pipeline from ML Metadata (or a KFP server)")
    sp.add_argument("pipeline", help="pipeline name (metadata.name)")
    sp.add_argument("-f", "--file", help="its pipeline file (default: found under ./pipelines)")
    sp.add_argument("--limit", type=int, default=20, help="newest runs shown (default 20)")
    sp.add_argument("--wide", action="store_true", help="every column, however wide")
    sp.add_argument("--json", action="store_true", help="every run as JSON")
    sp.add_argument(
        "--compare",
        nargs="+",
        metavar="RUN",
        help="what differs from the first RUN to each other one (RUN: # in the table, an id or "
        "its beginning)",
    )
    sp.add_argument("--metric", help="plot this metric over the runs (with --png or --html)")
    sp.add_argument("--png", help="with --metric: write the plot here")
    sp.add_argument("--html", help="with --metric: write a page with the plot and values here")
    sp.add_argument("--by", choices=["time", "span"], default="time", help="--metric's x axis")
    with_server(sp, required=False)

    sp.set_defaults(light=True)  # reads ML Metadata without TFX

    sp = sub.add_parser(
        "reproduce", help="run a recorded run again from scratch and compare what came out"
    )
    sp.add_argument("pipeline", help="pipeline name (metadata.name)")
    sp.add_argument("run", help="the run: # in `tfxd runs`, its id or a unique beginning")
    sp.add_argument("-f", "--file", help="its pipeline file (default: found under ./pipelines)")
    sp.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="WHAT",
        help="differences from the record to accept: code, data, packages, or a file or package "
        "name (repeat or separate with commas)",
    )
    sp.add_argument("--root", help="where the reproduction runs (default: <root>/reproduce/…)")
    sp.add_argument(
        "--tolerance",
        type=float,
        help="largest absolute difference accepted in each metric (default 0.02)",
    )

    sp = sub.add_parser("lineage", help="trace a model back to its input files")
    sp.add_argument("pipeline")
    sp.add_argument(
        "--model",
        default="latest",
        help="'latest' (newest trained), 'serving' (what serves now) or an artifact id",
    )
    sp.add_argument("-f", "--file", help="its pipeline file (default: found under ./pipelines)")
    sp.add_argument("--wide", action="store_true", help="every path and digest whole")

    sp.set_defaults(light=True)  # reads ML Metadata without TFX

    sp = sub.add_parser("models", help="model versions, their metrics and TFLite sizes")
    sp.add_argument("pipeline")
    sp.add_argument("-f", "--file", help="its pipeline file (default: found under ./pipelines)")

    sp.set_defaults(light=True)  # reads ML Metadata without TFX

    sp = sub.add_parser("rollback", help="serve an earlier model version (recorded in MLMD)")
    sp.add_argument("pipeline")
    sp.add_argument("-f", "--file", help="its pipeline file (default: found under ./pipelines)")
    sp.add_argument("--to", type=int, help="version to serve (default: the one before)")
    sp.add_argument("--reason", default="", help="why, recorded with who and when")
    sp.add_argument("--force", action="store_true", help="serve even an unblessed version")

    sp.set_defaults(light=True)  # reads ML Metadata without TFX

    sp = sub.add_parser("watch", help="run the pipeline for every new span of its data")
    sp.add_argument("file")
    sp.add_argument("--once", action="store_true", help="check once and exit (for cron/Airflow)")
    sp.add_argument("--interval", type=float, default=300, help="seconds between checks")
    sp.add_argument("--status", action="store_true", help="each span's state; runs nothing")
    sp.add_argument("--release", type=int, metavar="SPAN", help="lift a span's quarantine")
    with_jobs(sp)

    sp = sub.add_parser("serve", help="answer predictions with the serving version, live")
    sp.add_argument("pipeline", help="its pipeline file, or its name with -f")
    sp.add_argument("-f", "--file", help="its pipeline file (default: found under ./pipelines)")
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sp.add_argument("--port", type=int, default=8080, help="REST port (V1 and V2)")
    sp.add_argument("--grpc-port", type=int, default=8081, help="V2 gRPC port; 0: none")
    sp.add_argument("--node", help="the pusher node to serve (where there are several)")
    sp.add_argument("--max-rows", type=int, default=1024, help="most rows in one request")
    sp.add_argument(
        "--max-body-bytes", type=int, default=16 * 1024 * 1024, help="largest request body"
    )
    sp.set_defaults(light=True)  # the server imports TensorFlow in its own environment

    sp = sub.add_parser("drift", help="drift scores per span and feature, from ML Metadata")
    sp.add_argument("pipeline")
    sp.add_argument("-f", "--file", help="its pipeline file (default: found under ./pipelines)")
    sp.add_argument("--png", help="also write a plot of scores over spans to this PNG file")
    sp.add_argument("--html", help="also write a report page (table and plot) to this file")
    sp.add_argument(
        "--serving",
        action="store_true",
        help="first judge new serving-log spans for training-serving skew (exit 6 on a breach)",
    )

    sp.set_defaults(light=True)  # reads ML Metadata without TFX

    sp = sub.add_parser("example", help="write an example pipeline's data")
    sp.add_argument("name", help="example name, e.g. penguin")
    sp.add_argument("--pipelines", default="pipelines", help="folder holding the examples")
    sp.add_argument("--spans", help="taxi: which spans to write, e.g. 1,2 (default: all)")
    sp.add_argument(
        "--by",
        default="week",
        choices=list(TAXI_CUTS),
        help="taxi: how spans are cut; " + "; ".join(f"{k}: {v}" for k, v in TAXI_CUTS.items()),
    )
    sp.add_argument(
        "--format", default="csv", choices=["csv", "parquet"], help="taxi --rows: the files' format"
    )
    where = sp.add_mutually_exclusive_group()
    where.add_argument(
        "--rows",
        type=int,
        help="taxi: grow the sample to this many rows, resampled with a fixed seed (e.g. 1000000)",
    )
    where.add_argument("--to", metavar="S3_PREFIX", help="upload under s3://bucket/prefix instead")
    where.add_argument(
        "--publish", metavar="TOPIC", help="publish rows as JSON to projects/P/topics/T instead"
    )

    sp = sub.add_parser(
        "schema", help="the schema spans are checked against: show it, or accept a span's"
    )
    sp.add_argument("action", choices=["show", "accept"])
    sp.add_argument("pipeline")
    sp.add_argument("-f", "--file", help="its pipeline file (default: found under ./pipelines)")
    sp.add_argument("--span", type=int, help="accept: the span whose schema becomes accepted")
    sp.add_argument("--node", help="the gate, where a pipeline has several")
    sp.add_argument("--reason", default="", help="accept: why, recorded with who and when")

    sp = sub.add_parser("json-schema", help="print or write the pipeline file's JSON Schema")
    sp.add_argument("-o", "--output", default="-")
    sp.set_defaults(light=True)

    sp = sub.add_parser(
        "reference", help="write the component types' reference into a Markdown file"
    )
    sp.add_argument("-o", "--output", default="docs/reference.md")
    sp.set_defaults(light=True)
    return p
