"""tfxd's CsvExampleGen: TFX's FileBasedExampleGen with the executor that sets bad rows aside."""

from __future__ import annotations

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from tfxd.components.example_gen.executor import CsvExecutor


class CsvExampleGen(FileBasedExampleGen):
    """Examples from CSV files, as TFX's CsvExampleGen makes them, bad rows set aside."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(CsvExecutor)
