"""The subset of CEL that TFX writes into ``triggerPolicy.condition``.

TFX's KFP v2 compiler emits: input artifact lists indexed and read through ``.metadata['k']`` or
``.uri``, string and number literals, ``+``, ``==`` / ``<`` / ``>``, ``!``, ``&&`` and ``||``
(``tfx.orchestration.kubeflow.v2.compiler_utils.placeholder_to_cel``). Anything else is refused.
"""

from __future__ import annotations

import re
from typing import Any

from tfxd.errors import TfxdError

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[<>!+()\[\].])|(?P<name>[A-Za-z_]\w*))"
)


class CelError(TfxdError):
    """A condition uses CEL beyond what TFX emits, or reads something that is not there."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise CelError(f"cannot parse condition {text!r} at column {pos + 1}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, env: dict[str, Any]):
        self.text, self.env = text, env
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise CelError(f"condition {self.text!r} ends too early")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise CelError(f"condition {self.text!r}: expected {expected!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise CelError(f"condition {self.text!r}: unexpected {self.peek()!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = bool(value) or bool(right)
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = bool(value) and bool(right)
        return value

    def compare(self) -> Any:
        left = self.sum()
        op = self.peek()
        if op in ("==", "!=", "<", ">", "<=", ">="):
            self.take()
            right = self.sum()
            if isinstance(left, int | float) and isinstance(right, int | float):
                left, right = float(left), float(right)
            elif type(left) is not type(right):
                raise CelError(f"condition {self.text!r}: cannot compare {left!r} with {right!r}")
            return {
                "==": left == right,
                "!=": left != right,
                "<": left < right,
                ">": left > right,
                "<=": left <= right,
                ">=": left >= right,
            }[op]
        return left

    def sum(self) -> Any:
        value = self.unary()
        while self.peek() == "+":
            self.take()
            value = value + self.unary()
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not bool(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                name = self.take()[1]
                value = self.lookup(value, name)
            else:
                kind, key = self.take()
                self.take("]")
                index: Any = int(float(key)) if kind == "num" else _unquote(key)
                value = self.lookup(value, index)
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind == "num":
            return float(text)
        if kind == "str":
            return _unquote(text)
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if text not in self.env:
                raise CelError(f"condition {self.text!r}: unknown name {text!r}")
            return self.env[text]
        raise CelError(f"condition {self.text!r}: unexpected {text!r}")

    def lookup(self, value: Any, key: Any) -> Any:
        try:
            return value[key]
        except (KeyError, IndexError, TypeError):
            raise CelError(f"condition {self.text!r}: no {key!r} in {value!r}") from None


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def evaluate(condition: str, inputs: dict[str, Any]) -> bool:
    """Evaluate ``condition`` against ``inputs`` ({'artifacts': {key: {'artifacts': [...]}},
    'parameter_values': {...}})."""
    return bool(_Parser(condition, {"inputs": inputs}).parse())
