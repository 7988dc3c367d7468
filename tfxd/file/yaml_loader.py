"""YAML → plain Python data plus a map from each value's path to its line and column.

PyYAML's composer keeps a mark on every node; we build the data ourselves from the node graph so
that duplicate keys are reported (PyYAML silently keeps the last one) and every path is locatable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tfxd.errors import Problem

Loc = tuple[str | int, ...]


@dataclass
class Document:
    """A parsed YAML file: its data and where each path (and each mapping key) sits."""

    path: Path
    data: Any
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    text: str = ""  # what was parsed

    def where(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of ``loc``, or of its nearest located parent."""
        table = self.keys if key else self.values
        probe = tuple(loc)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def problem(self, loc: Loc, message: str, fix: str = "", *, key: bool = False) -> Problem:
        line, column = self.where(loc, key=key)
        return Problem(str(self.path), line, column, message, fix)


class _Scalars(yaml.SafeLoader):
    """Only used to turn scalar nodes into Python values with YAML 1.1 safe rules."""


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_document(path: Path, text: str | None = None) -> Document:
    """Parse ``path``; syntax errors and duplicate keys become problems, not exceptions."""
    doc = Document(path=path, data=None)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            doc.problems.append(
                Problem(
                    str(path),
                    1,
                    1,
                    f"cannot read pipeline file: {err.strerror}",
                    "check the path and its permissions",
                )
            )
            return doc
    doc.text = text
    try:
        root = yaml.compose(text, Loader=_Scalars)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        doc.problems.append(
            Problem(
                str(path),
                line,
                col,
                f"invalid YAML: {err.problem or err}",
                "fix the YAML syntax at this position",
            )
        )
        return doc
    if root is None:
        doc.problems.append(
            Problem(
                str(path), 1, 1, "the file is empty", "start from pipelines/penguin/pipeline.yaml"
            )
        )
        return doc
    constructor = _Scalars("")
    doc.data = _build(root, (), doc, constructor)
    return doc


def _build(node: yaml.Node, loc: Loc, doc: Document, constructor: yaml.SafeLoader) -> Any:
    doc.values[loc] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        constructor.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):  # {{a: b}}: a mapping as a key
                kind = "mapping" if isinstance(key_node, yaml.MappingNode) else "list"
                doc.problems.append(
                    Problem(
                        str(doc.path),
                        *_mark(key_node),
                        f"a key must be a plain value, not a {kind}",
                        "quote the key, or remove the extra braces or brackets "
                        "({{a: b}} is a mapping inside a mapping)",
                    )
                )
                continue
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                doc.problems.append(
                    doc.problem(loc, "mapping keys must be plain strings", "quote the key")
                )
                continue
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                first = doc.keys[(*loc, key)]
                doc.problems.append(
                    Problem(
                        str(doc.path),
                        *_mark(key_node),
                        f"duplicate key '{key}' (first defined at line {first[0]})",
                        "remove one of the two definitions",
                    )
                )
                continue
            doc.keys[(*loc, key)] = _mark(key_node)
            out[key] = _build(value_node, (*loc, key), doc, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), doc, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)
