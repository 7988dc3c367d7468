"""Report artifact types, named by the KFP v2 schema titles the UI renders (``system.HTML``,
``system.Markdown``). Their URI is the report file itself, as KFP expects."""

from __future__ import annotations

from tfx.types.value_artifact import ValueArtifact


class HtmlReport(ValueArtifact):
    TYPE_NAME = "system.HTML"

    def encode(self, value: str) -> bytes:
        return value.encode("utf-8")

    def decode(self, serialized_value: bytes) -> str:
        return serialized_value.decode("utf-8")


class MarkdownReport(ValueArtifact):
    TYPE_NAME = "system.Markdown"

    def encode(self, value: str) -> bytes:
        return value.encode("utf-8")

    def decode(self, serialized_value: bytes) -> str:
        return serialized_value.decode("utf-8")


# Schema title → class path, for TFX's KFP entrypoint (which imports other titles as paths).
TITLE_TO_CLASS_PATH = {
    HtmlReport.TYPE_NAME: f"{__name__}.HtmlReport",
    MarkdownReport.TYPE_NAME: f"{__name__}.MarkdownReport",
}
