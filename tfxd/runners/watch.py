"""``tfxd watch``: run the pipeline once for every new span of its ExampleGens.

Spans are files matching ``{SPAN}`` (file-based ExampleGens), complete days (SQL and BigQuery
queries with TFX's day placeholders), or a stream's next span (Pub/Sub: a message is waiting).

A span is new until a run that read it ended: succeeded, or stopped by a DriftValidator gate
(rejected data is not retried). A run that failed for any other reason (or was killed) leaves its
span pending, so the next check runs it again, reusing what finished. Spans run oldest first, each
pinned with ``--span`` semantics. One watcher per pipeline root: an OS lock
(``<root>/.tfxd-watch.lock``) that a crashed watcher cannot leave behind.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from tfxd.errors import TfxdError
from tfxd.pipelines.builder import local_root
from tfxd.pipelines.validate import Pipeline, validate_file
from tfxd.runners.locks import process_lock

FILE_GENS = ("CsvExampleGen", "ImportExampleGen", "S3ExampleGen")
QUERY_GENS = ("SqlExampleGen", "BigQueryExampleGen")
STREAM_GENS = ("PubSubExampleGen", "KafkaExampleGen")
GATES = ("DriftValidator",)


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
        name, params = node.type.name, node.params
        if name in FILE_GENS:
            for pattern in params.input_splits.values():
                if "{SPAN}" in pattern:
                    base = params.input_base
                    if not base.startswith("s3://"):
                        base = pipe.loaded.resolve(base)
                    out.append(SpanSource(node_id, "files", base, pattern))
        elif name in QUERY_GENS and query_has_spans(params.queries()):
            first = params.first_day
            day = (first - dt.date(1970, 1, 1)).days if first else None
            out.append(SpanSource(node_id, "days", first_day=day))
        elif name in STREAM_GENS:
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


def pinnable(pipe: Pipeline) -> None:
    """Check that ``tfxd run --span`` can pin the spans of ``pipe``."""
    if any(s.kind == "stream" for s in span_sources(pipe)):
        raise TfxdError(
            f"{pipe.loaded.path}: --span does not apply to a stream ExampleGen (Pub/Sub, "
            "Kafka): each run drains the next span"
        )


def available_spans(pipe: Pipeline) -> list[int]:
    """Spans every span source has: files present, complete days, or the next stream span
    when a message is waiting (or a drained span is not yet published)."""
    from tfxd.components.standard import complete_day

    found: set[int] | None = None
    for source in span_sources(pipe):
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
    gens = {n for n in pipe.order if pipe.nodes[n].type.name in FILE_GENS + QUERY_GENS}
    gates = {n for n in pipe.order if pipe.nodes[n].type.name in GATES}
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


def watcher_lock(root: str) -> Any:
    return process_lock(
        os.path.join(root, ".tfxd-watch.lock"),
        WatcherBusy,
        "another tfxd watch",
        "one watcher per pipeline root",
    )


def check_once(path: str | Path, console: Console, **run_options: Any) -> list[tuple[int, bool]]:
    """Run every pending span, oldest first; returns (span, succeeded) for each run started.
    Stops at a run that failed for a reason other than a gate (retried on the next check)."""
    from tfxd.runners.local import run_pipeline

    pipe = validate_file(path)
    available = available_spans(pipe)
    stream = any(source.kind == "stream" for source in span_sources(pipe))
    outcomes = {} if stream else span_outcomes(pipe)  # a stream's next span is always new
    todo = [s for s in available if outcomes.get(s) not in ("done", "rejected")]
    if not todo:
        latest = available[-1] if available else "none"
        console.print(f"[dim]{pipe.name}: no new span (newest: {latest})[/]")
        return []
    started = []
    for span in todo:
        console.print(f"[bold]{pipe.name}[/]: span {span} is new")
        result = run_pipeline(pipe, span=None if stream else span, console=console, **run_options)
        started.append((span, result.ok))
        if not result.ok and (stream or span_outcomes(pipe).get(span) != "rejected"):
            console.print(f"[red]span {span} failed[/]; it is retried at the next check")
            break
    return started


def watch(
    path: str | Path,
    *,
    once: bool,
    interval: float,
    console: Console,
    **run_options: Any,
) -> list[tuple[int, bool]]:
    """Check for new spans (once, or every ``interval`` seconds until interrupted)."""
    pipe = validate_file(path)
    span_sources(pipe)  # fail early when there is nothing to watch
    started: list[tuple[int, bool]] = []
    with watcher_lock(local_root(pipe)):
        while True:
            started += check_once(path, console, **run_options)
            if once:
                return started
            time.sleep(interval)
