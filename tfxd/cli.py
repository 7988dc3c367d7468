"""The ``tfxd`` command."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from typing import Any

from tfxd.cli_parser import parser
from tfxd.errors import PipelineFileError, TfxdError


class _Console:
    """rich's Console, imported on first use (``tfxd validate`` prints plain text)."""

    def __init__(self, **options: Any):
        self._options, self._console = options, None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


console: Any = _Console(highlight=False)


def _params(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq:
            raise TfxdError(f"--param {item}: write it as NAME=VALUE")
        out[name.strip()] = value
    return out


def cmd_validate(args: argparse.Namespace) -> int:
    from tfxd.pipelines.pipeline import validate_file

    pipe = validate_file(args.file, _params(args.param))
    print(
        f"ok {args.file}: pipeline '{pipe.name}', {len(pipe.nodes)} nodes: "
        + " → ".join(pipe.order)
    )
    return 0


def cmd_example(args: argparse.Namespace) -> int:
    from tfxd import examples

    spans = [int(s) for s in args.spans.split(",")] if args.spans else None
    if args.rows is not None:
        where, how = Path(args.pipelines), (args.by, args.format)
        console.print(examples.grow_example(args.name, where, args.rows, *how, spans))
    elif args.to:
        written = examples.upload_example_data(args.name, args.to, spans)
        console.print(f"uploaded {len(written)} object(s) under {args.to}")
    elif args.publish:
        count = examples.publish_example_data(args.name, args.publish)
        console.print(f"published {count} message(s) to {args.publish}")
    else:
        folder = examples.write_example_data(args.name, Path(args.pipelines), spans, args.by)
        console.print(f"wrote example data to {folder}")
    return 0


def cmd_reference(args: argparse.Namespace) -> int:
    from tfxd.components.reference import render

    path = Path(args.output)
    text = render(path.read_text(encoding="utf-8") if path.exists() else "")
    path.write_text(text, encoding="utf-8")
    console.print(f"wrote {args.output}")
    return 0


def cmd_json_schema(args: argparse.Namespace) -> int:
    from tfxd.components.catalogue import registry
    from tfxd.file.json_schema import render_schema

    text = render_schema({name: t.params for name, t in registry().items()})
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        console.print(f"wrote {args.output}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from ml_metadata import metadata_store

    from tfxd.mlmd import accepted_schema
    from tfxd.mlmd.store import connection_config
    from tfxd.mlmd.views import find_pipeline_file
    from tfxd.pipelines.pipeline import check

    loaded = find_pipeline_file(args.pipeline, args.file)
    pipe = check(loaded, {})
    if args.action == "show":
        for line in accepted_schema.show(pipe, pipe.root):
            console.print(line, markup=False)
        return 0
    if args.span is None:
        raise TfxdError("tfxd schema accept: which span's schema? add --span N")
    store = metadata_store.MetadataStore(connection_config(loaded, readonly=False))
    node, was, now = accepted_schema.accept(
        pipe, store, pipe.root, args.span, args.node, args.reason
    )
    console.print(
        f"{node}: the accepted schema is now {now} (was {was}); recorded in ML Metadata. "
        f"Run span {args.span} again: tfxd run {loaded.path} --span {args.span}",
        markup=False,
    )
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners import launch

    pipe = validate_file(args.file, _params(args.param))
    store = launch.open_history(pipe)
    prepared = launch.prepare(pipe, "local", store, span=args.span)
    predicted, span = prepared.predict(store), prepared.span
    for line in predicted.lines(shutil.get_terminal_size().columns):
        print(line)
    runs = sum(n.action != "cached" for n in predicted.nodes)
    print(
        f"{runs} to run, {len(predicted.nodes) - runs} cached"
        + (f" (span {span})" if span is not None else "")
    )
    return 0


def _jobs(jobs: int | None) -> int | None:
    if jobs is not None and jobs < 1:
        raise TfxdError(f"--jobs {jobs}: give a number of nodes, 1 or more")
    return jobs


def cmd_run(args: argparse.Namespace) -> int:
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.local import run_pipeline

    pipe = validate_file(args.file, _params(args.param))
    return 0 if run_pipeline(pipe, console=console, **_run_options(args)).ok else 1


def _run_options(args: argparse.Namespace) -> dict[str, Any]:
    """What `tfxd run` and `tfxd dev` give each local run."""
    return {
        "enable_cache": not args.no_cache,
        "from_nodes": args.from_node,
        "only_nodes": args.only,
        "span": args.span,
        "jobs": _jobs(args.jobs),
        "beam_args": args.beam_arg,
    }


def cmd_dev(args: argparse.Namespace) -> int:
    from tfxd.runners.dev import develop

    try:
        develop(args.file, _params(args.param), _run_options(args), console)
    except KeyboardInterrupt:
        return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from tfxd.pipelines.pipeline import validate_file

    pipe = validate_file(args.file, _params(args.param))
    if args.target == "kserve":
        from tfxd.runners.kserve import compile_kserve

        notes = compile_kserve(pipe, args)
    elif args.target in ("kubeflow", "vertex"):
        from tfxd.runners.kubeflow import compile_kubeflow

        notes = compile_kubeflow(
            pipe, args.output, image=args.image, pipeline_root=args.root, target=args.target
        )
    else:
        from tfxd.runners.airflow import compile_airflow

        notes = compile_airflow(pipe, args.output)
    for note in notes:
        console.print(f"[yellow]note[/] {note}")
    console.print(f"wrote {args.output} ({args.target})")
    return 0


def cmd_run_spec(args: argparse.Namespace) -> int:
    from tfxd.runners.spec_run import parse_mounts, run_spec

    result = run_spec(
        args.file,
        root=args.root,
        params=_params(args.param),
        mounts=parse_mounts(args.mount),
        run_id=args.run_id,
        console=console,
        cold=args.cold,
    )
    return 0 if result.ok else 1


def cmd_submit(args: argparse.Namespace) -> int:
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners import submit
    from tfxd.runners.kubeflow import compile_text

    recurring = None
    if args.cron or args.every:
        recurring = submit.schedule(args.cron, args.every)
    conn = submit.connection(args.host, token_env=args.token_env, kubeconfig=args.kubeconfig)
    pipe = validate_file(args.file)
    text, notes = compile_text(pipe, image=args.image, pipeline_root=args.root)
    for note in notes:
        console.print(f"[yellow]note[/] {note}")
    done = submit.submit(
        conn,
        text,
        name=pipe.name,
        description=pipe.file.metadata.description,
        experiment=args.experiment,
        run_name=args.run_name,
        params=_params(args.param),
        create_run=not args.no_run,
        recurring=recurring,
        max_concurrency=args.max_concurrency,
    )
    for line in submit.describe(done, pipe.name, args.host, recurring):
        console.print(line)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    options = {"wide": args.wide, "as_json_text": args.json}
    if args.host:
        from tfxd.runners import remote_runs, submit

        conn = submit.connection(args.host, token_env=args.token_env, kubeconfig=args.kubeconfig)
        remote_runs.print_remote_runs(conn, args.pipeline, args.limit, console, **options)
        return 0
    if args.compare is not None:
        from tfxd.mlmd.compare import compare_runs

        compare_runs(args.pipeline, args.compare, pipeline_file=args.file, console=console)
        return 0
    if args.metric is not None:
        from tfxd.mlmd.compare import plot_metric

        if not (args.png or args.html):
            raise TfxdError(f"--metric {args.metric}: give --png FILE or --html FILE (or both)")
        for path in plot_metric(
            args.pipeline,
            args.metric,
            pipeline_file=args.file,
            png=args.png,
            html=args.html,
            by_span=args.by == "span",
        ):
            console.print(f"wrote {path}")
        return 0
    from tfxd.mlmd.runs_table import print_runs

    print_runs(args.pipeline, pipeline_file=args.file, limit=args.limit, console=console, **options)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from tfxd.runners.reproduce import DEFAULT_TOLERANCE, reproduce

    done = reproduce(
        args.pipeline,
        args.run,
        pipeline_file=args.file,
        allow=args.allow,
        root=args.root,
        tolerance=DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance,
        console=console,
    )
    return 0 if done.ok else 1


def cmd_watch(args: argparse.Namespace) -> int:
    from tfxd.runners import watch

    if args.status:
        watch.status(args.file, console)
        return 0
    if args.release is not None:
        watch.release(args.file, args.release, console)
        return 0
    try:
        return watch.watch(
            args.file,
            once=args.once,
            interval=args.interval,
            console=console,
            jobs=_jobs(args.jobs),
        ).code
    except KeyboardInterrupt:
        return 0


def _checked(args: argparse.Namespace) -> Any:
    """The checked pipeline that ``args.pipeline`` (a name) and ``-f`` name."""
    from tfxd.mlmd.views import find_pipeline_file
    from tfxd.pipelines.pipeline import check

    return check(find_pipeline_file(args.pipeline, args.file), {})


def cmd_models(args: argparse.Namespace) -> int:
    from tfxd.mlmd.models import print_models

    print_models(_checked(args), console)
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from tfxd.mlmd.models import rollback
    from tfxd.mlmd.store import connection_config

    pipe = _checked(args)
    connection = connection_config(pipe.loaded, readonly=False)
    before, after = rollback(
        pipe, to=args.to, reason=args.reason, force=args.force, connection=connection
    )
    console.print(f"serving version {after} (was {before}); recorded in ML Metadata")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from tfxd.runners.serve import serve_pipeline

    serve_pipeline(args)  # the server replaces this process
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    from tfxd.mlmd.drift import print_drift
    from tfxd.mlmd.serving_skew import judge_and_say

    judged = judge_and_say(_checked(args), console) if args.serving else []
    options = {"pipeline_file": args.file, "png": args.png, "html_file": args.html}
    print_drift(args.pipeline, console=console, **options)
    return 6 if any(j.verdict.breaches for j in judged) else 0


def cmd_lineage(args: argparse.Namespace) -> int:
    from tfxd.mlmd.lineage import print_lineage

    # where the pusher serves: the checked pipeline says
    checked = _checked(args) if args.model == "serving" else None
    options = {"pipeline_file": args.file, "checked": checked, "wide": args.wide}
    print_lineage(args.pipeline, model=args.model, console=console, **options)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if not args.verbose:
        from tfxd.processes import quiet_libraries

        quiet_libraries()
    if not args.verbose and not getattr(args, "light", False):  # light: imports no TFX
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    handler = globals()["cmd_" + args.command.replace("-", "_")]
    try:
        return handler(args)
    except PipelineFileError as err:
        print(err, file=sys.stderr)
        return 2
    except TfxdError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
