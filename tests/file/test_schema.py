"""The committed JSON Schema is generated from the models and validates the example."""

from __future__ import annotations

import json

import jsonschema
import yaml

from tests.conftest import PENGUIN, REPO
from tfxd.components.catalogue import registry
from tfxd.file.json_schema import render_schema

SCHEMA = REPO / "schemas" / "pipeline.schema.json"


class _EditorLoader(yaml.SafeLoader):
    """Dates stay strings, as an editor's YAML language server sees them."""


_EditorLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def test_schema_is_current():
    current = render_schema({name: t.params for name, t in registry().items()})
    assert SCHEMA.read_text() == current, f"stale schema: run `tfxd json-schema -o {SCHEMA}`"


def test_example_validates_and_schema_catches_bad_params():
    schema = json.loads(SCHEMA.read_text())
    text = (PENGUIN / "pipeline.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/pipeline.schema.json")
    data = yaml.load(text, Loader=_EditorLoader)
    jsonschema.validate(data, schema)
    data["spec"]["components"]["train"]["with"]["train_stepz"] = 1
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as err:
        assert "train_stepz" in err.message
    else:
        raise AssertionError("schema accepted an unknown Trainer parameter")
