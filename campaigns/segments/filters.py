"""The custom-segment filter language: a tokenizer and a recursive-descent parser to a small AST.

Grammar (keywords in any case; whitespace is free)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | primary
    primary    := "(" expr ")" | "true" | "false" | comparison | FLAG
    comparison := operand OP operand        OP: = == != < <= > >=
    operand    := NUMBER | NUMERIC_FIELD

Only whitelisted fields exist (see :data:`NUMERIC_FIELDS` and :data:`FLAG_FIELDS`); everything else is
refused with the column of the mistake. Expressions are never turned into SQL text: they compile
(:mod:`vwfund.campaigns.segments.selection`) to a function that evaluates them over whole columns of the
donor table at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from vwfund.errors import ConfigError

#: Numeric fields, with what they hold. Money fields are in major units of the organisation's currency.
NUMERIC_FIELDS: dict[str, str] = {
    "rfm.recency": "recency score 1-5 (5: gave most recently)",
    "rfm.frequency": "frequency score 1-5 (5: most gifts in the window)",
    "rfm.monetary": "monetary score 1-5 (5: most given in the window, within the gift's currency)",
    "recency_days": "days from the last counted gift to the reference date",
    "gifts": "counted gifts ever (up to the reference date)",
    "gifts_window": "counted gifts in the RFM window",
    "gifts_this_year": "counted gifts this calendar year (to the reference date)",
    "gifts_last_year": "counted gifts last calendar year",
    "total": "money given ever (organisation currency)",
    "total_window": "money given in the RFM window (organisation currency)",
    "total_this_year": "money given this calendar year (organisation currency)",
    "total_last_year": "money given last calendar year (organisation currency)",
    "first_gift_year": "calendar year of the first counted gift",
    "last_gift_year": "calendar year of the last counted gift",
}
#: Money fields among NUMERIC_FIELDS: a literal compared with them is an amount.
MONEY_FIELDS = frozenset({"total", "total_window", "total_this_year", "total_last_year"})
#: Yes/no fields; ``segment.NAME`` is true for members of a standard segment.
FLAG_FIELDS: dict[str, str] = {
    "opted_out": "the contact opted out of mailings",
    "do_not_email": "the contact asked not to be emailed",
    "monthly": "an active monthly donor",
}

_TOKEN = re.compile(
    r"(?P<ws>\s+)|(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<op>==|!=|<=|>=|=|<|>)|(?P<paren>[()])"
)
KEYWORDS = frozenset({"and", "or", "not", "true", "false"})


class FilterError(ConfigError):
    """A mistake in a filter expression; ``column`` is 1-based."""

    def __init__(self, message: str, expression: str, column: int, where: str = "filter") -> None:
        pointer = " " * (column - 1) + "^"
        super().__init__(f"{where}: column {column}: {message}\n    {expression}\n    {pointer}")
        self.column = column
        self.reason = message


@dataclass(frozen=True)
class Token:
    """One token: kind (number, name, keyword, op, paren, end), its text and 1-based column."""

    kind: str
    text: str
    column: int


@dataclass(frozen=True)
class Number:
    """A numeric literal."""

    value: Decimal
    column: int


@dataclass(frozen=True)
class Field:
    """A whitelisted field."""

    name: str
    column: int


@dataclass(frozen=True)
class Const:
    """``true`` or ``false``."""

    value: bool


@dataclass(frozen=True)
class Compare:
    """``left OP right``."""

    op: str
    left: Number | Field
    right: Number | Field
    column: int


@dataclass(frozen=True)
class Not:
    """``not operand``."""

    operand: Node


@dataclass(frozen=True)
class BoolOp:
    """``and`` / ``or`` over two or more operands."""

    op: str
    operands: tuple[Node, ...]


Node = Const | Field | Compare | Not | BoolOp


def tokenize(text: str, where: str = "filter") -> list[Token]:
    """Split an expression into tokens, or raise FilterError at the first character that fits none."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterError(f"unexpected character {text[pos]!r}", text, pos + 1, where)
        kind = m.lastgroup or ""
        if kind != "ws":
            value = m.group()
            if kind == "name" and value.lower() in KEYWORDS:
                kind, value = "keyword", value.lower()
            tokens.append(Token(kind, value, pos + 1))
        pos = m.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


#: Deepest nesting of '(' and 'not' a filter may have (far beyond what a person writes).
MAX_NESTING = 50


class _Parser:
    def __init__(self, text: str, segments: Sequence[str], where: str) -> None:
        self.text = text
        self.where = where
        self.flags = set(FLAG_FIELDS) | {f"segment.{s}" for s in segments}
        self.tokens = tokenize(text, where)
        self.i = 0
        self.depth = 0

    def enter(self, token: Token) -> None:
        """One level deeper (a '(' or a 'not'); refuse nesting no person writes, before it exhausts the stack."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"nested more than {MAX_NESTING} levels deep", token)

    def error(self, message: str, token: Token) -> FilterError:
        return FilterError(message, self.text, token.column, self.where)

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        if self.tok.kind == "keyword" and self.tok.text == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.error("empty expression", self.tok)
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.error(f"expected 'and', 'or' or the end, found {self.describe(self.tok)}", self.tok)
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def unary(self) -> Node:
        if self.keyword("not"):
            self.enter(self.tokens[self.i - 1])
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "paren" and tok.text == "(":
            self.take()
            self.enter(tok)
            node = self.or_expr()
            if not (self.tok.kind == "paren" and self.tok.text == ")"):
                raise self.error(f"expected ')' to close the '(' at column {tok.column}, found "
                                 f"{self.describe(self.tok)}", self.tok)
            self.take()
            self.depth -= 1
            return node
        if tok.kind == "keyword" and tok.text in ("true", "false"):
            self.take()
            return Const(tok.text == "true")
        if tok.kind == "name" and tok.text in self.flags:
            self.take()
            if self.tok.kind == "op":
                raise self.error(f"{tok.text} is yes/no: use it alone or with 'not', not with "
                                 f"{self.tok.text!r}", self.tok)
            return Field(tok.text, tok.column)
        left = self.operand()
        if self.tok.kind != "op":
            raise self.error(f"expected a comparison (=, !=, <, <=, >, >=) after {left_text(left)}, found "
                             f"{self.describe(self.tok)}", self.tok)
        op = self.take()
        right = self.operand()
        if isinstance(left, Number) and isinstance(right, Number):
            raise self.error("a comparison needs a field on one side", tok)
        return Compare(op.text, left, right, op.column)

    def operand(self) -> Number | Field:
        tok = self.take()
        if tok.kind == "number":
            return Number(Decimal(tok.text), tok.column)
        if tok.kind == "name":
            if tok.text in NUMERIC_FIELDS:
                return Field(tok.text, tok.column)
            if tok.text in self.flags:
                raise self.error(f"{tok.text} is yes/no and cannot be compared", tok)
            raise self.error(f"unknown field {tok.text!r} (known: {', '.join(known_fields(self.flags))})", tok)
        raise self.error(f"expected a field or a number, found {self.describe(tok)}", tok)

    @staticmethod
    def describe(tok: Token) -> str:
        return "the end of the expression" if tok.kind == "end" else repr(tok.text)


def left_text(node: Number | Field) -> str:
    """How an operand reads in an error message."""
    return node.name if isinstance(node, Field) else str(node.value)


def known_fields(flags: set[str] | None = None) -> list[str]:
    """Every field a filter may use (numeric, then yes/no)."""
    return sorted(NUMERIC_FIELDS) + sorted(flags if flags is not None else FLAG_FIELDS)


def parse_filter(text: str, segments: Sequence[str] = (), where: str = "filter") -> Node:
    """Parse an expression to its AST; ``segments`` are the standard segment names usable as ``segment.NAME``."""
    if not isinstance(text, str):
        raise ConfigError(f"{where}: a filter must be text in double quotes")
    return _Parser(text, segments, where).parse()


def fields_used(node: Node) -> set[str]:
    """The field names an expression reads."""
    if isinstance(node, Field):
        return {node.name}
    if isinstance(node, Compare):
        return {n.name for n in (node.left, node.right) if isinstance(n, Field)}
    if isinstance(node, Not):
        return fields_used(node.operand)
    if isinstance(node, BoolOp):
        return set().union(*(fields_used(o) for o in node.operands))
    return set()
