"""A custom ExampleGen's settings as a Struct packed into TFX's ``CustomConfig`` proto: how they
travel in exec properties (and so into ML Metadata and compiled specs: references only)."""

from __future__ import annotations

from typing import Any


def pack(settings: dict[str, Any]) -> Any:
    from google.protobuf import struct_pb2
    from tfx.proto import example_gen_pb2

    packed = struct_pb2.Struct()
    packed.update(settings)
    custom = example_gen_pb2.CustomConfig()
    custom.custom_config.Pack(packed)
    return custom


def unpack(raw: str | None) -> dict[str, Any]:
    """The settings from the ``custom_config`` exec property (JSON of ``CustomConfig``)."""
    from google.protobuf import json_format, struct_pb2
    from tfx.proto import example_gen_pb2
    from tfx.utils import proto_utils

    custom = example_gen_pb2.CustomConfig()
    proto_utils.json_to_proto(raw or "{}", custom)
    settings = struct_pb2.Struct()
    custom.custom_config.Unpack(settings)
    return json_format.MessageToDict(settings)
