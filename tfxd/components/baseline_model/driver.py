"""BaselineModel's driver: resolves what serves before the cache check, so the node is cached
exactly while the serving version is unchanged (local runs and Airflow)."""

from __future__ import annotations

from typing import Any

from tfx.dsl.components.base import base_driver
from tfx.orchestration import data_types_utils
from tfx.proto.orchestration import driver_output_pb2

from tfxd.components.baseline_model.executor import SERVING, resolve


class ServingDriver(base_driver.BaseDriver):
    """Adds the serving version folder to the exec properties: the cache key of TFX's launchers
    (the portable one in ``tfxd run``, the Airflow one) covers exec properties."""

    def resolve_exec_properties(
        self, exec_properties: dict[str, Any], pipeline_info: Any, component_info: Any
    ) -> dict[str, Any]:
        return {**exec_properties, SERVING: resolve(exec_properties["source"])}

    def run(self, execution_info: Any) -> driver_output_pb2.DriverOutput:
        """The portable launcher's entry point."""
        result = driver_output_pb2.DriverOutput()
        resolved = self.resolve_exec_properties(execution_info.exec_properties, None, None)
        data_types_utils.set_metadata_value(result.exec_properties[SERVING], resolved[SERVING])
        return result
