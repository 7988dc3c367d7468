"""JSON Schema of the pipeline file, generated from the models (editors validate with it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from tfxd.file.models import PipelineFile

SCHEMA_ID = "https://tfxd.dev/schemas/pipeline.schema.json"
PARAM_REF_SCHEMA = {
    "type": "string",
    "pattern": r"^\$\{\{\s*parameters\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$",
    "description": "A pipeline parameter: ${{ parameters.NAME }}",
}


def build_schema(params: Mapping[str, type[BaseModel]]) -> dict[str, Any]:
    """The file's schema; ``params`` maps each component type to the model of its ``with:``."""
    schema = PipelineFile.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
    component = defs["Component"]
    component["properties"]["type"]["enum"] = sorted(params)
    rules = []
    for type_name in sorted(params):
        sub = params[type_name].model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        for name, definition in sub.pop("$defs", {}).items():
            defs.setdefault(name, definition)
        for name, prop in sub.get("properties", {}).items():
            sub["properties"][name] = {"anyOf": [prop, PARAM_REF_SCHEMA]}
        defs[f"with.{type_name}"] = sub
        rules.append(
            {
                "if": {"properties": {"type": {"const": type_name}}, "required": ["type"]},
                "then": {"properties": {"with": {"$ref": f"#/$defs/with.{type_name}"}}},
            }
        )
    component["allOf"] = rules
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def render_schema(params: Mapping[str, type[BaseModel]]) -> str:
    return json.dumps(build_schema(params), indent=2, sort_keys=True) + "\n"
