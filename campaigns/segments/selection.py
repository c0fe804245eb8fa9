"""Compiling a parsed filter (:mod:`vwfund.campaigns.segments.filters`) to a function over whole columns.

Kept apart from the parser so that reading the configuration, and the command line starting up, do not
load numpy.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from vwfund.campaigns.segments.filters import (
    MONEY_FIELDS,
    BoolOp,
    Compare,
    Const,
    Field,
    FilterError,
    Node,
    Not,
    Number,
)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


#: Evaluates a compiled filter over every row: takes the number of rows, returns one flag per row.
Selection = Callable[[int], npt.NDArray[np.bool_]]


def compile_filter(
    node: Node,
    columns: Mapping[str, Sequence[int] | Sequence[bool] | npt.NDArray[Any]],
    money_exponent: int,
    expression: str = "",
    where: str = "filter",
) -> Selection:
    """Turn an AST into a function of the row count giving, for every row of ``columns`` (field name ->
    column of values), whether the row matches, as an array of flags.

    Money literals become integer minor units of the organisation's currency (more decimals than the
    currency has are refused), and every comparison is exact. Each node is evaluated over whole columns.
    """
    if isinstance(node, Const):
        value = node.value
        return lambda n: np.full(n, value, dtype=np.bool_)
    if isinstance(node, Field):
        flag = columns[node.name]
        return lambda n: np.asarray(flag).astype(np.bool_)
    if isinstance(node, Not):
        inner = compile_filter(node.operand, columns, money_exponent, expression, where)
        return lambda n: ~inner(n)
    if isinstance(node, BoolOp):
        parts = [compile_filter(o, columns, money_exponent, expression, where) for o in node.operands]
        combine = np.logical_and if node.op == "and" else np.logical_or
        return lambda n: combine.reduce([part(n) for part in parts])
    return _compile_compare(node, columns, money_exponent, expression, where)


def _literal(number: Number, other: Field, exponent: int, expression: str, where: str) -> int | Decimal:
    if other.name not in MONEY_FIELDS:
        return number.value
    scaled = number.value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise FilterError(f"amount {number.value} has more than {exponent} decimals", expression, number.column,
                          where)
    return int(scaled)


#: ``x OP d`` for a whole number x and a number d with a fraction, in terms of f = floor(d): exact.
_AGAINST_FRACTION: dict[str, Callable[[npt.NDArray[Any], int], npt.NDArray[np.bool_]]] = {
    "<": lambda x, f: x <= f, "<=": lambda x, f: x <= f, ">": lambda x, f: x > f, ">=": lambda x, f: x > f,
    "=": lambda x, f: np.zeros(len(x), dtype=np.bool_), "==": lambda x, f: np.zeros(len(x), dtype=np.bool_),
    "!=": lambda x, f: np.ones(len(x), dtype=np.bool_),
}
_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "==": "==", "!=": "!="}


def _against_literal(values: Any, op: str, literal: int | Decimal) -> Callable[[int], npt.NDArray[np.bool_]]:
    """``column OP literal`` over whole columns of whole numbers, exact for any literal."""
    if isinstance(literal, int) or literal == literal.to_integral_value():
        whole, compare = int(literal), _OPS[op]
        return lambda n: np.asarray(compare(np.asarray(values, dtype=np.int64), whole), dtype=np.bool_)
    floor, rule = int(literal.to_integral_value(rounding=ROUND_FLOOR)), _AGAINST_FRACTION[op]
    return lambda n: rule(np.asarray(values, dtype=np.int64), floor)


def _compile_compare(
    node: Compare, columns: Mapping[str, Sequence[int] | Sequence[bool] | npt.NDArray[Any]], exponent: int,
    expression: str, where: str,
) -> Selection:
    left, right = node.left, node.right
    if isinstance(left, Field) and isinstance(right, Field):
        if (left.name in MONEY_FIELDS) != (right.name in MONEY_FIELDS):
            raise FilterError(f"cannot compare an amount with a count: {left.name} {node.op} {right.name}",
                              expression, node.column, where)
        a, b, op = columns[left.name], columns[right.name], _OPS[node.op]
        return lambda n: np.asarray(op(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)), dtype=np.bool_)
    if isinstance(left, Field) and isinstance(right, Number):
        return _against_literal(columns[left.name], node.op, _literal(right, left, exponent, expression, where))
    assert isinstance(left, Number) and isinstance(right, Field)
    literal = _literal(left, right, exponent, expression, where)
    return _against_literal(columns[right.name], _MIRRORED[node.op], literal)
