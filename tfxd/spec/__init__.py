"""YAML pipeline file → typed model, with every problem located (file:line:column)."""

from __future__ import annotations

from tfxd.spec.load import (
    LoadedSpec,
    did_you_mean,
    is_uri,
    load,
    load_partial,
    parse_reference,
)
from tfxd.spec.models import PARAM_REF, Component, PipelineSpec
from tfxd.spec.yaml_loader import Document

__all__ = [
    "PARAM_REF",
    "Component",
    "Document",
    "LoadedSpec",
    "PipelineSpec",
    "did_you_mean",
    "is_uri",
    "load",
    "load_partial",
    "parse_reference",
]
