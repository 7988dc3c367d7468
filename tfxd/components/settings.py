"""What an executor reads back from its exec properties, typed.

A component's builder turns its ``with:`` model into a :class:`Settings` model (resolved paths,
the node, the span, ML Metadata by reference) and hands it to the component as JSON or, for
ExampleGens, as a Struct packed into TFX's ``CustomConfig`` proto; the executor reads the same
model back. They travel in exec properties, so into ML Metadata and compiled specs: references
only, never a secret.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ValidationError

from tfxd.components.registry import Params
from tfxd.errors import TfxdError

S = TypeVar("S", bound="Settings")


class Settings(Params):
    """Base of the models executors read back; ``None`` fields are left out when written."""

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json(self) -> str:
        return json.dumps(self.dump(), sort_keys=True)

    def pack(self) -> Any:
        """As TFX's ``CustomConfig`` proto (a Struct inside), what ExampleGens take."""
        from google.protobuf import struct_pb2
        from tfx.proto import example_gen_pb2

        packed = struct_pb2.Struct()
        packed.update(self.dump())
        custom = example_gen_pb2.CustomConfig()
        custom.custom_config.Pack(packed)
        return custom

    @classmethod
    def read(cls: type[S], values: dict[str, Any]) -> S:
        try:
            return cls.model_validate(values)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(settings)'}: {e['msg']}" for e in err.errors()
            )
            raise TfxdError(
                f"{cls.__name__}: the executor's settings do not match this tfxd ({problems}): "
                "compile and run the pipeline with the same tfxd version"
            ) from None

    @classmethod
    def from_json(cls: type[S], raw: str | None) -> S:
        return cls.read(json.loads(raw or "{}"))

    @classmethod
    def unpack(cls: type[S], raw: str | None) -> S:
        """From the ``custom_config`` exec property (JSON of ``CustomConfig``)."""
        from google.protobuf import json_format, struct_pb2
        from tfx.proto import example_gen_pb2
        from tfx.utils import proto_utils

        custom = example_gen_pb2.CustomConfig()
        proto_utils.json_to_proto(raw or "{}", custom)
        values = struct_pb2.Struct()
        custom.custom_config.Unpack(values)
        return cls.read(json_format.MessageToDict(values))
