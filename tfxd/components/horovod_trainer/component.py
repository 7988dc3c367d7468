"""HorovodTrainer component: TFX's Trainer contract (``run_fn(fn_args)``) on N Horovod ranks."""

from __future__ import annotations

from typing import Any

from tfx.components.util import udf_utils
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import trainer_pb2
from tfx.types import channel, component_spec, standard_artifacts, standard_component_specs
from tfx.utils import json_utils

from tfxd.components.horovod_trainer.executor import Executor


class HorovodTrainerSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        **standard_component_specs.TrainerSpec.PARAMETERS,
        "workers": component_spec.ExecutionParameter(type=int),
        "checkpoint_every": component_spec.ExecutionParameter(type=int, optional=True),
    }
    INPUTS = standard_component_specs.TrainerSpec.INPUTS
    OUTPUTS = standard_component_specs.TrainerSpec.OUTPUTS
    TYPE_ANNOTATION = standard_component_specs.TrainerSpec.TYPE_ANNOTATION


class HorovodTrainer(base_component.BaseComponent):
    """Trains with the module file's ``run_fn`` on ``workers`` data-parallel Horovod ranks."""

    SPEC_CLASS = HorovodTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(
        self,
        *,
        workers: int,
        train_args: trainer_pb2.TrainArgs,
        eval_args: trainer_pb2.EvalArgs,
        checkpoint_every: int = 0,
        module_file: str | None = None,
        run_fn: str | None = None,
        custom_config: dict[str, Any] | None = None,
        **inputs: Any,
    ):
        if [bool(module_file), bool(run_fn)].count(True) != 1:
            raise ValueError("exactly one of module_file and run_fn")
        super().__init__(
            spec=HorovodTrainerSpec(
                workers=workers,
                checkpoint_every=checkpoint_every,
                train_args=train_args,
                eval_args=eval_args,
                module_file=module_file,
                run_fn=run_fn,
                custom_config=json_utils.dumps(custom_config),
                model=channel.Channel(type=standard_artifacts.Model),
                model_run=channel.Channel(type=standard_artifacts.ModelRun),
                **inputs,
            )
        )
        if udf_utils.should_package_user_modules():
            udf_utils.add_user_module_dependency(
                self,
                standard_component_specs.MODULE_FILE_KEY,
                standard_component_specs.MODULE_PATH_KEY,
            )
