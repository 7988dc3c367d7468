"""Find the newest complete model version under a serving folder and hand it on as a Model."""

from __future__ import annotations

import os
from typing import Any

from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.utils import io_utils, path_utils

from tfxd.components.versions import POINTER, pointed
from tfxd.errors import TfxdError

FOUND = "tfxd_baseline"  # "found" or "none": what the Evaluator reads
SOURCE = "tfxd_baseline_source"
VERSION = "tfxd_baseline_version"


def serving_pointer(serving_dir: str) -> str | None:
    """The version folder the serving pointer (``models.config``, written by tfxd's pushers and
    ``tfxd rollback``) pins."""
    pointer = os.path.join(serving_dir, POINTER)
    if not fileio.exists(pointer):
        return None
    with fileio.open(pointer, "r") as handle:
        found = pointed(handle.read())
    if found is None:
        raise TfxdError(f"BaselineModel: {pointer} should serve exactly one model version")
    return found


def latest_version(serving_dir: str) -> str | None:
    """The newest version folder under ``serving_dir`` holding a SavedModel: the largest
    numeric name (the Pusher's versions are timestamps). Half-written folders lack
    saved_model.pb and are skipped; a missing folder means no model yet."""
    if not fileio.exists(serving_dir):
        return None
    if not fileio.isdir(serving_dir):
        raise TfxdError(f"BaselineModel: source {serving_dir} is not a folder")
    versions = []
    for name in fileio.listdir(serving_dir):
        name = name.rstrip("/")
        if name.isdigit() and fileio.exists(os.path.join(serving_dir, name, "saved_model.pb")):
            versions.append(int(name))
    return str(max(versions)) if versions else None


SERVING = "serving"  # exec property set by the driver: the resolved version folder, "" for none


def resolve(source: str) -> str:
    """The version folder serving now: the one the serving pointer pins, else the newest; ""
    when there is none yet. A version folder never changes once pushed, so this string is what
    the result depends on (the driver puts it into the cache key)."""
    found = serving_pointer(source)
    if found is not None:
        return found
    version = latest_version(source)
    return os.path.join(source, version) if version is not None else ""


class Executor(base_executor.BaseExecutor):
    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        [model] = output_dict["model"]
        source = exec_properties["source"]
        found = exec_properties.get(SERVING)
        if found is None:  # run without the driver (e.g. on Kubeflow): resolve here
            found = resolve(source)
        if not found:
            model.set_string_custom_property(FOUND, "none")
            model.set_string_custom_property(SOURCE, source)
            return
        # The Evaluator reads <model uri>/Format-Serving, as for a Trainer's model.
        io_utils.copy_dir(found, path_utils.serving_model_dir(model.uri))
        model.set_string_custom_property(FOUND, "found")
        model.set_string_custom_property(SOURCE, found)
        model.set_string_custom_property(VERSION, os.path.basename(found.rstrip("/")))
