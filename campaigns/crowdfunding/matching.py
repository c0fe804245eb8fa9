"""Matched funding: what a funder adds to a campaign, computed from the gifts that count.

Two kinds, which may be combined:

* doubling up to a cap: the funder adds as much as donors gave (times ``ratio``, 1 by default, rounded
  down to the minor unit) up to ``cap_minor``;
* milestones: the funder adds a fixed ``sum_minor`` once donors' money raised reaches ``at_minor``.

Both apply to donors' gifts received between the campaign's start and end, counted as everywhere else
(vwfund.store.amounts: net of refunds; failed, pending, disputed and test gifts add nothing).
The match follows the gifts as they are now: a refund that lowers donors' money raised lowers a doubling
match below its cap, and takes back a milestone that is no longer reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, TypeGuard

from vwfund.errors import InputError


@dataclass(frozen=True)
class Milestone:
    """A fixed sum the funder gives once donors' money raised reaches ``at_minor``."""

    at_minor: int
    sum_minor: int


@dataclass(frozen=True)
class MatchRule:
    """A campaign's matched funding: an optional doubling cap and any number of milestones."""

    cap_minor: int | None = None
    milestones: tuple[Milestone, ...] = field(default_factory=tuple)
    ratio: Decimal = Decimal(1)

    @property
    def is_empty(self) -> bool:
        """Whether the campaign has no matched funding."""
        return self.cap_minor is None and not self.milestones

    def to_settings(self) -> dict[str, Any]:
        """The JSON kept in the campaign's settings under ``match``."""
        return {
            "cap_minor": self.cap_minor,
            "ratio": str(self.ratio),
            "milestones": [{"at_minor": m.at_minor, "sum_minor": m.sum_minor} for m in self.milestones],
        }

    @classmethod
    def from_settings(cls, data: Any) -> MatchRule:
        """Read the rule back from campaign settings; refuse a malformed one naming the setting."""
        if not data:
            return cls()
        if not isinstance(data, dict):
            raise InputError("campaign settings 'match' must be an object")
        cap = data.get("cap_minor")
        raw_milestones = data.get("milestones") or []
        if cap is not None and not _positive_int(cap):
            raise InputError(f"campaign settings match.cap_minor must be a positive whole number, not {cap!r}")
        ratio = parse_ratio(data.get("ratio", 1), "campaign settings match.ratio")
        milestones = []
        for i, item in enumerate(raw_milestones):
            at, add = (item or {}).get("at_minor"), (item or {}).get("sum_minor")
            if not (_positive_int(at) and _positive_int(add)):
                raise InputError(f"campaign settings match.milestones[{i}] needs positive at_minor and sum_minor")
            milestones.append(Milestone(at, add))
        return cls(cap, tuple(sorted(milestones, key=lambda m: m.at_minor)), ratio)


def _positive_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def parse_ratio(value: Any, where: str) -> Decimal:
    """A positive match ratio (1: the funder gives as much as donors; 0.5: half as much); never a float."""
    if isinstance(value, float | bool):
        raise InputError(f"{where}: give the ratio as a whole number or a decimal string, not {value!r}")
    try:
        ratio = Decimal(str(value).strip())
    except InvalidOperation:
        raise InputError(f"{where}: {value!r} is not a number") from None
    if not ratio.is_finite() or ratio <= 0:
        raise InputError(f"{where}: must be more than zero, not {value!r}")
    return ratio


@dataclass(frozen=True)
class MatchOutcome:
    """The matched amount and how it is made up (doubling part and milestones reached)."""

    doubled_minor: int
    milestones_reached: tuple[Milestone, ...]

    @property
    def total_minor(self) -> int:
        """Everything the funder adds."""
        return self.doubled_minor + sum(m.sum_minor for m in self.milestones_reached)


def compute_match(rule: MatchRule, eligible_minor: int) -> MatchOutcome:
    """The match for ``eligible_minor``: donors' money raised inside the campaign's window."""
    eligible = max(eligible_minor, 0)
    doubled = 0
    if rule.cap_minor is not None:
        scaled = int((Decimal(eligible) * rule.ratio).to_integral_value(rounding=ROUND_DOWN))
        doubled = min(rule.cap_minor, scaled)
    reached = tuple(m for m in rule.milestones if eligible >= m.at_minor)
    return MatchOutcome(doubled, reached)
