"""The one rule for money raised, shared by every total (walk, crowdfunding, segments, reports).

A gift counts ``amount - refunded`` when it succeeded (wholly or partly refunded included, which leaves
the refunded part out); pending, failed and disputed gifts (an open or lost dispute: the money was taken
back) count nothing; test-mode gifts never count. A won dispute is ``succeeded`` again. Fees are never
subtracted here: gross and net are reported apart (net = counted - fee, for counted gifts).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, case, literal

COUNTED = ("succeeded", "partially_refunded", "refunded")


def counted_minor(status: str, amount_minor: int, refunded_minor: int, is_test: bool = False) -> int:
    """Minor units a gift adds to money raised."""
    if is_test or status not in COUNTED:
        return 0
    return amount_minor - refunded_minor


def fee_counted_minor(status: str, fee_minor: int, is_test: bool = False) -> int:
    """The fee that belongs with a counted gift (0 for gifts that do not count)."""
    return 0 if is_test or status not in COUNTED else fee_minor


def counted_expr(table: Table) -> Any:
    """SQL for :func:`counted_minor` over a donations-like table."""
    c = table.c
    return case(
        (and_(c.status.in_(COUNTED), c.is_test.is_(False)), c.amount_minor - c.refunded_minor),
        else_=literal(0),
    )


def is_counted_expr(table: Table) -> Any:
    """SQL condition: the gift counts (succeeded, not test, something left after refunds)."""
    c = table.c
    return and_(c.status.in_(COUNTED), c.is_test.is_(False), c.amount_minor > c.refunded_minor)
