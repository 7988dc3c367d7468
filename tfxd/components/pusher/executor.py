"""TFX's Pusher executor for filesystem destinations, keeping model versions as tfxd does: an
atomic version with a manifest, the serving pointer moved to it, the same model never twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfx.components.pusher import executor as tfx_pusher
from tfx.proto import pusher_pb2
from tfx.utils import proto_utils

from tfxd.components.pusher.params import PusherSettings
from tfxd.errors import TfxdError
from tfxd.infra.versions import (
    Destination,
    already_pushed,
    mark_not_pushed,
    mark_pushed,
    push_saved_model,
)


def destination(exec_properties: dict[str, Any]) -> Destination:
    """TFX's layout: versions directly under the base directory, which is the model base path
    TF Serving reads; the pointer ``models.config`` sits in it too (TF Serving ignores it)."""
    config = pusher_pb2.PushDestination()
    proto_utils.json_to_proto(exec_properties["push_destination"], config)
    if config.WhichOneof("destination") != "filesystem":
        raise TfxdError("Pusher: only a filesystem destination keeps model versions")
    custom = PusherSettings.from_json(exec_properties.get("custom_config"))
    base = Path(config.filesystem.base_directory)
    return Destination(custom.node, base, custom.model_name or base.name, base)


class Executor(tfx_pusher.Executor):
    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        [pushed] = output_dict["pushed_model"]
        dest = destination(exec_properties)
        if not self.CheckBlessing(input_dict):
            mark_not_pushed(pushed, "the model is not blessed")
            return
        saved_model = self.GetModelPath(input_dict)  # the model, or the InfraBlessing's copy
        twice = already_pushed(dest, saved_model)
        if twice:
            mark_not_pushed(pushed, twice)
            return
        custom = PusherSettings.from_json(exec_properties.get("custom_config"))
        record = {"source_model": saved_model, "span": custom.span, "blessed": True}
        version = push_saved_model(dest, saved_model, record)
        mark_pushed(pushed, dest, version)
