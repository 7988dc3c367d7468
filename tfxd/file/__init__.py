"""YAML pipeline file → typed model, with every problem located (file:line:column)."""

from __future__ import annotations

from tfxd.file.load import (
    LoadedFile,
    is_uri,
    load,
    load_partial,
    parse_reference,
)
from tfxd.file.models import PARAM_REF, Component, PipelineFile
from tfxd.file.problems import did_you_mean
from tfxd.file.yaml_loader import Document

__all__ = [
    "PARAM_REF",
    "Component",
    "Document",
    "LoadedFile",
    "PipelineFile",
    "did_you_mean",
    "is_uri",
    "load",
    "load_partial",
    "parse_reference",
]
