"""HorovodTrainer: TFX's Trainer contract on N data-parallel Horovod ranks (Gloo, one machine).

``horovod_context`` is what a module file's ``run_fn`` imports; it does not import TFX or Horovod.
"""

from tfxd.components.horovod_trainer.context import HorovodContext, horovod_context

__all__ = ["HorovodContext", "horovod_context"]
