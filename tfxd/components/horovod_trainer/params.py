"""HorovodTrainer's ``with:`` block and its component type."""

from __future__ import annotations

from pydantic import Field

from tfxd.components.registry import TRAINER_INPUTS, TRAINER_OUTPUTS, Checks, ComponentType
from tfxd.components.standard.params import TrainParams, trainer_expects


class HorovodTrainerParams(TrainParams):
    workers: int = Field(2, ge=1, le=64, description="Data-parallel Horovod ranks (processes).")
    checkpoint_every: int = Field(
        0, ge=0, description="Steps between checkpoints a re-run resumes from (0: every epoch)."
    )


TYPE = ComponentType(
    "HorovodTrainer",
    HorovodTrainerParams,
    "tfxd.components.horovod_trainer.component:HorovodTrainer",
    "tfxd.components.horovod_trainer.build:build",
    "run_fn from the module file on N data-parallel Horovod ranks",
    consumes=TRAINER_INPUTS,
    produces=TRAINER_OUTPUTS,
    checks=Checks(expects=trainer_expects),
)
