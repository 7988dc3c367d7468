"""Where a pipeline's spans come from and which exist: file patterns with ``{SPAN}``, day
queries, streams. Each ExampleGen type says which kind it reads (``ComponentType.spans``);
``tfxd watch`` and ``tfxd run`` (which pins the newest span) ask here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tfxd.components.example_gen.params import complete_day, day_number, query_has_spans
from tfxd.components.registry import load
from tfxd.errors import TfxdError
from tfxd.file import is_uri
from tfxd.pipelines.pipeline import Pipeline


@dataclass(frozen=True)
class SpanSource:
    """An ExampleGen that knows its spans: ``files`` ({SPAN} in a file pattern), ``days``
    (TFX's day placeholders in a query) or ``stream`` (each run drains the next span)."""

    node: str
    kind: str
    base: Path | str = ""  # files: the input folder, or an object store's prefix (a URI)
    pattern: str = ""  # files: the split pattern with {SPAN}
    first_day: int | None = None  # days: the first span to run


def span_sources(pipe: Pipeline) -> list[SpanSource]:
    """Every ExampleGen of ``pipe`` with spans."""
    out = []
    for node_id in pipe.order:
        node = pipe.nodes[node_id]
        kind, params = node.type.spans.read, node.params
        if kind == "files":
            for pattern in params.input_splits.values():
                if "{SPAN}" in pattern:
                    base = params.input_base
                    if not is_uri(base):
                        base = pipe.loaded.resolve(base)
                    out.append(SpanSource(node_id, "files", base, pattern))
        elif kind == "days" and query_has_spans(params.queries()):
            out.append(SpanSource(node_id, "days", first_day=day_number(params.first_day)))
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
    from tfxd.components.stream.journal import Journal
    from tfxd.components.stream.params import journal_path

    node = pipe.nodes[node_id]
    stream = node.type.spans.stream
    assert stream is not None
    journal = Journal(journal_path(pipe.root, node_id, stream.journal))
    if journal.open_span() is not None:
        return {journal.open_span()}
    source = load(stream.source)(node.params, pipe.name, node_id)
    try:
        return {journal.next_span()} if source.waiting() else set()
    finally:
        source.close()


def _files_under(base: Path | str) -> list[str]:
    """Paths of the files under a folder or of the objects under a store's prefix (a URI),
    relative to it."""
    if isinstance(base, str):
        from tfxd.infra import storage

        return storage.keys_under(base)
    if not base.is_dir():
        return []
    return [p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()]
