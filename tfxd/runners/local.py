"""``tfxd run``: the pipeline in this process, node by node, on Beam's DirectRunner with MLMD.

The loop is TFX's own portable ``Launcher`` over the compiled IR (as in ``LocalDagRunner``), plus
what a developer needs: progress per node, cached/done/failed status, partial runs, a lock so two
runs of one pipeline root never interleave, and repair of executions a killed run left RUNNING.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from tfxd.components.registry import Target
from tfxd.errors import TfxdError
from tfxd.pipelines.builder import build
from tfxd.pipelines.code import importable
from tfxd.pipelines.pipeline import Pipeline, validate_file
from tfxd.runners.failure import failed_step
from tfxd.runners.locks import pipeline_lock
from tfxd.runners.plan import must_run, node_keys, reused_keys, write_key
from tfxd.runners.progress import (
    RunOutcome,
    StepResult,
    captured_output,
    report,
    summary,
    terminal_console,
)
from tfxd.runners.record import annotate, output_notes, start_record
from tfxd.runners.workers import (
    Finished,
    Workers,
    default_jobs,
    preload_executors,
    serialized_metadata,
)

ABANDONED = "tfxd_abandoned"


@dataclass
class RunResult(RunOutcome):
    repaired: int = 0  # executions a killed run left RUNNING, marked failed before this one


def repair_abandoned(
    connection_config: Any,
    pipeline_name: str,
    run_id: str,
    *,
    node_id: str | None = None,
    in_run: str | None = None,
) -> int:
    """Mark executions left RUNNING by a killed process as FAILED; returns how many.

    The caller must know nothing else runs them: the local runner holds the pipeline lock (all
    of the pipeline's executions), an Airflow task attempt owns its node in its DAG run
    (``node_id`` and ``in_run``)."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    store = metadata_store.MetadataStore(connection_config)
    scope = [("pipeline", pipeline_name)]
    if node_id is not None:
        scope.append(("node", f"{pipeline_name}.{node_id}"))
    if in_run is not None:
        scope.append(("pipeline_run", in_run))
    ids: set[int] | None = None
    for kind, name in scope:
        context = store.get_context_by_type_and_name(kind, name)
        if context is None:
            return 0
        found = {e.id for e in store.get_executions_by_context(context.id)}
        ids = found if ids is None else ids & found
    stale = [
        e
        for e in store.get_executions_by_id(sorted(ids or []))
        if e.last_known_state in (mlmd.Execution.RUNNING, mlmd.Execution.NEW)
    ]
    for execution in stale:
        execution.last_known_state = mlmd.Execution.FAILED
        execution.custom_properties[
            ABANDONED
        ].string_value = f"process ended before the execution finished; repaired by run {run_id}"
    if stale:
        store.put_executions(stale)
    return len(stale)


def compile_ir(
    pipe: Pipeline,
    target: Target,
    run_id: str,
    *,
    enable_cache: bool = True,
    span: int | None = None,
) -> Any:
    """The pipeline's TFX IR with ``run_id`` substituted, ready for the portable launcher."""
    from tfx.dsl.compiler import compiler, constants
    from tfx.orchestration.portable import runtime_parameter_utils

    importable(pipe)
    built = build(pipe, target, enable_cache=enable_cache, span=span)
    ir = compiler.Compiler().compile(built.pipeline)
    for node in ir.nodes:
        if node.pipeline_node.node_info.id in built.always_run:
            node.pipeline_node.execution_options.caching_options.enable_cache = False
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


def _check_nodes(pipe: Pipeline, names: list[str], flag: str) -> None:
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
    enable_cache: bool = True,
    from_nodes: list[str] | None = None,
    only_nodes: list[str] | None = None,
    console: Console | None = None,
    capture_logs: bool = True,
    span: int | None = None,
    jobs: int | None = None,
    seeds: dict[str, int] | None = None,
    reproduces: str = "",
) -> RunResult:
    """Run ``pipe`` locally; returns per-node results (a failed node ends the run). Up to
    ``jobs`` nodes run at once (default: ``default_jobs()``; 1 runs them one after another in
    this process; see ``workers``).
    ``seeds`` and ``reproduces``: what ``tfxd reproduce`` gives the run it makes.

    With ``capture_logs`` each node's output (TF, Beam, the user's module) goes to
    ``<root>/.logs/<run id>/<node>.log`` and the terminal shows only progress."""
    from tfx.orchestration.portable import partial_run_utils

    console = console or Console()
    from_nodes, only_nodes = from_nodes or [], only_nodes or []
    _check_nodes(pipe, from_nodes, "--from")
    _check_nodes(pipe, only_nodes, "--only")
    if from_nodes and only_nodes:
        raise TfxdError("use either --from or --only, not both")

    from tfxd.pipelines.spans import newest_file_span, pinnable

    if span is not None:
        pinnable(pipe)  # --span needs spans to pin
    else:  # the newest span, pinned as --span pins it: the same run as `tfxd watch` makes of it
        span = newest_file_span(pipe)
    if pipe.file.body.metadata.mysql is not None:  # down, or refusing the login: say so now
        from tfxd.mlmd.store import open_store

        open_store(pipe.loaded, readonly=False)
    run_id = dt.datetime.now().isoformat(timespec="microseconds")
    ir = compile_ir(pipe, "local", run_id, enable_cache=enable_cache, span=span)
    if from_nodes or only_nodes:
        partial_run_utils.mark_pipeline(
            ir,
            from_nodes=from_nodes or only_nodes,
            to_nodes=only_nodes or None,
        )
    deployment, connection = mlmd_connection(ir)
    # What `tfxd plan` compares, recorded on each execution; a skipped node hands over its
    # latest outputs, so its key is the one recorded with them.
    skipped = [
        n.pipeline_node.node_info.id
        for n in ir.nodes
        if n.pipeline_node.execution_options.HasField("skip")
    ]
    reused = {}
    if skipped:
        with serialized_metadata(connection) as handle:
            reused = reused_keys(handle.store, pipe.name, skipped)
    keys = node_keys(pipe, span, reused)
    if enable_cache:  # TFX's key misses what a module imports: run what the plan says changed
        with serialized_metadata(connection) as handle:
            changed = must_run(handle.store, pipe.name, keys)
        for node in ir.nodes:
            if node.pipeline_node.node_info.id in changed:
                node.pipeline_node.execution_options.caching_options.enable_cache = False
    result = RunResult(pipeline=pipe.name, run_id=run_id)
    root = ir.runtime_spec.pipeline_root.field_value.string_value
    log_dir = Path(root) / ".logs" / run_id.replace(":", "-")
    if capture_logs:
        console = terminal_console(console)
    streams = [n for n in pipe.order if pipe.nodes[n].type.spans == "stream"]
    if streams and (jobs or 1) > 1:
        console.print(
            f"[yellow]note[/] --jobs {jobs}: '{streams[0]}' drains a stream, whose client threads "
            "do not survive the fork of a worker: this run's nodes run one at a time"
        )
    jobs = 1 if streams else jobs or default_jobs()
    with pipeline_lock(root, pipe.name):
        result.repaired = repair_abandoned(connection, pipe.name, run_id)
        if result.repaired:
            console.print(
                f"[yellow]repaired[/] {result.repaired} execution(s) left running by an "
                "interrupted run (marked FAILED)"
            )
        with serialized_metadata(connection) as handle:
            start_record(handle.store, pipe, run_id, span, "local", keys, root, seeds, reproduces)
        console.print(f"[bold]{pipe.name}[/] run {run_id}  (root {root})")
        run = _Run(ir, deployment, connection, keys, console, result, log_dir, capture_logs)
        run.evaluations = {n: pipe.nodes[n].type.evaluation for n in pipe.order}
        if jobs > 1:
            preload_executors(ir, deployment)
        run.schedule(jobs)
    summary(console, result)
    return result


class _Run:
    """One run's nodes: started as their upstream nodes succeed, at most ``jobs`` at a time (in
    this process when 1, else in forked workers); a failure starts nothing new, lets the running
    nodes finish, and leaves the rest not run."""

    def __init__(
        self,
        ir: Any,
        deployment: Any,
        connection: Any,
        keys: dict[str, str],
        console: Console,
        result: RunResult,
        log_dir: Path,
        capture_logs: bool,
    ):
        self.ir, self.deployment, self.connection = ir, deployment, connection
        self.keys, self.console, self.result = keys, console, result
        self.log_dir, self.capture_logs = log_dir, capture_logs
        self.started: dict[str, float] = {}
        self.evaluations: dict[str, str | None] = {}  # node → its evaluation output, if any

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
                [execution] = handle.store.get_executions_by_id([finished.execution_id])
                notes = output_notes(handle.store, execution.id)
                if execution.last_known_state in (mlmd.Execution.COMPLETE, mlmd.Execution.CACHED):
                    write_key(handle.store, execution.id, self.keys.get(node_id))
                    annotate(handle.store, execution.id, self.evaluations.get(node_id))
            if execution.last_known_state == mlmd.Execution.CACHED:
                status = "cached"
        report(self.console, self.result, StepResult(node_id, status, seconds))
        for note in notes if status == "done" else []:
            self.console.print(f"     [yellow]{escape(note)}[/]")
        succeeded.add(node_id)
        return True
