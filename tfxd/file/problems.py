"""Problems with fixes: pydantic's errors located in the file, and "did you mean" for a name."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from tfxd.errors import Problem
from tfxd.file.yaml_loader import Document, Loc


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def pydantic_problems(
    doc: Document, err: ValidationError, model: type[BaseModel], prefix: Loc = ()
) -> list[Problem]:
    """Turn pydantic errors into located problems, with "did you mean" for unknown keys."""
    out = []
    for item in err.errors():
        loc: Loc = (*prefix, *item["loc"])
        kind = item["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            allowed = allowed_keys(model, tuple(item["loc"][:-1]))
            hint = did_you_mean(key, allowed)
            fix = hint or f"allowed keys here: {', '.join(sorted(allowed))}"
            out.append(doc.problem(loc, f"unknown key '{key}'", fix, key=True))
        elif kind == "missing":
            out.append(
                doc.problem(loc[:-1], f"missing required key '{loc[-1]}'", f"add '{loc[-1]}:'")
            )
        elif kind == "literal_error":
            expected = item.get("ctx", {}).get("expected", "")
            out.append(doc.problem(loc, f"'{_dotted(loc)}' must be {expected}", f"use {expected}"))
        else:
            msg = item["msg"].removeprefix("Value error, ")
            out.append(
                doc.problem(loc, f"'{_dotted(loc)}': {msg}", _type_fix(kind, item.get("input")))
            )
    return out


def _dotted(loc: Loc) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _type_fix(kind: str, value: Any) -> str:
    fixes = {
        "int_parsing": "write a whole number",
        "int_type": "write a whole number",
        "float_parsing": "write a number",
        "bool_parsing": "write true or false",
        "string_type": "write a string (quote it)",
        "dict_type": "write a mapping (key: value)",
        "list_type": "write a list (- item)",
        "string_pattern_mismatch": "change the value to match the pattern",
        "too_short": "add at least one entry",
    }
    return fixes.get(kind, "see the pipeline file reference in docs/reference.md")


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """Keys allowed at ``loc`` (a path of keys inside ``model``)."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    return _fields(current)


def _fields(annotation: Any) -> list[str]:
    model = _model_in(annotation)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if (
        isinstance(annotation, type)
        and not typing.get_args(annotation)
        and issubclass(annotation, BaseModel)
    ):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _step(annotation: Any, part: str | int) -> Any:
    model = _model_in(annotation)
    if model is not None:
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin is list and args:
        return args[0]
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        for arg in args:
            found = _step(arg, part)
            if found is not None:
                return found
    return None
