"""The streaming ExampleGens' executor: settle the open span, or drain a new one; then write it.

Order of a run (see ``journal``): settle the open span (published in ML Metadata → its ids are
kept; not published → it is written again, nothing new is drained) · drain · decode (too many bad
rows: hand the messages back, fail) · stage the span durably · acknowledge · write Examples with
TFX's ExampleGen base (splits, output layout) · mark the span emitted. A crash before staging
loses nothing (nothing was acknowledged); after it, the span is on disk and the next run writes it.
A source acknowledges a staged span again when it is settled, so a crash between staging and
acknowledging costs nothing either.
"""

from __future__ import annotations

import abc
import logging
import os
from collections.abc import Callable
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor

from tfxd.components.stream import decode
from tfxd.components.stream.journal import Journal, Message, StreamError
from tfxd.components.stream.params import StreamSettings

BAD_ROWS = "tfxd_bad_rows"
_BATCH = "_tfxd_batch"  # decoded examples handed to the Beam transform, in process


class Source(abc.ABC):
    """A stream's own I/O, as the executor drives it."""

    name: str  # how errors and logs name it: "Pub/Sub projects/…", "Kafka topic …"

    @abc.abstractmethod
    def drain(
        self, *, max_messages: int, idle_timeout: float, window: float, seen: Callable[[], set]
    ) -> list[Message]:
        """New messages, none acknowledged, until ``max_messages``, ``idle_timeout`` seconds
        without one or ``window`` seconds in all. ``seen()``: ids already in a span."""

    @abc.abstractmethod
    def acknowledge(self, messages: list[Message]) -> None:
        """The messages are staged: they need not be delivered again (idempotent)."""

    @abc.abstractmethod
    def release(self, messages: list[Message]) -> None:
        """The messages were not taken: deliver them again to the next drain."""

    @abc.abstractmethod
    def waiting(self) -> bool:
        """Whether a message is ready for a drain (``tfxd watch``)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of connections."""


def published(uri: str, metadata: dict[str, Any] | None) -> bool | None:
    """Whether ML Metadata holds a live artifact at ``uri``; None where it cannot be reached."""
    if not metadata:
        return None
    if "sqlite" in metadata and not os.path.exists(metadata["sqlite"]):
        return False  # no store yet: nothing was published
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    from tfxd.infra.mlmd_reference import connection_from_reference

    store = metadata_store.MetadataStore(connection_from_reference(metadata))
    live = metadata_store_pb2.Artifact.LIVE
    return any(a.state == live for a in store.get_artifacts_by_uri(uri))


def settle(journal: Journal, span: int, metadata: dict[str, Any] | None) -> bool:
    """Commit the open ``span`` if it was published; whether it must be written again."""
    uri = journal.emitted(span)
    # Where executors cannot reach ML Metadata (Kubeflow), a finished write counts as published.
    if uri is not None and published(uri, metadata) is not False:
        journal.commit(span)
        return False
    logging.info("stream: span %d was drained but not published: writing it again", span)
    return True


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _BatchToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    return (
        pipeline
        | "Messages" >> beam.Create(exec_properties[_BATCH])
        | "Parse" >> beam.Map(tf.train.Example.FromString)
    )


class StreamExecutor(BaseExampleGenExecutor):
    """One span per run from a stream, each message in exactly one published span."""

    MESSAGES: str  # custom property: how many Examples the span holds
    SOURCE: str  # custom property: the stream's name (subscription, topic)

    SETTINGS: type[StreamSettings]  # what the builder packed into custom_config

    @abc.abstractmethod
    def source(self, config: Any) -> Source:
        """The stream, checked to exist and be readable."""

    @abc.abstractmethod
    def source_name(self, config: Any) -> str:
        """The stream's name for the ``SOURCE`` property."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _BatchToExample

    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        config = self.SETTINGS.unpack(exec_properties.get("custom_config"))
        allowed = config.skip_bad_rows
        journal = Journal(config.journal)
        source = self.source(config)
        try:
            span, messages, decoded = self._span(source, journal, config, allowed)
        finally:
            source.close()
        if len(decoded.bad) > allowed:
            raise decode.too_many(decoded.bad, allowed, source.name)
        if not decoded.examples:
            raise StreamError(
                f"{source.name}: none of the {len(messages)} message(s) of span {span} decodes"
            )

        super().Do(input_dict, output_dict, {**exec_properties, _BATCH: decoded.examples})
        [examples] = output_dict["examples"]
        examples.span = span  # where the driver put span 0, as for every ExampleGen:
        examples.set_int_custom_property("span", span)
        examples.set_string_custom_property(self.SOURCE, self.source_name(config))
        examples.set_int_custom_property(self.MESSAGES, len(decoded.examples))
        examples.set_int_custom_property(BAD_ROWS, len(decoded.bad))
        journal.mark_emitted(span, examples.uri)
        logging.info(
            "%s: span %d: %d example(s), %d bad row(s) skipped",
            source.name,
            span,
            len(decoded.examples),
            len(decoded.bad),
        )

    def _span(
        self, source: Source, journal: Journal, config: StreamSettings, allowed: int
    ) -> tuple[int, list[Message], decode.Decoded]:
        """The span to write, its messages, decoded: the open one again, or a new one, staged
        and acknowledged."""
        fmt, columns = config.format, config.columns
        span = journal.open_span()
        if span is not None:
            staged = journal.messages(span)
            source.acknowledge(staged)  # in case a crash came between staging and acknowledging
            if settle(journal, span, config.metadata):
                return span, staged, decode.decode(staged, fmt, columns, source.name)
        idle = config.idle_timeout_seconds
        messages = source.drain(
            max_messages=config.max_messages,
            idle_timeout=idle,
            window=config.window_seconds,
            seen=journal.seen,
        )
        if not messages:
            raise StreamError(
                f"{source.name}: no new message within {idle:g} s: "
                "nothing to make a span of (publish first, or raise idle_timeout_seconds)"
            )
        decoded = decode.decode(messages, fmt, columns, source.name)
        if len(decoded.bad) > allowed:
            source.release(messages)
            raise decode.too_many(decoded.bad, allowed, source.name)
        span = journal.next_span()
        journal.stage(span, messages)
        source.acknowledge(messages)
        return span, messages, decoded
