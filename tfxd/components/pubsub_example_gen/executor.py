"""PubSubExampleGen executor: settle the open span, or drain a new one; then write it as Examples.

Order of a run (see ``journal``): settle the open span (published in ML Metadata → its ids are
kept; not published → it is written again, nothing new is drained) · drain · decode (too many bad
rows: hand the messages back, fail) · stage the span durably · acknowledge · write Examples with
TFX's ExampleGen base (splits, output layout) · mark the span emitted. A crash before staging
loses nothing (nothing was acknowledged); after it, the span is on disk and the next run writes it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor

from tfxd.components import settings
from tfxd.components.pubsub_example_gen import decode, subscription
from tfxd.components.pubsub_example_gen.journal import Journal

MESSAGES = "tfxd_pubsub_messages"
BAD_ROWS = "tfxd_bad_rows"
SUBSCRIPTION = "tfxd_pubsub_subscription"
_BATCH = "_tfxd_batch"  # decoded examples handed to the Beam transform, in process


def published(uri: str, metadata: dict[str, Any] | None) -> bool | None:
    """Whether ML Metadata holds a live artifact at ``uri``; None where it cannot be reached."""
    if not metadata:
        return None
    if "sqlite" in metadata and not os.path.exists(metadata["sqlite"]):
        return False  # no store yet: nothing was published
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    from tfxd.components.mlmd_reference import connection_from_reference

    store = metadata_store.MetadataStore(connection_from_reference(metadata))
    live = metadata_store_pb2.Artifact.LIVE
    return any(a.state == live for a in store.get_artifacts_by_uri(uri))


def settle(journal: Journal, metadata: dict[str, Any] | None) -> int | None:
    """Commit the open span if it was published; return it if it must be written again."""
    span = journal.open_span()
    if span is None:
        return None
    uri = journal.emitted(span)
    # Where executors cannot reach ML Metadata (Kubeflow), a finished write counts as published.
    if uri is not None and published(uri, metadata) is not False:
        journal.commit(span)
        return None
    logging.info("Pub/Sub: span %d was drained but not published: writing it again", span)
    return span


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _BatchToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    return (
        pipeline
        | "Messages" >> beam.Create(exec_properties[_BATCH])
        | "Parse" >> beam.Map(tf.train.Example.FromString)
    )


class Executor(BaseExampleGenExecutor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _BatchToExample

    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        config = settings.unpack(exec_properties.get("custom_config"))
        name, fmt = config["subscription"], config["format"]
        columns: dict[str, str] = config.get("columns") or {}
        allowed = int(config.get("skip_bad_rows", 0))
        journal = Journal(config["journal"])
        client = subscription.client()
        ack_deadline = subscription.check(client, name)

        span = settle(journal, config.get("metadata"))
        if span is not None:
            messages = journal.messages(span)
            decoded = decode.decode(messages, fmt, columns)
        else:
            messages, repeats = subscription.drain(
                client,
                name,
                max_messages=int(config["max_messages"]),
                idle_timeout=float(config["idle_timeout_seconds"]),
                window=float(config["window_seconds"]),
                seen=journal.seen(),
                progress=lambda n: logging.info("Pub/Sub: %d new message(s) drained", n),
                ack_deadline=ack_deadline,
            )
            subscription.acknowledge(client, name, repeats)
            if not messages:
                idle = float(config["idle_timeout_seconds"])
                raise subscription.PubSubError(
                    f"Pub/Sub {name}: no new message within {idle:g} s: "
                    "nothing to make a span of (publish first, or raise idle_timeout_seconds)"
                )
            decoded = decode.decode(messages, fmt, columns)
            if len(decoded.bad) > allowed:
                subscription.release(client, name, [m.ack_id for m in messages])
                raise decode.too_many(decoded.bad, allowed, name)
            span = journal.next_span()
            journal.stage(span, messages)
            subscription.acknowledge(client, name, [m.ack_id for m in messages])
        if len(decoded.bad) > allowed:
            raise decode.too_many(decoded.bad, allowed, name)
        if not decoded.examples:
            raise subscription.PubSubError(
                f"Pub/Sub {name}: none of the {len(messages)} message(s) of span {span} decodes"
            )

        super().Do(input_dict, output_dict, {**exec_properties, _BATCH: decoded.examples})
        [examples] = output_dict["examples"]
        examples.span = span  # where the driver put span 0, as for every ExampleGen:
        examples.set_int_custom_property("span", span)
        examples.set_string_custom_property(SUBSCRIPTION, name)
        examples.set_int_custom_property(MESSAGES, len(decoded.examples))
        examples.set_int_custom_property(BAD_ROWS, len(decoded.bad))
        journal.mark_emitted(span, examples.uri)
        logging.info(
            "Pub/Sub: span %d: %d example(s), %d bad row(s) skipped",
            span,
            len(decoded.examples),
            len(decoded.bad),
        )
