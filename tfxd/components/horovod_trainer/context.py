"""What a ``run_fn`` sees of Horovod: its rank, the world size, a checkpoint folder, and helpers.

The same module file runs under the plain ``Trainer`` (one process, ``size == 1``) and under
``HorovodTrainer`` (``size == workers``): every helper is a no-op for one process. Horovod is
imported only when there is more than one process.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

ENV = "TFXD_HOROVOD"  # JSON the worker sets before it calls run_fn


@dataclass(frozen=True)
class HorovodContext:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    checkpoint_dir: str = ""  # this rank's folder; kept across a crash, removed on success
    checkpoint_every: int = 0  # steps between checkpoints (0: at the end of each epoch)

    @property
    def is_chief(self) -> bool:
        """Rank 0: the only rank whose model is kept."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def optimizer(self, optimizer: Any) -> Any:
        """Averages gradients over the ranks (Horovod's DistributedOptimizer) when distributed."""
        if not self.distributed:
            return optimizer
        return _hvd_keras().DistributedOptimizer(optimizer)

    def callbacks(self) -> list[Any]:
        """Keras callbacks: rank 0's initial weights to every rank, metrics averaged over the
        ranks, and a backup that a re-run after a crash resumes from."""
        import tf_keras

        result: list[Any] = []
        if self.distributed:
            hvd = _hvd_keras()
            result += [hvd.callbacks.BroadcastGlobalVariablesCallback(0)]
            result += [hvd.callbacks.MetricAverageCallback()]
        if self.checkpoint_dir:
            result.append(
                tf_keras.callbacks.BackupAndRestore(
                    self.checkpoint_dir, save_freq=self.checkpoint_every or "epoch"
                )
            )
        return result

    def exportable(self, model: Any) -> Any:
        """A copy of a trained Keras model (same layers, names and weights) that was never
        compiled with Horovod's optimizer, so its SavedModel has no Horovod ops; save this one."""
        if not self.distributed:
            return model
        import tf_keras

        clean = tf_keras.models.clone_model(model)
        clean.set_weights(model.get_weights())
        return clean


def horovod_context() -> HorovodContext:
    """The context of this process: from HorovodTrainer's worker, else one process."""
    raw = os.environ.get(ENV)
    return HorovodContext(**json.loads(raw)) if raw else HorovodContext()


def _hvd_keras() -> Any:
    """``horovod.tensorflow.keras`` wired to tf_keras (its callbacks import Keras 3 otherwise,
    and Keras 3 makes Horovod stop averaging without an error)."""
    import horovod.tensorflow.keras as hvd
    import horovod.tensorflow.keras.callbacks as hvd_callbacks
    import tf_keras

    # horovod/_keras/callbacks.py receives K from this module; Keras 3's backend lacks the
    # tf_keras variables the callbacks read.
    hvd_callbacks.K = tf_keras.backend
    return hvd
