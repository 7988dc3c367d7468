"""Find the newest complete model version under a serving folder and hand it on as a Model."""

from __future__ import annotations

import os
from typing import Any

from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.utils import io_utils, path_utils

from tfxd.components.baseline_model import serving

FOUND = "tfxd_baseline"  # "found" or "none": what the Evaluator reads
SOURCE = "tfxd_baseline_source"
VERSION = "tfxd_baseline_version"


SERVING = "serving"  # exec property set by the driver: the resolved version folder, "" for none


def latest_version(serving_dir: str) -> str | None:
    return serving.latest_version(serving_dir, fileio)


def resolve(source: str) -> str:
    return serving.resolve(source, fileio)


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
