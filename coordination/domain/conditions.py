"""Handoff conditions: a small, safe expression language over the upstream desk's output.

The original stores ``condition`` as an opaque string and never evaluates it, so the
language is ours. Nothing here uses ``eval``/``exec``: a hand-written tokenizer and
recursive-descent parser build a tiny tree that is interpreted over JSON values only. An
empty or absent condition is always true.

Grammar (JavaScript-like precedence, loosest first)::

    condition  := or
    or         := and ( "||" and )*
    and        := compare ( "&&" compare )*
    compare    := unary ( ( "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" ) unary )?
    unary      := "!" unary | operand
    operand    := literal | path | list | "(" or ")"
    list       := "[" ( or ( "," or )* ","? )? "]"
    literal    := STRING | NUMBER | "true" | "false" | "null"
    path       := ( "$" | NAME ) ( "." ( NAME | DIGITS ) | "[" ( STRING | DIGITS ) "]" )*

- ``STRING``: ``"..."`` or ``'...'`` with JSON escapes (``\\"``, ``\\'``, ``\\\\``,
  ``\\n``, ``\\t``, ``\\uXXXX``...). ``NUMBER``: JSON number syntax, optional leading ``-``.
- ``NAME``: a letter or ``_``, then letters, digits, ``_`` or ``-`` (there is no
  arithmetic, so ``ticket-id`` is one name). ``true``, ``false``, ``null`` and ``in`` are
  keywords at the start of a path; reach such keys with ``$.in`` or ``$["in"]``.
- Comparisons do not chain: ``a < b < c`` is a syntax error; use ``&&``.

Meaning (evaluation never raises; every value is JSON):

- A path reads the upstream output: ``$`` is the whole output, ``status`` is
  ``$.status``. A missing key, a bad index, or a step into a non-container gives ``null``.
  ``.length`` of a list or string is its length (code points) unless an object has a
  ``length`` key; ``items.0`` and ``items[0]`` index a list.
- Truthiness is JavaScript's: ``false``, ``null``, ``0``, ``""`` are false, everything else
  (including ``[]`` and ``{}``) is true. ``!``, ``&&`` and ``||`` give booleans and
  short-circuit.
- ``==`` / ``!=``: deep JSON equality, no coercion (``1 == 1.0``; ``true != 1``;
  ``"1" != 1``).
- ``<``, ``<=``, ``>``, ``>=``: two numbers or two strings; anything else is ``false``
  (so a missing value never passes ``score >= 0.8``).
- ``x in [..]``: list membership by ``==``; ``"sub" in "text"``: substring;
  ``"key" in obj``: key present. Any other right side is ``false``.

Examples: ``status == "ok"``, ``score >= 0.8 && !flagged``, ``items.length > 0``,
``decision in ["approve", "ship"]``, ``(a || b) && review.state != null``.
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_CONDITION_LENGTH",
    "Budget",
    "BudgetExceeded",
    "ConditionError",
    "PathSegment",
    "check_condition_syntax",
    "compile_condition",
    "evaluate_condition",
    "is_truthy",
    "json_equal",
    "parse_path",
    "resolve_path",
]

MAX_CONDITION_LENGTH = 4000
_MAX_DEPTH = 64

PathSegment = str | int


class ConditionError(ValueError):
    """A condition (or path) that does not parse; the message says where and why."""


# --- the evaluation budget -------------------------------------------------------------


class BudgetExceeded(Exception):
    """Evaluation went over its ``Budget`` (time or work); ``reason`` says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Budget:
    """How much one evaluation may cost: ``seconds`` of wall time and ``operations``
    (values visited by comparisons, list items scanned, path steps, nodes evaluated).

    ``tick`` (if any) is called about every ``tick_seconds`` while evaluating: the
    executor uses it to notice a cancelled run, and raises from it to stop at once.
    """

    seconds: float
    operations: int = 2_000_000
    tick: Callable[[], None] | None = None
    tick_seconds: float = 0.1
    spent: int = 0
    _deadline: float = field(default=0.0, repr=False)
    _next_tick: float = field(default=0.0, repr=False)
    _next_clock: int = field(default=0, repr=False)

    def start(self) -> Budget:
        now = time.monotonic()
        self._deadline = now + self.seconds
        self._next_tick = now + self.tick_seconds
        self.spent = self._next_clock = 0
        return self

    def spend(self, amount: int = 1) -> None:
        self.spent += amount
        if self.spent > self.operations:
            raise BudgetExceeded(
                "operations", f"evaluation exceeded its budget of {self.operations} operations"
            )
        if self.spent < self._next_clock:
            return
        self._next_clock = self.spent + 512  # look at the clock every 512 operations
        now = time.monotonic()
        if now > self._deadline:
            raise BudgetExceeded("time", f"evaluation exceeded its {self.seconds:g}s budget")
        if self.tick is not None and now >= self._next_tick:
            self._next_tick = now + self.tick_seconds
            self.tick()


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "condition_budget", default=None
)


@contextmanager
def budgeted(budget: Budget) -> Iterator[Budget]:
    """Charge every evaluation inside the block (conditions, paths, mappings) to ``budget``."""
    token = _BUDGET.set(budget.start())
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _spend(amount: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend(amount)


# --- values ----------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_truthy(value: Any) -> bool:
    """JavaScript truthiness of a JSON value."""
    if value is None or value is False:
        return False
    if _is_number(value):
        return value == value and value != 0  # NaN is falsy
    if isinstance(value, str):
        return value != ""
    return True


def json_equal(a: Any, b: Any) -> bool:
    """Deep equality of JSON values without coercion (numbers by value, bools apart)."""
    _spend()
    if _is_number(a) or _is_number(b):
        return _is_number(a) and _is_number(b) and a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | Mapping) or isinstance(b, list | Mapping):
        return False
    return type(a) is type(b) and a == b


def resolve_path(value: Any, segments: tuple[PathSegment, ...]) -> Any:
    """Follow ``segments`` into a JSON value; ``None`` as soon as a step is missing."""
    current = value
    _spend(len(segments) + 1)
    for segment in segments:
        if isinstance(current, Mapping):
            current = current.get(str(segment))
        elif isinstance(current, list):
            if isinstance(segment, int) or segment.isdigit():
                index = int(segment)
                current = current[index] if index < len(current) else None
            elif segment == "length":
                current = len(current)
            else:
                return None
        elif isinstance(current, str) and segment == "length":
            current = len(current)
        else:
            return None
    return current


# --- tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # STRING NUMBER NAME DIGITS OP EOF
    text: str
    value: Any
    pos: int


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_DIGITS = re.compile(r"[0-9]+")
_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n"}
_ESCAPES.update({"r": "\r", "t": "\t"})


def _read_string(source: str, start: int) -> tuple[str, int]:
    quote = source[start]
    out: list[str] = []
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\\":
            if i + 1 >= len(source):
                break
            escape = source[i + 1]
            if escape == "u":
                digits = source[i + 2 : i + 6]
                if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise ConditionError(f"Bad \\u escape at position {i}")
                out.append(chr(int(digits, 16)))
                i += 6
                continue
            if escape not in _ESCAPES:
                raise ConditionError(f"Unknown escape \\{escape} at position {i}")
            out.append(_ESCAPES[escape])
            i += 2
            continue
        out.append(char)
        i += 1
    raise ConditionError(f"Unterminated string starting at position {start}")


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char.isspace():
            i += 1
            continue
        after_dot = bool(tokens) and tokens[-1].kind == "OP" and tokens[-1].text == "."
        if after_dot:
            # Right after ".", only a key name or a list index may follow.
            match = _NAME.match(source, i) or _DIGITS.match(source, i)
            if match is None:
                raise ConditionError(f"Expected a key name after '.' at position {i}")
            kind = "NAME" if match.re is _NAME else "DIGITS"
            tokens.append(_Token(kind, match.group(), match.group(), i))
            i = match.end()
            continue
        if char in "\"'":
            value, end = _read_string(source, i)
            tokens.append(_Token("STRING", source[i:end], value, i))
            i = end
            continue
        if char.isdigit() or (char == "-" and source[i + 1 : i + 2].isdigit()):
            match = _NUMBER.match(source, i)
            if match is None:  # pragma: no cover - the guard above makes a match certain
                raise ConditionError(f"Bad number at position {i}")
            text = match.group()
            is_int = not any(c in text for c in ".eE")
            value = int(text) if is_int else float(text)
            tokens.append(_Token("NUMBER", text, value, i))
            i = match.end()
            continue
        if char == "$":
            tokens.append(_Token("NAME", "$", "$", i))
            i += 1
            continue
        match = _NAME.match(source, i)
        if match is not None:
            tokens.append(_Token("NAME", match.group(), match.group(), i))
            i = match.end()
            continue
        for op in _OPERATORS:
            if source.startswith(op, i):
                tokens.append(_Token("OP", op, op, i))
                i += len(op)
                break
        else:
            raise ConditionError(f"Unexpected character {char!r} at position {i}")
    tokens.append(_Token("EOF", "", None, len(source)))
    return tokens


# --- parser ----------------------------------------------------------------------------

_Node = Callable[[Any], Any]
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in")
_KEYWORDS = {"true": True, "false": False, "null": None}


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return json_equal(left, right)
    if op == "!=":
        return not json_equal(left, right)
    if op == "in":
        if isinstance(right, list):
            return any(json_equal(left, item) for item in right)
        if isinstance(right, str):
            _spend(len(right) // 64 + 1)
            return isinstance(left, str) and left in right
        if isinstance(right, Mapping):
            return isinstance(left, str) and left in right
        return False
    both_numbers = _is_number(left) and _is_number(right)
    both_strings = isinstance(left, str) and isinstance(right, str)
    if not (both_numbers or both_strings):
        return False
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def error(self, expected: str) -> ConditionError:
        token = self.current
        found = "end of condition" if token.kind == "EOF" else repr(token.text)
        return ConditionError(f"Expected {expected} but found {found} at position {token.pos}")

    def accept(self, text: str) -> bool:
        token = self.current
        if token.kind in ("OP", "NAME") and token.text == text:
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise self.error(repr(text))

    def nested(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ConditionError("Condition is nested too deeply")

    # condition := or EOF
    def parse(self) -> _Node:
        node = self.parse_or()
        if self.current.kind != "EOF":
            raise self.error("an operator or the end of the condition")
        return node

    def parse_or(self) -> _Node:
        nodes = [self.parse_and()]
        while self.accept("||"):
            nodes.append(self.parse_and())
        if len(nodes) == 1:
            return nodes[0]
        return lambda data: _spend() or any(is_truthy(node(data)) for node in nodes)

    def parse_and(self) -> _Node:
        nodes = [self.parse_compare()]
        while self.accept("&&"):
            nodes.append(self.parse_compare())
        if len(nodes) == 1:
            return nodes[0]
        return lambda data: _spend() or all(is_truthy(node(data)) for node in nodes)

    def parse_compare(self) -> _Node:
        left = self.parse_unary()
        token = self.current
        if token.kind in ("OP", "NAME") and token.text in _COMPARISONS:
            self.index += 1
            right = self.parse_unary()
            after = self.current
            if after.kind in ("OP", "NAME") and after.text in _COMPARISONS:
                raise ConditionError(f"Comparisons do not chain: use && (position {after.pos})")
            op = token.text
            return lambda data: _spend() or _compare(op, left(data), right(data))
        return left

    def parse_unary(self) -> _Node:
        if self.accept("!"):
            self.nested()
            operand = self.parse_unary()
            self.depth -= 1
            return lambda data: not is_truthy(operand(data))
        return self.parse_operand()

    def parse_operand(self) -> _Node:
        token = self.current
        if token.kind in ("STRING", "NUMBER"):
            self.index += 1
            value = token.value
            return lambda _data: value
        if token.kind == "OP" and token.text == "(":
            self.index += 1
            self.nested()
            node = self.parse_or()
            self.depth -= 1
            self.expect(")")
            return node
        if token.kind == "OP" and token.text == "[":
            return self.parse_list()
        if token.kind == "NAME":
            if token.text in _KEYWORDS:
                self.index += 1
                keyword_value = _KEYWORDS[token.text]
                return lambda _data: keyword_value
            if token.text == "in":
                raise self.error("a value")
            segments = self.parse_path_segments()
            return lambda data: resolve_path(data, segments)
        raise self.error("a value")

    def parse_list(self) -> _Node:
        self.expect("[")
        self.nested()
        items: list[_Node] = []
        while not self.accept("]"):
            items.append(self.parse_or())
            if not self.accept(","):
                self.expect("]")
                break
        self.depth -= 1
        return lambda data: _spend(len(items) + 1) or [item(data) for item in items]

    def parse_path_segments(self) -> tuple[PathSegment, ...]:
        head = self.current
        if head.kind != "NAME":
            raise self.error("a path")
        self.index += 1
        segments: list[PathSegment] = [] if head.text == "$" else [head.text]
        while True:
            if self.accept("."):
                token = self.current
                if token.kind not in ("NAME", "DIGITS"):
                    raise self.error("a key name after '.'")
                self.index += 1
                segments.append(int(token.text) if token.kind == "DIGITS" else token.text)
            elif self.current.kind == "OP" and self.current.text == "[":
                self.index += 1
                token = self.current
                is_index = token.kind == "NUMBER" and isinstance(token.value, int)
                if not (token.kind == "STRING" or (is_index and token.value >= 0)):
                    raise self.error("a string or a non-negative integer inside [ ]")
                segments.append(token.value)
                self.index += 1
                self.expect("]")
            else:
                return tuple(segments)


@functools.lru_cache(maxsize=512)
def _compile(source: str) -> _Node:
    if len(source) > MAX_CONDITION_LENGTH:
        raise ConditionError(f"Condition is longer than {MAX_CONDITION_LENGTH} characters")
    return _Parser(source).parse()


def compile_condition(expression: str | None) -> Callable[[Any], bool]:
    """A predicate over the upstream output; raises ``ConditionError`` on a syntax error."""
    if expression is None or expression.strip() == "":
        return lambda _data: True
    node = _compile(expression)
    return lambda data: is_truthy(node(data))


def evaluate_condition(expression: str | None, output: Any) -> bool:
    """Does the handoff fire for this upstream ``output``? Empty/absent: always true.

    Raises ``ConditionError`` for a condition that does not parse (the executor should fail
    the desk with that message: saving does not check conditions, as in the original).
    """
    return compile_condition(expression)(output)


def check_condition_syntax(expression: str | None) -> str | None:
    """The syntax error message of ``expression``, or ``None`` when it parses."""
    try:
        compile_condition(expression)
    except ConditionError as exc:
        return str(exc)
    return None


def parse_path(text: str) -> tuple[PathSegment, ...]:
    """Parse a path such as ``$``, ``$.a.b``, ``a.b``, ``items[0].name``, ``$["x y"]``."""
    if not isinstance(text, str) or text.strip() == "":
        raise ConditionError("A path must be a non-empty string")
    parser = _Parser(text)
    head = parser.current
    if head.kind != "NAME" or head.text in _KEYWORDS or head.text == "in":
        raise ConditionError(f"Not a path: {json.dumps(text)} (start with $ or a key name)")
    segments = parser.parse_path_segments()
    if parser.current.kind != "EOF":
        raise parser.error("'.', '[' or the end of the path")
    return segments
