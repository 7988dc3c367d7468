"""AutoGraph leaves tf_keras's own code as it is, as TensorFlow already does for ``keras``.

TensorFlow 2.16's AutoGraph does not convert the ``keras`` package inside a ``tf.function``, but
it does convert ``tf_keras``, which is what ``tf.keras`` is under ``TF_USE_LEGACY_KERAS=1``. So
each ``model.fit`` re-wrote tf_keras's whole training step into graph code before its first batch:
on the penguin example's Trainer, 26 of its 34 s. tf_keras is the Keras 2 code that AutoGraph has
always left alone under the name ``keras``, so the rule changes no result (the same model trained
with and without it has bit-identical weights; docs/decisions.md).

:func:`leave_tf_keras_unconverted` adds the rule once TensorFlow's AutoGraph configuration is
imported, without importing TensorFlow itself: ``tfxd`` calls it on import, so every process that
runs an executor (runs, workers, Horovod ranks, Kubeflow tasks, Airflow tasks) has it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any

CONFIG = "tensorflow.python.autograph.core.config"
PACKAGE = "tf_keras"


def _add_rule(config: ModuleType) -> None:
    rules = tuple(config.CONVERSION_RULES)
    if any(getattr(rule, "_prefix", None) == PACKAGE for rule in rules):
        return
    config.CONVERSION_RULES = (*rules, config.DoNotConvert(PACKAGE))


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when AutoGraph's config module is loaded, adds the rule after it."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != CONFIG:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)  # the other finders (this one has stepped aside)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            _add_rule(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def leave_tf_keras_unconverted() -> None:
    """Add AutoGraph's do-not-convert rule for ``tf_keras``, now or when TensorFlow is imported."""
    config = sys.modules.get(CONFIG)
    if config is not None:
        _add_rule(config)
    elif not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
