"""Every component type, in one plain list: TFX's standard ones and tfxd's own.

Adding a type: a folder with ``params.py`` (its ``with:`` model and ``TYPE``), ``build.py``,
``component.py`` and ``executor.py``, and one line here. Nothing here imports TFX.
"""

from __future__ import annotations

from tfxd.components.baseline_model.params import TYPE as BASELINE_MODEL
from tfxd.components.bigquery_example_gen.params import TYPE as BIGQUERY_EXAMPLE_GEN
from tfxd.components.drift_validator.params import TYPE as DRIFT_VALIDATOR
from tfxd.components.horovod_trainer.params import TYPE as HOROVOD_TRAINER
from tfxd.components.kafka_example_gen.params import TYPE as KAFKA_EXAMPLE_GEN
from tfxd.components.pubsub_example_gen.params import TYPE as PUBSUB_EXAMPLE_GEN
from tfxd.components.pusher.params import TYPE as PUSHER
from tfxd.components.registry import ComponentType
from tfxd.components.s3_example_gen.params import TYPE as S3_EXAMPLE_GEN
from tfxd.components.sql_example_gen.params import TYPE as SQL_EXAMPLE_GEN
from tfxd.components.standard.params import TYPES as STANDARD
from tfxd.components.tflite_pusher.params import TYPE as TFLITE_PUSHER
from tfxd.errors import TfxdError

CATALOGUE: tuple[ComponentType, ...] = (
    *STANDARD,
    S3_EXAMPLE_GEN,
    SQL_EXAMPLE_GEN,
    BIGQUERY_EXAMPLE_GEN,
    PUBSUB_EXAMPLE_GEN,
    KAFKA_EXAMPLE_GEN,
    HOROVOD_TRAINER,
    DRIFT_VALIDATOR,
    BASELINE_MODEL,
    PUSHER,
    TFLITE_PUSHER,
)


def registry() -> dict[str, ComponentType]:
    """Every known component type (standard TFX ones and ours), by YAML name."""
    types: dict[str, ComponentType] = {}
    for component_type in CATALOGUE:
        if component_type.name in types:
            raise TfxdError(f"component type '{component_type.name}' is listed twice")
        types[component_type.name] = component_type
    return types
