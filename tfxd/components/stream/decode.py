"""Messages → serialized tf.Examples: JSON objects, CSV lines or serialized tf.Example.

A message that cannot be decoded is a bad row, named by its message id; up to ``skip_bad_rows``
are dropped (and counted), more fail the drain before anything is acknowledged. Without declared
``columns``, a JSON field keeps one type across the span: ints widen to floats; a field that is a
number in one message and text in another is schema drift, reported with both message ids.
``source`` names the stream in errors ("Pub/Sub projects/…/subscriptions/…", "Kafka topic …").
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from tfxd.components.row_examples import BadRecord, record_to_example, value_kind, widen
from tfxd.components.stream.journal import Message, StreamError

FORMATS = ("json", "csv", "tfexample")


@dataclass
class Decoded:
    examples: list[bytes]
    bad: list[str]  # "message <id>: why", in delivery order


def _record(message: Message, fmt: str, columns: dict[str, str]) -> dict[str, Any]:
    text = message.data.decode("utf-8")
    if fmt == "json":
        record = json.loads(text)
        if not isinstance(record, dict):
            raise BadRecord(f"a JSON message must be an object, got {type(record).__name__}")
        return record
    [row] = list(csv.reader([text])) or [[]]
    if len(row) != len(columns):
        raise BadRecord(f"{len(row)} CSV fields, expected {len(columns)} ({', '.join(columns)})")
    return dict(zip(columns, row, strict=True))


def _inferred(records: list[tuple[Message, dict[str, Any]]], source: str) -> dict[str, str]:
    """One type per JSON field across the span, or a StreamError on schema drift."""
    kinds: dict[str, tuple[str, str]] = {}
    for message, record in records:
        for key, value in record.items():
            kind = value_kind(value)
            if kind is None:
                continue
            first = kinds.setdefault(key, (kind, message.id))
            merged = widen(first, kind)
            if merged is None:
                raise StreamError(
                    f"{source}: schema drift: field {key!r} is {first[0]} in message {first[1]} "
                    f"and {kind} in message {message.id}: fix the producer, or declare the "
                    f"field's type under `columns` (e.g. columns: {{{key}: string}})"
                )
            kinds[key] = merged
    return {key: kind for key, (kind, _) in kinds.items()}


def decode(
    messages: list[Message], fmt: str, columns: dict[str, str], source: str = "stream"
) -> Decoded:
    if fmt == "tfexample":
        examples, bad = [], []
        for m in messages:
            try:
                tf.train.Example.FromString(m.data)
                examples.append(m.data)
            except Exception as err:
                bad.append(f"message {m.id}: not a serialized tf.Example ({err})")
        return Decoded(examples, bad)
    failed: list[tuple[int, str]] = []
    records = []
    for at, m in enumerate(messages):
        try:
            records.append((at, m, _record(m, fmt, columns)))
        except (BadRecord, UnicodeDecodeError, json.JSONDecodeError) as err:
            failed.append((at, f"message {m.id}: {err}"))
    types = columns or _inferred([(m, r) for _, m, r in records], source)
    examples = []
    for at, m, record in records:
        try:
            examples.append(record_to_example(record, types).SerializeToString())
        except BadRecord as err:
            failed.append((at, f"message {m.id}: {err}"))
    bad = [text for _, text in sorted(failed)]
    return Decoded(examples, bad)


def too_many(bad: list[str], allowed: int, source: str) -> StreamError:
    shown = "\n  ".join(bad[:5]) + (f"\n  … and {len(bad) - 5} more" if len(bad) > 5 else "")
    return StreamError(
        f"{source}: {len(bad)} message(s) cannot be decoded, skip_bad_rows "
        f"allows {allowed}:\n  {shown}\nfix the producer, or raise skip_bad_rows to drop them "
        "(they are counted on the Examples artifact as tfxd_bad_rows)"
    )
