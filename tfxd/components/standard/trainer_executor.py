"""TFX's Trainer executor, with the run's input profile (``input_profile``) on its ModelRun."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from tfx.components.trainer.executor import GenericExecutor
from tfx.types import artifact_utils

from tfxd.components.standard.input_profile import INPUT_PROFILE, watching


class Executor(GenericExecutor):
    """``GenericExecutor`` whose ``run_fn`` is watched: input or compute bound, on ModelRun."""

    _stack: contextlib.ExitStack | None = None  # open while Do runs
    _watch: Any = None

    def _GetFnArgs(self, input_dict: Any, output_dict: Any, exec_properties: Any) -> Any:
        """TFX's FnArgs; inside ``Do``, watched until ``Do`` ends (GenericExecutor.Do calls this
        right before ``run_fn``)."""
        fn_args = super()._GetFnArgs(input_dict, output_dict, exec_properties)
        if self._stack is not None:
            self._watch = self._stack.enter_context(watching(fn_args))
        return fn_args

    def Do(self, input_dict: Any, output_dict: Any, exec_properties: Any) -> None:
        try:
            with contextlib.ExitStack() as self._stack:
                super().Do(input_dict, output_dict, exec_properties)
                profile = self._watch.profile() if self._watch is not None else None
        finally:
            self._stack = self._watch = None
        if profile is not None and output_dict.get("model_run"):
            model_run = artifact_utils.get_single_instance(output_dict["model_run"])
            model_run.set_string_custom_property(INPUT_PROFILE, json.dumps(profile.as_dict()))
