"""What a served model's signature parses, read from its own graph, and raw JSON instances turned
into the serialized tf.Examples it takes.

TFX-style serving signatures take one string tensor of serialized tf.Examples and parse it with
``tf.io.parse_example``; the ``ParseExampleV2`` op in the signature's graph names every feature,
its type, whether it is fixed-size and whether it has a default. That is the exact contract of
each version (it follows a rollback to an older schema), so requests are checked against it.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

from tfxd.errors import TfxdError

KINDS = {1: "float", 9: "int", 7: "bytes"}  # DataType enum: DT_FLOAT, DT_INT64, DT_STRING
KIND_WORDS = {"float": "a number", "int": "an integer", "bytes": "a string"}
KIND_NAMES = {"float": "a float", "int": "an integer", "bytes": "a string"}


class BadRequest(TfxdError):
    """A request the served model cannot take; the message names the field and the fix."""


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # float | int | bytes
    required: bool  # fixed-size with no default: every example must hold it
    size: int | None  # values per example for a fixed-size feature, None when variable


@dataclass(frozen=True)
class Signature:
    """A serving signature over serialized tf.Examples."""

    input_key: str  # the string input, e.g. "examples"
    features: dict[str, Feature]
    outputs: list[str]

    @property
    def required(self) -> list[str]:
        return sorted(name for name, f in self.features.items() if f.required)


def read_signature(fn: Any) -> Signature:
    """The parse spec of a loaded concrete function; :class:`BadRequest`-free: raises
    :class:`TfxdError` when the signature does not take serialized tf.Examples."""
    import tensorflow as tf

    inputs = fn.structured_input_signature[1]
    strings = [k for k, spec in inputs.items() if spec.dtype == tf.string and spec.shape.rank == 1]
    if len(inputs) != 1 or not strings:
        raise TfxdError(
            f"its signature takes {sorted(inputs)}, not one string tensor of serialized "
            "tf.Examples (the shape TFX's serving signatures have)"
        )
    graph = fn.graph.as_graph_def()
    bodies = [list(graph.node)] + [list(f.node_def) for f in graph.library.function]
    for nodes in bodies:
        for node in nodes:
            if node.op == "ParseExampleV2":
                features = _parsed(node, {n.name: n for n in nodes})
                return Signature(strings[0], features, sorted(fn.structured_outputs))
    raise TfxdError("its signature parses no tf.Example (no ParseExampleV2 op in its graph)")


def _parsed(node: Any, by_name: dict[str, Any]) -> dict[str, Feature]:
    import tensorflow as tf

    args = [name for name in node.input if not name.startswith("^")]

    def const(name: str) -> Any:
        source = by_name.get(name.split(":")[0])
        if source is None or source.op != "Const":
            return None
        return tf.make_ndarray(source.attr["value"].tensor)

    def keys(index: int) -> list[str]:
        value = const(args[index])
        return [] if value is None else [k.decode() for k in value.reshape(-1)]

    sparse, dense, ragged = keys(2), keys(3), keys(4)
    features: dict[str, Feature] = {}
    dense_types = node.attr["Tdense"].list.type
    shapes = node.attr["dense_shapes"].list.shape
    for i, name in enumerate(dense):
        default = const(args[5 + i])
        size = math.prod(d.size for d in shapes[i].dim)
        required = default is not None and default.size == 0
        features[name] = Feature(name, KINDS.get(dense_types[i], "bytes"), required, size)
    for names, types in (
        (sparse, node.attr["sparse_types"].list.type),
        (ragged, node.attr["ragged_value_types"].list.type),
    ):
        for name, dtype in zip(names, types, strict=True):
            features[name] = Feature(name, KINDS.get(dtype, "bytes"), False, None)
    return features


def _values(feature: Feature, value: Any, where: str) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict) and set(item) == {"b64"} and feature.kind == "bytes":
            out.append(_b64(item["b64"], f"{where}.b64"))
        elif feature.kind == "bytes" and isinstance(item, str):
            out.append(item.encode())
        elif feature.kind == "float" and _number(item):
            out.append(float(item))
        elif feature.kind == "int" and _number(item) and float(item).is_integer():
            out.append(int(item))
        else:
            kind = KIND_NAMES[feature.kind]
            raise BadRequest(
                f"{where}: {feature.name!r} is {_shown(item)}; it is {kind} feature: "
                f"send {KIND_WORDS[feature.kind]}"
            )
    if feature.size is not None and out and len(out) != feature.size:
        raise BadRequest(
            f"{where}: {feature.name!r} holds {len(out)} values; the model takes exactly "
            f"{feature.size} per instance"
        )
    return out


def _number(item: Any) -> bool:
    return isinstance(item, int | float) and not isinstance(item, bool) and math.isfinite(item)


def _shown(item: Any) -> str:
    text = repr(item)
    return (text[:40] + "…") if len(text) > 40 else text


def _b64(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise BadRequest(f"{where}: expected base64 text, got {_shown(text)}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise BadRequest(f"{where}: not valid base64 ({err}): encode the bytes as base64") from err


def to_example(instance: dict[str, Any], signature: Signature, where: str) -> bytes:
    """One JSON instance of raw features → a serialized tf.Example. Features the model does not
    read are kept (the request log sees what clients sent); null means absent."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    slots = example.features.feature
    for name, value in instance.items():
        if value is None or value == []:
            continue
        feature = signature.features.get(name)
        kind = type(value)
        if feature is not None and feature.size in (None, 1):  # the common case, kept short
            if feature.kind == "float" and (
                kind is int or (kind is float and math.isfinite(value))
            ):
                slots[name].float_list.value.append(value)
                continue
            if feature.kind == "int" and kind is int:
                slots[name].int64_list.value.append(value)
                continue
            if feature.kind == "bytes" and kind is str:
                slots[name].bytes_list.value.append(value.encode())
                continue
        feature = feature or _guess(name, value, where)
        values = _values(feature, value, where)
        slot = slots[name]
        if feature.kind == "float":
            slot.float_list.value.extend(values)
        elif feature.kind == "int":
            slot.int64_list.value.extend(values)
        else:
            slot.bytes_list.value.extend(values)
    for name in signature.required:
        if instance.get(name) in (None, []):
            raise BadRequest(
                f"{where}: {name!r} is missing; the model requires it (its signature parses it "
                f"with no default): add {name!r} to every instance"
            )
    return example.SerializeToString()


def _guess(name: str, value: Any, where: str) -> Feature:
    """A feature the model does not parse: typed from its JSON value, so it is logged as sent."""
    first = value[0] if isinstance(value, list) and value else value
    if isinstance(first, bool) or not isinstance(first, int | float | str | dict):
        raise BadRequest(f"{where}: {name!r} is {_shown(value)}: send numbers or strings")
    if isinstance(first, int):
        kind = "int" if all(isinstance(v, int) for v in _listed(value)) else "float"
    else:
        kind = "float" if isinstance(first, float) else "bytes"
    return Feature(name, kind, False, None)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def examples_of(instances: Any, signature: Signature, max_rows: int) -> list[bytes]:
    """TF Serving's request rows → serialized tf.Examples: each row is an object of raw features,
    ``{"b64": …}`` (a serialized tf.Example) or ``{"<input>": {"b64": …}}``."""
    if not isinstance(instances, list) or not instances:
        raise BadRequest(
            '"instances" must be a non-empty list of rows: {"instances": [{"feature": value}]}'
        )
    if len(instances) > max_rows:
        raise BadRequest(
            f"{len(instances)} instances in one request; this server takes at most {max_rows} "
            "(tfxd serve --max-rows): split the request"
        )
    out, sent = [], []  # sent: rows that came serialized, checked below
    for i, row in enumerate(instances):
        where = f"instances[{i}]"
        if not isinstance(row, dict):
            raise BadRequest(
                f"{where} is {_shown(row)}: each instance is an object of raw features or "
                '{"b64": <serialized tf.Example>}'
            )
        if set(row) == {"b64"}:
            out.append(_b64(row["b64"], f"{where}.b64"))
            sent.append(i)
        elif set(row) == {signature.input_key} and isinstance(row[signature.input_key], dict):
            out.append(_b64(row[signature.input_key].get("b64"), f"{where}.{signature.input_key}"))
            sent.append(i)
        else:
            out.append(to_example(row, signature, where))
    if sent:
        check_examples([out[i] for i in sent], signature, sent)
    return out


def check_examples(
    serialized: list[bytes], signature: Signature, rows: list[int] | None = None
) -> None:
    """Serialized tf.Examples parse and hold every required feature (else a 400, not a 500 from
    inside the graph); ``rows``: their places in the request, for the messages."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.example import example_pb2

    for k, data in enumerate(serialized):
        i = rows[k] if rows is not None else k
        example = example_pb2.Example()
        try:
            example.ParseFromString(data)
        except DecodeError as err:
            raise BadRequest(
                f"instances[{i}]: the b64 bytes are not a serialized tf.Example: "
                "send Example.SerializeToString(), base64-encoded"
            ) from err
        held = example.features.feature
        for name in signature.required:
            if name not in held:
                raise BadRequest(
                    f"instances[{i}]: the tf.Example has no {name!r}; the model requires it: "
                    "add it to every example"
                )
        for name, slot in held.items():
            feature = signature.features.get(name)
            kind = slot.WhichOneof("kind")
            want = {"float": "float_list", "int": "int64_list", "bytes": "bytes_list"}
            if feature is not None and kind is not None and kind != want[feature.kind]:
                raise BadRequest(
                    f"instances[{i}]: {name!r} is a {kind} in the tf.Example; the model parses "
                    f"a {want[feature.kind]}: send {KIND_WORDS[feature.kind]}"
                )
