"""The file ExampleGens' driver: TFX's, with a fingerprint of the input files' contents.

TFX's ``FileBasedDriver`` fingerprints a split by its files' count, total bytes and modification
seconds, so rewriting identical bytes breaks the cache and changing bytes within the same size
and second keeps it. This driver resolves the span as TFX does and then fingerprints what each
split reads by content (``infra.fingerprints``), as ``tfxd plan`` does; within a run each file is
hashed once. Remote bases keep TFX's fingerprint.
"""

from __future__ import annotations

from typing import Any

from tfx.components.example_gen import driver
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs as specs
from tfx.utils import proto_utils

from tfxd.infra.fingerprints import content_hashes, fingerprint_text

FINGERPRINT = "input_fingerprint"


class ContentDriver(driver.FileBasedDriver):
    def resolve_exec_properties(
        self, exec_properties: dict[str, Any], pipeline_info: Any, component_info: Any
    ) -> dict[str, Any]:
        props = super().resolve_exec_properties(exec_properties, pipeline_info, component_info)
        base = props.get(specs.INPUT_BASE_KEY) or ""
        if base and "://" not in base:
            config = example_gen_pb2.Input()
            proto_utils.json_to_proto(props[specs.INPUT_CONFIG_KEY], config)
            patterns = {split.name: split.pattern for split in config.splits}
            props[FINGERPRINT] = fingerprint_text(content_hashes(base, patterns))
        return props
