"""tfxd: declarative production ML pipelines on TFX and Kubeflow."""

from __future__ import annotations

import os

# Models are tf_keras models: TFX 1.16's BulkInferrer and Horovod break under Keras 3.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tfxd.autograph import leave_tf_keras_unconverted

leave_tf_keras_unconverted()

__version__ = "0.1.0"
