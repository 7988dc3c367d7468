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

import datetime as dt
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from tfxd.errors import TfxdError
from tfxd.pipelines.builder import local_root
from tfxd.pipelines.validate import Pipeline, validate_file
from tfxd.runners.locks import process_lock


class WatcherBusy(TfxdError):
    """Another watcher of the same pipeline root is running."""


@dataclass(frozen=True)
class SpanSource:
    """An ExampleGen that knows its spans: ``files`` ({SPAN} in a file pattern), ``days``
    (TFX's day placeholders in a query) or ``stream`` (each run drains the next span)."""

    node: str
    kind: str
    base: Path | str = ""  # files: the input folder or s3:// prefix
    pattern: str = ""  # files: the split pattern with {SPAN}
    first_day: int | None = None  # days: the first span to run


def span_sources(pipe: Pipeline) -> list[SpanSource]:
    """Every ExampleGen of ``pipe`` with spans."""
    from tfxd.components.standard import query_has_spans

    out = []
    for node_id in pipe.order:
        node = pipe.nodes[node_id]
        kind, params = node.type.spans, node.params
        if kind == "files":
            for pattern in params.input_splits.values():
                if "{SPAN}" in pattern:
                    base = params.input_base
                    if not base.startswith("s3://"):
                        base = pipe.loaded.resolve(base)
                    out.append(SpanSource(node_id, "files", base, pattern))
        elif kind == "days" and query_has_spans(params.queries()):
            first = params.first_day
            day = (first - dt.date(1970, 1, 1)).days if first else None
            out.append(SpanSource(node_id, "days", first_day=day))
        elif kind == "stream":
            out.append(SpanSource(node_id, "stream"))
    if not out:
        raise TfxdError(
            f"{pipe.loaded.path}: spans (tfxd watch, tfxd run --span) need an ExampleGen with "
            "spans: a CsvExampleGen, ImportExampleGen or S3ExampleGen whose input_splits pattern "
            "has {SPAN} (e.g. input_splits: {single_split: 'span-{SPAN}/*'}), a SqlExampleGen or "
            "BigQueryExampleGen whose query has @span_begin_timestamp, @span_end_timestamp or "
            "@span_yyyymmdd_utc, or a PubSubExampleGen or KafkaExampleGen"
        )
    kinds = {s.kind for s in out}
    if "stream" in kinds and len(kinds) > 1:
        raise TfxdError(
            f"{pipe.loaded.path}: a stream ExampleGen (Pub/Sub, Kafka) numbers its own spans: "
            "it cannot share a pipeline with span-pinned files or queries"
        )
    return out


def newest_file_span(pipe: Pipeline) -> int | None:
    """The newest span present where every span source of ``pipe`` is files; else None (no
    spans, or queries and streams, which a run resolves by itself)."""
    try:
        sources = span_sources(pipe)
    except TfxdError:
        return None
    if not all(source.kind == "files" for source in sources):
        return None
    return (available_spans(pipe, sources) or [None])[-1]


def pinnable(pipe: Pipeline) -> None:
    """Check that ``tfxd run --span`` can pin the spans of ``pipe``."""
    if any(s.kind == "stream" for s in span_sources(pipe)):
        raise TfxdError(
            f"{pipe.loaded.path}: --span does not apply to a stream ExampleGen (Pub/Sub, "
            "Kafka): each run drains the next span"
        )


def available_spans(pipe: Pipeline, sources: list[SpanSource] | None = None) -> list[int]:
    """Spans every span source has: files present, complete days, or the next stream span
    when a message is waiting (or a drained span is not yet published)."""
    from tfxd.components.standard import complete_day

    found: set[int] | None = None
    for source in sources if sources is not None else span_sources(pipe):
        if source.kind == "files":
            spans = _file_spans(source)
        elif source.kind == "days":
            newest = complete_day()
            first = source.first_day if source.first_day is not None else newest
            spans = set(range(first, newest + 1))
        else:
            spans = _stream_spans(pipe, source.node)
        found = spans if found is None else found & spans
    return sorted(found or set())


def _file_spans(source: SpanSource) -> set[int]:
    regex = re.compile(
        "^"
        + re.escape(source.pattern).replace(re.escape("{SPAN}"), r"(\d+)").replace(r"\*", "[^/]*")
        + "$"
    )
    spans = set()
    for relative in _files_under(source.base):
        match = regex.match(relative)
        if match:
            spans.add(int(match.group(1)))
    return spans


def _stream_spans(pipe: Pipeline, node_id: str) -> set[int]:
    from tfxd.components.standard import stream_journal, stream_source
    from tfxd.components.stream.journal import Journal

    node = pipe.nodes[node_id]
    journal = Journal(stream_journal(str(local_root(pipe)), node_id, node.type.name))
    if journal.open_span() is not None:
        return {journal.open_span()}
    source = stream_source(node.type.name, node.params, pipe.name, node_id)
    try:
        return {journal.next_span()} if source.waiting() else set()
    finally:
        source.close()


def _files_under(base: Path | str) -> list[str]:
    """Paths of the files under a folder or of the objects under an s3:// prefix, relative to it."""
    if isinstance(base, str):
        from tfxd.components.s3_example_gen.filesystem import list_objects, split

        prefix = split(base.rstrip("/") + "/")[1]
        return [o["Key"][len(prefix) :] for o in list_objects(base.rstrip("/") + "/")]
    if not base.is_dir():
        return []
    return [p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()]


def span_outcomes(pipe: Pipeline) -> dict[int, str]:
    """Span → ``done`` | ``rejected`` (a gate failed) | ``pending``, from the runs in MLMD."""
    from tfxd.metadata.store import open_store, reference
    from tfxd.metadata.views import list_runs

    ref = reference(pipe.loaded)
    if "sqlite" in ref and not Path(ref["sqlite"]).exists():
        return {}  # never ran
    store = open_store(pipe.loaded)
    gens = {n for n in pipe.order if pipe.nodes[n].type.spans in ("files", "days")}
    gates = {n for n in pipe.order if pipe.nodes[n].type.gates}
    outcomes: dict[int, str] = {}
    for run in sorted(list_runs(store, pipe.name), key=lambda r: r.started):
        spans = set()
        for node in run.nodes:
            if node.node in gens:
                [execution] = store.get_executions_by_id([node.execution_id])
                if "span" in execution.custom_properties:
                    spans.add(int(execution.custom_properties["span"].int_value))
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
    from tfxd.metadata import quarantine
    from tfxd.metadata.store import open_store, reference

    ref = reference(pipe.loaded)
    if "sqlite" in ref and not Path(ref["sqlite"]).exists():
        return {}, {}
    store = open_store(pipe.loaded)
    return quarantine.active(store, pipe.name), quarantine.failed_attempts(store, pipe.name)


EXIT = {"processed": 0, "failed": 1, "nothing new": 3, "quarantined": 4, "rejected": 5}


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

    @property
    def outcome(self) -> str:
        if self.quarantined or self.blocked is not None:
            return "quarantined"
        if self.failed:
            return "failed"
        if self.rejected:
            return "rejected"
        return "processed" if self.processed else "nothing new"

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

    from tfxd.metadata import quarantine
    from tfxd.metadata.store import connection_config
    from tfxd.runners.local import run_pipeline

    pipe = validate_file(path)
    policy = pipe.spec.spec.watch
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
        bad = next(n for n in result.nodes if n.status == "failed")
        error = f"node '{bad.node_id}' failed: {bad.error}"
        store = metadata_store.MetadataStore(connection_config(pipe.loaded, readonly=False))
        quarantine.record_attempt(store, pipe.name, span, error)
        attempts = quarantine.failed_attempts(store, pipe.name).get(span, 0)
        allowed = policy.retries + 1
        if attempts < allowed:
            check.failed.append(f"{span} (attempt {attempts} of {allowed})")
            console.print(f"[red]span {span} failed[/]; it is retried at the next check")
            break
        quarantine.quarantine(store, pipe.name, span, attempts, error)
        check.quarantined.append(f"{span} (after {attempts} attempts)")
        console.print(
            f"[red]span {span} quarantined[/] after {attempts} failed attempts: {error}\n"
            f"     release it when fixed: tfxd watch {path} --release {span}"
        )
        if policy.on_quarantine == "strict":
            check.blocked = span
            break
    console.print(check.summary())
    return check


def status(path: str | Path, console: Console) -> dict[int, str]:
    """Each known span's state, without running anything (``tfxd watch --status``)."""
    from rich.table import Table

    pipe = validate_file(path)
    available = set(available_spans(pipe))
    outcomes = span_outcomes(pipe)
    held, failures = _quarantines(pipe)
    table = Table(title=f"spans of {pipe.name}")
    for column in ("span", "state", "failed runs", "last error"):
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
        table.add_row(str(span), state, str(attempts) if attempts else "-", error or "-")
    console.print(table)
    return states


def release(path: str | Path, span: int, console: Console) -> None:
    """Lift a span's quarantine: the next check runs it again."""
    from ml_metadata import metadata_store

    from tfxd.metadata import quarantine
    from tfxd.metadata.store import connection_config

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
    with watcher_lock(local_root(pipe)):
        while True:
            check = check_once(path, console, **run_options)
            if once:
                return check
            time.sleep(interval)
