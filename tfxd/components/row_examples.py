"""Records (JSON objects, CSV rows, database rows) → tf.Example, shared by the ExampleGens.

Without declared types a value's own type decides (``value_feature``). With declared types
(``int``, ``float``, ``string``) every value must convert, or the record is bad.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import tensorflow as tf

from tfxd.errors import TfxdError

KINDS = ("int", "float", "string")
EPOCH = dt.date(1970, 1, 1)


class BadRecord(TfxdError, ValueError):
    """A record that cannot become a tf.Example; the message says which field and why."""


def _scalar(value: Any) -> Any:
    """Dates, timestamps and decimals as the numbers a feature holds (see ``value_feature``)."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return round(aware.timestamp() * 1_000_000)
    if isinstance(value, dt.date):
        return (value - EPOCH).days
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def value_feature(value: Any) -> tf.train.Feature | None:
    """A feature typed by the value itself: ints and booleans (0/1) → int64; floats and
    decimals → float; DATE → int64 days since 1970-01-01; TIMESTAMP → int64 microseconds since
    the epoch (naive values taken as UTC); bytes stay bytes; anything else → UTF-8 bytes. A list
    is one feature of its values; None and [] are missing values."""
    values = [_scalar(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
    if not values:
        return None
    if all(isinstance(v, int) for v in values):  # booleans too
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))
    if all(isinstance(v, (int, float)) for v in values):
        return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))
    encoded = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in values]
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=encoded))


def value_kind(value: Any) -> str | None:
    """The kind ``value_feature`` gives a JSON value (int, float or string); None if missing."""
    values = [v for v in (value if isinstance(value, list) else [value]) if v is not None]
    if not values:
        return None
    if all(isinstance(v, int) for v in values):  # booleans too
        return "int"
    if all(isinstance(v, (int, float)) for v in values):
        return "float"
    return "string"


def widen(first: tuple[str, str], kind: str) -> tuple[str, str] | None:
    """A field's (kind, where first seen) after another value of ``kind``: ints widen to
    floats; None where a number meets text (schema drift)."""
    if first[0] == kind:
        return first
    if {first[0], kind} == {"int", "float"}:
        return ("float", first[1])
    return None


def typed_feature(name: str, value: Any, kind: str) -> tf.train.Feature | None:
    """A feature of the declared ``kind``; '' and None are missing values."""
    values = value if isinstance(value, list) else [value]
    values = [v for v in values if v is not None and v != ""]
    if not values:
        return None
    try:
        if kind == "int":
            ints = [_as_int(v) for v in values]
            return tf.train.Feature(int64_list=tf.train.Int64List(value=ints))
        if kind == "float":
            floats = [float(v) for v in values if not isinstance(v, bool)]
            if len(floats) != len(values):
                raise ValueError("a boolean is not a float")
            return tf.train.Feature(float_list=tf.train.FloatList(value=floats))
    except (TypeError, ValueError) as err:
        raise BadRecord(f"field {name!r}: {value!r} is not {kind} ({err})") from err
    encoded = [(v if isinstance(v, str) else str(v)).encode("utf-8") for v in values]
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=encoded))


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("has a fraction")
        return int(value)
    return int(value)


def record_to_example(
    record: dict[str, Any], types: dict[str, str] | None = None
) -> tf.train.Example:
    """One record → tf.Example; with ``types``, fields not declared are a bad record."""
    features: dict[str, tf.train.Feature] = {}
    if types:
        present = {k for k, v in record.items() if v is not None and v != [] and v != ""}
        unknown = sorted(present - set(types))
        if unknown:
            raise BadRecord(f"field(s) {', '.join(unknown)} are not among the declared columns")
    for key, value in record.items():
        if types and key not in types:
            continue  # a missing value of an undeclared field
        feature = typed_feature(key, value, types[key]) if types else value_feature(value)
        if feature is not None:
            features[key] = feature
    return tf.train.Example(features=tf.train.Features(feature=features))
