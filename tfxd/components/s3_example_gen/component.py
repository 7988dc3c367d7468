"""S3ExampleGen: TFX's FileBasedExampleGen reading s3:// prefixes, with an ETag fingerprint."""

from __future__ import annotations

from typing import Any

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from tfxd.components.s3_example_gen.executor import EXECUTORS, S3Driver


class S3ExampleGen(FileBasedExampleGen):
    """Examples (splits, span, version) from CSV, TFRecord, Parquet or JSON-lines objects on S3."""

    DRIVER_CLASS = S3Driver

    def __init__(self, *, format: str, **kwargs: Any):
        super().__init__(
            custom_executor_spec=executor_spec.BeamExecutorSpec(EXECUTORS[format]), **kwargs
        )
