"""``tfxd watch``: run the pipeline once for every new span of its ExampleGens.

Spans are files matching ``{SPAN}`` (file-based ExampleGens), complete days (SQL and BigQuery
queries with TFX's day placeholders), or a stream's next span (Pub/Sub: a message is waiting).

A span is new until a run that read it ended: succeeded, or stopped by a DriftValidator gate
(rejected data is not retried). A run that failed for any other reason (or was killed) leaves its
span pending, so the next check runs it again, reusing what finished, up to ``spec.watch.retries``
times; then the span is quarantined in ML Metadata with its last error and, with
``on_quarantine: skip``, later spans go on (``strict``: the queue waits until it is released).
Spans run oldest first, each pinned with ``--span`` semantics. One watcher per pipeline root: an
OS lock (``<root>/.tfxd-watch.lock``) that a crashed watcher cannot leave behind.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from tfxd.errors import TfxdError
from tfxd.pipelines.pipeline import Pipeline, validate_file
from tfxd.pipelines.spans import available_spans, span_sources
from tfxd.runners.locks import process_lock


class WatcherBusy(TfxdError):
    """Another watcher of the same pipeline root is running."""


def spans_of_runs(pipe: Pipeline) -> list[tuple[set[int], Any]]:
    """Each run in ML Metadata, oldest first, with the spans its ExampleGens read."""
    from tfxd.mlmd.store import open_store, reference
    from tfxd.mlmd.views import list_runs

    ref = reference(pipe.loaded)
    if "sqlite" in ref and not Path(ref["sqlite"]).exists():
        return []  # never ran
    store = open_store(pipe.loaded)
    gens = {n for n in pipe.order if pipe.nodes[n].type.spans.read in ("files", "days")}
    out = []
    for run in sorted(list_runs(store, pipe.name), key=lambda r: r.started):
        spans = set()
        for node in run.nodes:
            if node.node in gens:
                [execution] = store.get_executions_by_id([node.execution_id])
                if "span" in execution.custom_properties:
                    spans.add(int(execution.custom_properties["span"].int_value))
        out.append((spans, run))
    return out


def span_outcomes(pipe: Pipeline, runs: list[tuple[set[int], Any]] | None = None) -> dict[int, str]:
    """Span → ``done`` | ``rejected`` (a gate failed) | ``pending``, from the runs in MLMD."""
    gates = {n for n in pipe.order if pipe.nodes[n].type.spans.gates}
    outcomes: dict[int, str] = {}
    for spans, run in spans_of_runs(pipe) if runs is None else runs:
        failed = {n.node for n in run.nodes if n.state == "failed"}
        if run.status == "succeeded":
            outcome = "done"
        elif failed and failed <= gates:
            outcome = "rejected"
        else:
            outcome = "pending"
        for span in spans:
            if outcomes.get(span) not in ("done", "rejected"):
                outcomes[span] = outcome
    return outcomes


def _quarantines(pipe: Pipeline) -> tuple[dict[int, Any], dict[int, int]]:
    """Quarantines in force by span, and each span's failed runs since its last release."""
    from tfxd.mlmd import quarantine
    from tfxd.mlmd.store import open_store, reference

    ref = reference(pipe.loaded)
    if "sqlite" in ref and not Path(ref["sqlite"]).exists():
        return {}, {}
    store = open_store(pipe.loaded)
    return quarantine.active(store, pipe.name), quarantine.failed_attempts(store, pipe.name)


EXIT = {
    "processed": 0,
    "failed": 1,
    "nothing new": 3,
    "quarantined": 4,
    "rejected": 5,
    "serving skew": 6,
}


@dataclass
class Check:
    """What one check did: the runs it started and each span's fate."""

    pipeline: str
    started: list[tuple[int, bool]] = field(default_factory=list)
    processed: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "span (attempt k of n)"
    quarantined: list[str] = field(default_factory=list)  # "span (after n attempts)": now
    held: list[int] = field(default_factory=list)  # quarantined earlier, skipped
    blocked: int | None = None  # strict: the quarantined span the queue waits on
    skewed: list[str] = field(default_factory=list)  # serving-log spans over a skew threshold
    retrained: list[int] = field(default_factory=list)  # data spans run again on serving skew

    @property
    def outcome(self) -> str:
        if self.quarantined or self.blocked is not None:
            return "quarantined"
        if self.failed:
            return "failed"
        if self.rejected:
            return "rejected"
        if self.skewed and not self.retrained:
            return "serving skew"
        return "processed" if self.processed or self.retrained else "nothing new"

    @property
    def code(self) -> int:
        return EXIT[self.outcome]

    def summary(self) -> str:
        parts = [
            f"{label} {', '.join(map(str, items))}"
            for label, items in (
                ("processed", self.processed),
                ("rejected by a gate", self.rejected),
                ("failed", self.failed),
                ("quarantined", self.quarantined),
                ("still quarantined", self.held),
                ("serving skew in served", self.skewed),
                ("retrained on", self.retrained),
            )
            if items
        ]
        if self.blocked is not None:
            parts.append(f"waiting on quarantined span {self.blocked} (on_quarantine: strict)")
        body = "; ".join(parts) or "nothing new"
        return f"{self.pipeline}: {body} — {self.outcome} (exit {self.code})"


def watcher_lock(root: str) -> Any:
    return process_lock(
        os.path.join(root, ".tfxd-watch.lock"),
        WatcherBusy,
        "another tfxd watch",
        "one watcher per pipeline root",
    )


def check_once(path: str | Path, console: Console, **run_options: Any) -> Check:
    """Run every pending span, oldest first. A failed span is retried at the next check, up to
    ``spec.watch.retries`` times, then quarantined; the check prints one summary line."""
    from ml_metadata import metadata_store

    from tfxd.mlmd import quarantine
    from tfxd.mlmd.store import connection_config
    from tfxd.runners.local import run_pipeline

    pipe = validate_file(path)
    policy = pipe.file.body.watch
    check = Check(pipe.name)
    available = available_spans(pipe)
    stream = any(source.kind == "stream" for source in span_sources(pipe))
    outcomes = {} if stream else span_outcomes(pipe)  # a stream's next span is always new
    held, _ = ({}, {}) if stream else _quarantines(pipe)
    todo = [s for s in available if outcomes.get(s) not in ("done", "rejected")]
    if not todo:
        latest = available[-1] if available else "none"
        console.print(f"[dim]{pipe.name}: no new span (newest: {latest})[/]")
    for span in todo:
        if span in held:
            check.held.append(span)
            if policy.on_quarantine == "strict":
                check.blocked = span
                break
            continue
        console.print(f"[bold]{pipe.name}[/]: span {span} is new")
        result = run_pipeline(pipe, span=None if stream else span, console=console, **run_options)
        check.started.append((span, result.ok))
        if result.ok:
            check.processed.append(span)
            continue
        if not stream and span_outcomes(pipe).get(span) == "rejected":
            check.rejected.append(span)
            continue
        if stream:  # a stream's open span must settle before the next is drained
            check.failed.append(f"{span} (retried at the next check)")
            break
        bad = result.first_failure()
        error = f"node '{bad.name}' failed: {bad.error}"
        store = metadata_store.MetadataStore(connection_config(pipe.loaded, readonly=False))
        quarantine.record_attempt(store, pipe.name, span, error)
        attempts = quarantine.failed_attempts(store, pipe.name).get(span, 0)
        allowed = policy.retries + 1
        if attempts < allowed and bad.retry:
            check.failed.append(f"{span} (attempt {attempts} of {allowed})")
            console.print(f"[red]span {span} failed[/]; it is retried at the next check")
            break
        quarantine.quarantine(store, pipe.name, span, attempts, error)
        why = f"after {attempts} failed attempts" if bad.retry else "at once (not retried)"
        check.quarantined.append(
            f"{span} (after {attempts} attempts)"
            if bad.retry
            else f"{span} (not retried: it would fail the same way)"
        )
        console.print(
            f"[red]span {span} quarantined[/] {why}: {escape(error)}\n"
            f"     release it when fixed: tfxd watch {path} --release {span}",
            soft_wrap=True,
        )
        if policy.on_quarantine == "strict":
            check.blocked = span
            break
    if pipe.file.body.serving.log is not None and not check.failed and check.blocked is None:
        judge_serving(pipe, check, available, console, run_options)
    console.print(check.summary())
    return check


def judge_serving(
    pipe: Pipeline, check: Check, available: list[int], console: Console, run_options: Any
) -> None:
    """Judge new serving-log spans for skew; on a breach warn, or (``on_serving_drift:
    retrain``) run the newest data span again from scratch, unless this check trained already."""
    from tfxd.mlmd.serving_skew import judge_and_say, judged_spans, log_location
    from tfxd.mlmd.store import open_store
    from tfxd.runners.local import run_pipeline
    from tfxd.serving.log_store import open_log

    try:
        log = open_log(log_location(pipe))
        spans = log.spans()  # listed once a check (on S3: one listing of the prefix)
        if not spans:
            return
    except TfxdError as e:  # the data loop goes on without it
        console.print(f"[yellow]{pipe.name}: serving skew not judged: {e}[/]", soft_wrap=True)
        return
    before = set(judged_spans(open_store(pipe.loaded), pipe.name))
    if not judge_and_say(pipe, console, seen=(log, spans)):
        return
    judged = judged_spans(open_store(pipe.loaded), pipe.name)
    check.skewed = [
        str(s) for s, j in sorted(judged.items()) if s not in before and j.verdict.breaches
    ]
    if pipe.file.body.serving.on_serving_drift != "retrain" or check.processed or not available:
        return
    newest = available[-1]
    console.print(f"[bold]{pipe.name}[/]: serving skew: retraining on span {newest}")
    result = run_pipeline(pipe, span=newest, enable_cache=False, console=console, **run_options)
    if result.ok:
        check.retrained.append(newest)
    else:
        check.failed.append(f"{newest} (the retrain on serving skew)")


def status(path: str | Path, console: Console) -> dict[int, str]:
    """Each known span's state, without running anything (``tfxd watch --status``)."""
    from rich.table import Table

    pipe = validate_file(path)
    available = set(available_spans(pipe))
    from tfxd.mlmd.runs_table import bad_rows_cell

    runs = spans_of_runs(pipe)
    outcomes = span_outcomes(pipe, runs)
    bad = {s: bad_rows_cell(run) for spans, run in runs if run.bad_rows for s in spans}
    held, failures = _quarantines(pipe)
    table = Table(title=f"spans of {pipe.name}")
    for column in ("span", "state", "bad rows", "failed runs", "last error"):
        table.add_column(column, overflow="fold")
    states = {}
    for span in sorted(available | set(outcomes) | set(held) | set(failures)):
        attempts = failures.get(span, 0)
        if span in held:
            state = "quarantined"
        elif outcomes.get(span) in ("done", "rejected"):
            state = outcomes[span]
        else:
            state = "failing" if attempts else "new"
        states[span] = state
        error = held[span].error if span in held else ""
        cells = (bad.get(span, "-"), str(attempts) if attempts else "-", error or "-")
        table.add_row(str(span), state, *cells)
    console.print(table)
    return states


def release(path: str | Path, span: int, console: Console) -> None:
    """Lift a span's quarantine: the next check runs it again."""
    from ml_metadata import metadata_store

    from tfxd.mlmd import quarantine
    from tfxd.mlmd.store import connection_config

    pipe = validate_file(path)
    store = metadata_store.MetadataStore(connection_config(pipe.loaded, readonly=False))
    found = quarantine.release(store, pipe.name, span)
    console.print(
        f"span {span} released (quarantined {found.at} after {found.attempts} attempts); "
        "the next check runs it again"
    )


def watch(
    path: str | Path,
    *,
    once: bool,
    interval: float,
    console: Console,
    **run_options: Any,
) -> Check:
    """Check for new spans (once, or every ``interval`` seconds until interrupted); returns the
    last check."""
    pipe = validate_file(path)
    span_sources(pipe)  # fail early when there is nothing to watch
    with watcher_lock(pipe.root):
        while True:
            check = check_once(path, console, **run_options)
            if once:
                return check
            time.sleep(interval)
