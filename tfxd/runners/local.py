"""``tfxd run``: the pipeline in this process, node by node, on Beam's DirectRunner with MLMD.

The loop is TFX's own portable ``Launcher`` over the compiled IR (as in ``LocalDagRunner``), plus
what a developer needs: progress per node, cached/done/failed status, partial runs, a lock so two
runs of one pipeline root never interleave, and repair of executions a killed run left RUNNING.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import traceback
from collections.abc import Collection, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from tfxd.components.registry import Target
from tfxd.errors import TfxdError
from tfxd.infra.fingerprints import one_run
from tfxd.pipelines.builder import build
from tfxd.pipelines.code import importable
from tfxd.pipelines.pipeline import Pipeline, validate_file
from tfxd.pipelines.staged import python_path
from tfxd.runners import launch
from tfxd.runners.failure import failed_step
from tfxd.runners.locks import pipeline_lock
from tfxd.runners.progress import (
    RunOutcome,
    StepResult,
    captured_output,
    report,
    summary,
    terminal_console,
)
from tfxd.runners.recording import output_notes
from tfxd.runners.workers import (
    Finished,
    Workers,
    default_jobs,
    preload_executors,
    serialized_metadata,
)


@dataclass
class RunResult(RunOutcome):
    repaired: int = 0  # executions a killed run left RUNNING, marked failed before this one


def compile_ir(
    pipe: Pipeline,
    target: Target,
    run_id: str,
    *,
    enable_cache: bool = True,
    span: int | None = None,
    beam_args: Sequence[str] = (),
    node_beam_args: Mapping[str, Sequence[str]] | None = None,
    beam_elsewhere: Collection[str] = (),
) -> Any:
    """The pipeline's TFX IR with ``run_id`` substituted, ready for the portable launcher;
    ``beam_args`` after the pipeline's own, ``node_beam_args`` after those, per node;
    ``beam_elsewhere``: the nodes whose Beam work runs in other processes."""
    from tfx.dsl.compiler import compiler, constants
    from tfx.orchestration.portable import runtime_parameter_utils

    importable(pipe.module_folders())
    built = build(
        pipe,
        target,
        enable_cache=enable_cache,
        span=span,
        beam_args=beam_args,
        node_beam_args=node_beam_args,
        beam_elsewhere=beam_elsewhere,
    )
    ir = compiler.Compiler().compile(built.pipeline)
    launch.cache_off(ir, built.always_run)
    runtime_parameter_utils.substitute_runtime_parameter(
        ir, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id}
    )
    return ir


def mlmd_connection(ir: Any) -> tuple[Any, Any]:
    """The IR's local deployment config and the MLMD connection config it declares."""
    from tfx.orchestration.local import runner_utils

    deployment = runner_utils.extract_local_deployment_config(ir)
    config = deployment.metadata_connection_config
    return deployment, getattr(config, config.WhichOneof("connection_config"))


def launch_node(ir: Any, deployment: Any, connection: Any, node_id: str) -> Any:
    """Run one node of ``ir`` with TFX's portable launcher (resolve inputs from MLMD, cache
    check, executor, publish); returns the launcher's execution info."""
    from tfx.orchestration.local import runner_utils
    from tfx.orchestration.portable import launcher

    [pnode] = [n.pipeline_node for n in ir.nodes if n.pipeline_node.node_info.id == node_id]
    return launcher.Launcher(
        pipeline_node=pnode,
        mlmd_connection=serialized_metadata(connection),
        pipeline_info=ir.pipeline_info,
        pipeline_runtime_spec=ir.runtime_spec,
        executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
        custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id),
    ).launch()


def run_file(
    path: str | Path, *, overrides: dict[str, str] | None = None, **options: Any
) -> RunResult:
    """Validate ``path`` and run it; ``options`` are those of ``run_pipeline``."""
    return run_pipeline(validate_file(path, overrides or {}), **options)


def check_nodes(pipe: Pipeline, names: list[str], flag: str) -> None:
    from tfxd.file import did_you_mean

    for name in names:
        if name not in pipe.nodes:
            hint = did_you_mean(name, pipe.nodes)
            raise TfxdError(
                f"{flag} {name}: no such node in {pipe.loaded.path}"
                f" ({hint or 'nodes: ' + ', '.join(pipe.order)})"
            )


def run_pipeline(
    pipe: Pipeline,
    *,
    span: int | None = None,
    enable_cache: bool = True,
    from_nodes: list[str] | None = None,
    only_nodes: list[str] | None = None,
    console: Console | None = None,
    beam_args: Sequence[str] = (),
    **options: Any,
) -> RunResult:
    """One local run of ``pipe`` (``tfxd run``, each ``tfxd dev`` pass, a span of ``tfxd watch``,
    ``tfxd reproduce``), by the run protocol (``launch``): prepared once (span, plan keys), then
    recorded from the cache without TFX when every node is cached, else launched. ``options``:
    those of :func:`launch_prepared`. A failed node ends the run."""
    console = console or Console()
    from_nodes, only_nodes = from_nodes or [], only_nodes or []
    check_nodes(pipe, from_nodes, "--from")
    check_nodes(pipe, only_nodes, "--only")
    if from_nodes and only_nodes:
        raise TfxdError("use either --from or --only, not both")
    span = launch.pin_span(pipe, span)
    store = launch.open_history(pipe, writable=True)  # a MySQL server down: said now
    skipped = launch.partial_skips(pipe, from_nodes, only_nodes)
    prepared = launch.prepare(
        pipe, "local", store, span=span, pinned=True, skipped=skipped, beam_args=beam_args
    )
    if store is not None and enable_cache and not skipped:
        cached = launch.cached_run(store, prepared, console)
        if cached is not None:
            return RunResult(cached.pipeline, cached.run_id, cached.steps)
    del store  # the launch opens its own, serialized connections
    return launch_prepared(
        prepared,
        enable_cache=enable_cache,
        from_nodes=from_nodes,
        only_nodes=only_nodes,
        console=console,
        **options,
    )


def launch_prepared(
    prepared: launch.Prepared,
    *,
    enable_cache: bool = True,
    from_nodes: list[str] | None = None,
    only_nodes: list[str] | None = None,
    console: Console | None = None,
    capture_logs: bool = True,
    jobs: int | None = None,
    seeds: dict[str, int] | None = None,
    reproduces: str = "",
) -> RunResult:
    """Launch the nodes of a prepared run with TFX's portable launcher; up to ``jobs`` at once
    (default: ``default_jobs()``; 1 runs them one after another in this process; see
    ``workers``). ``seeds`` and ``reproduces``: what ``tfxd reproduce`` gives the run it makes.

    With ``capture_logs`` each node's output (TF, Beam, the user's module) goes to
    ``<root>/.logs/<run id>/<node>.log`` and the terminal shows only progress."""
    from tfx.orchestration.portable import partial_run_utils

    pipe, span = prepared.pipe, prepared.span
    console = console or Console()
    run_id = dt.datetime.now().isoformat(timespec="microseconds")
    beam = prepared.beam
    ir = compile_ir(
        pipe,
        "local",
        run_id,
        enable_cache=enable_cache,
        span=span,
        beam_args=beam.extra,
        node_beam_args={node: beam.args for node in beam.nodes},
        beam_elsewhere=beam.elsewhere(pipe),
    )
    if from_nodes or only_nodes:
        partial_run_utils.mark_pipeline(
            ir, from_nodes=from_nodes or only_nodes, to_nodes=only_nodes or None
        )
        marked = [n.pipeline_node.node_info.id for n in ir.nodes]
        skipped = [n for n in marked if _skipped(ir, n)]
        if sorted(skipped) != sorted(prepared.skipped):
            raise TfxdError(  # launch.partial_skips must say what TFX marks
                f"internal: TFX skips {sorted(skipped)}, the plan {sorted(prepared.skipped)}"
            )
    deployment, connection = mlmd_connection(ir)
    result = RunResult(pipeline=pipe.name, run_id=run_id)
    root = ir.runtime_spec.pipeline_root.field_value.string_value
    log_dir = Path(root) / ".logs" / run_id.replace(":", "-")
    if capture_logs:
        console = terminal_console(console)
    streams = [n for n in pipe.order if pipe.nodes[n].type.spans.read == "stream"]
    if streams and (jobs or 1) > 1:
        console.print(
            f"[yellow]note[/] --jobs {jobs}: '{streams[0]}' drains a stream, whose client threads "
            "do not survive the fork of a worker: this run's nodes run one at a time"
        )
    jobs = 1 if streams else jobs or default_jobs()
    with pipeline_lock(root, pipe.name):
        result.repaired = launch.repair_abandoned(connection, pipe.name, run_id, root=root)
        if result.repaired:
            console.print(
                f"[yellow]repaired[/] {result.repaired} execution(s) left running by an "
                "interrupted run (marked FAILED, partial outputs removed)"
            )
        with serialized_metadata(connection) as handle:
            if enable_cache:
                launch.cache_off(ir, launch.changed_nodes(handle.store, prepared))
            launch.start(handle.store, prepared, run_id, root, seeds, reproduces)
        console.print(f"[bold]{pipe.name}[/] run {run_id}  (root {root})")
        console.print(f"  beam: {beam.describe()}", highlight=False)
        if beam.out_of_process:  # an external worker pool must import what the nodes pickle
            path = os.pathsep.join(python_path(pipe, root))
            console.print(f"  beam workers' PYTHONPATH: {path}", highlight=False, soft_wrap=True)
        run = _Run(ir, deployment, connection, prepared, console, result, log_dir, capture_logs)
        if jobs > 1:
            preload_executors(ir, deployment)
        with one_run(prepared.digests):  # the drivers hash no input file the keys hashed
            run.schedule(jobs)
    summary(console, result)
    return result


def _skipped(ir: Any, node_id: str) -> bool:
    [node] = [n for n in ir.nodes if n.pipeline_node.node_info.id == node_id]
    return node.pipeline_node.execution_options.HasField("skip")


class _Run:
    """One run's nodes: started as their upstream nodes succeed, at most ``jobs`` at a time (in
    this process when 1, else in forked workers); a failure starts nothing new, lets the running
    nodes finish, and leaves the rest not run."""

    def __init__(
        self,
        ir: Any,
        deployment: Any,
        connection: Any,
        prepared: launch.Prepared,
        console: Console,
        result: RunResult,
        log_dir: Path,
        capture_logs: bool,
    ):
        self.ir, self.deployment, self.connection = ir, deployment, connection
        self.prepared, self.console, self.result = prepared, console, result
        self.log_dir, self.capture_logs = log_dir, capture_logs
        self.started: dict[str, float] = {}

    def schedule(self, jobs: int) -> None:
        nodes = {n.pipeline_node.node_info.id: n.pipeline_node for n in self.ir.nodes}
        pending = list(nodes)
        succeeded: set[str] = set()
        failed = False
        workers = Workers()
        with self.console.status("") as status:
            try:
                while pending or len(workers):
                    for node_id in [] if failed else list(pending):
                        pnode = nodes[node_id]
                        if len(workers) >= jobs or not set(pnode.upstream_nodes) <= succeeded:
                            continue
                        pending.remove(node_id)
                        if pnode.execution_options.HasField("skip"):
                            step = StepResult(node_id, "skipped")
                            report(self.console, self.result, step, "(reusing earlier outputs)")
                            succeeded.add(node_id)
                            continue
                        self._snapshot(pnode)
                        self.started[node_id] = time.monotonic()
                        if jobs == 1:
                            status.update(f"{node_id} running…")
                            finished = self._inline(node_id)
                            failed |= not self._finish(finished, succeeded)
                            break  # look again: what this node's end made ready
                        workers.start(node_id, self._log(node_id), self._worker_task(node_id))
                    else:
                        if not len(workers):
                            break  # nothing runs and nothing can start
                        status.update(f"{', '.join(workers.nodes)} running…")
                        failed |= not self._finish(workers.wait(), succeeded)
            finally:
                workers.stop()
        for node_id in pending:
            report(self.console, self.result, StepResult(node_id, "not run"))

    def _log(self, node_id: str) -> Path:
        return self.log_dir / f"{node_id}.log"

    def _snapshot(self, pnode: Any) -> None:
        from tfx.orchestration.portable import partial_run_utils

        if pnode.execution_options.run.perform_snapshot:
            with serialized_metadata(self.connection) as handle:
                partial_run_utils.snapshot(handle, self.ir)

    def _launch(self, node_id: str) -> int | None:
        info = launch_node(self.ir, self.deployment, self.connection, node_id)
        return None if info is None else info.execution_id

    def _inline(self, node_id: str) -> Finished:
        try:
            with captured_output(self._log(node_id)) if self.capture_logs else nullcontext():
                return Finished(node_id, self._launch(node_id))
        except Exception as err:  # any executor error ends the run
            text = "".join(traceback.format_exception_only(type(err), err))
            return Finished(node_id, error=text)

    def _worker_task(self, node_id: str) -> Any:
        return lambda: self._launch(node_id)

    def _finish(self, finished: Finished, succeeded: set[str]) -> bool:
        """Report a node that ended; whether it succeeded."""
        from ml_metadata.proto import metadata_store_pb2 as mlmd

        node_id = finished.node
        seconds = time.monotonic() - self.started[node_id]
        if finished.error:
            log = str(self._log(node_id)) if self.capture_logs else ""
            line, retry = failed_step(finished.error.strip(), node_id, log)
            step = StepResult(node_id, "failed", seconds, line, retry)
            report(self.console, self.result, step, escape(step.error))
            if log:
                self.console.print(f"     log: {log}", markup=False)
            return False
        status, notes = "done", []
        if finished.execution_id is None:
            status = "skipped"
        else:
            with serialized_metadata(self.connection) as handle:
                notes = output_notes(handle.store, finished.execution_id)
                execution = launch.finish_node(
                    handle.store, self.prepared, node_id, finished.execution_id
                )
            if execution.last_known_state == mlmd.Execution.CACHED:
                status = "cached"
        report(self.console, self.result, StepResult(node_id, status, seconds))
        for note in notes if status == "done" else []:
            self.console.print(f"     [yellow]{escape(note)}[/]")
        succeeded.add(node_id)
        return True
