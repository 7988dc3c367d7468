"""HorovodTrainer from its ``with:`` block."""

from __future__ import annotations

from typing import Any

from tfxd.components.horovod_trainer import executor
from tfxd.components.horovod_trainer.component import HorovodTrainer
from tfxd.components.horovod_trainer.params import HorovodTrainerParams
from tfxd.components.registry import BuildContext
from tfxd.components.standard.build import train_eval_args


def build(ctx: BuildContext, inputs: dict[str, Any], p: HorovodTrainerParams) -> Any:
    if ctx.target == "local":
        executor.check_workers(p.workers, f"{ctx.node_id}: with.workers")
    return HorovodTrainer(
        **inputs,
        **ctx.user_function(p.module_file, "run_fn"),
        workers=p.workers,
        checkpoint_every=p.checkpoint_every,
        custom_config=p.custom_config or None,
        **train_eval_args(p),
    )
