"""A deterministic synthetic organisation, shaped like the one in the domain notes.

Donors over five years, one-off and monthly, with the sector's retention (Fundraising Effectiveness
Project: about 45% of a year's donors give again, a quarter of the new ones, two thirds of the others; so
monthly plans are a fifth of a year's donors, not the organisation's half), refunds and disputes,
consents with evidence, a newsletter audience with engagement, the sponsored walk at its real 2024 size
(528 teams, 3,442 walkers, 17,820 sponsors, EUR 753,959 raised) and a crowdfunding campaign.
The donor history scales with ``scale`` (1.0 = 87,100 donors a year); the walk does not.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from vwfund.demo.names import COMPANIES, FIRST_NAMES, LAST_NAMES, MESSAGES, PLACES, TEAM_WORDS
from vwfund.demo.world import DemoCrowdfunding, DemoTeam, DemoWalk, DemoWalker, DemoWorld
from vwfund.identity import email_hash
from vwfund.store.database import Store
from vwfund.store.schema import (
    campaigns,
    consents,
    contact_links,
    contacts,
    donations,
    engagement_events,
    mailing_members,
    payout_lines,
    payouts,
    recurring_plans,
)

AS_OF = datetime(2025, 11, 1, 11, 0, tzinfo=UTC)
YEARS = (2021, 2022, 2023, 2024, 2025)
WALK_TEAMS, WALK_WALKERS, WALK_SPONSORS = 528, 3442, 17820
WALK_TOTAL_MINOR = 75_395_900
ONE_OFF_AMOUNTS = (1000, 1500, 2000, 2500, 2500, 3500, 5000, 5000, 7500, 10000, 15000, 25000, 50000)
MONTHLY_AMOUNTS = (500, 800, 1000, 1000, 1200, 1500, 2000, 2500)
AUDIENCE = "demo-audience"
MAILINGS = 12
CHUNK = 5000
# retention as a charity sees it: last year's new donors, repeat donors and monthly plans, and lapsed comebacks
RETAIN_NEW, RETAIN_REPEAT, RECAPTURE_SHARE = 0.20, 0.45, 0.08
MONTHLY_SHARE, MONTHLY_CHURN, MONTHLY_GROWTH = 0.22, 0.11, 0.03
DONOR_POOL = 2.8  # contacts who give at some point, per donor of one year (new donors replace lapsed ones)
AUDIENCE_SHARE = 0.45  # of those, on the newsletter


def _slug(text: str, taken: set[str]) -> str:
    base = "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")
    base = "-".join(part for part in base.split("-") if part) or "x"
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


def _walk(rng: random.Random) -> DemoWalk:
    taken: set[str] = set()
    named: Counter[str] = Counter()
    teams = []
    for i in range(WALK_TEAMS):
        company = COMPANIES[i % len(COMPANIES)] if i % 9 == 0 else None
        name = f"{company} loopt mee" if company else f"De {rng.choice(TEAM_WORDS)} van {rng.choice(PLACES)}"
        named[name] += 1
        if named[name] > 1:  # a company's second team, or a name already taken: numbered, as organisers do
            name = f"{name} {named[name]}"
        if i == 7:
            name = "<script>alert(1)</script> Stappers"  # the public types anything: pages must escape it
        captain = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        teams.append(DemoTeam(_slug(name, taken), name, company, captain, rng.choice((100000, 150000, 200000, 250000))))
    walkers = []
    walker_slugs: set[str] = set()
    for i in range(WALK_WALKERS):
        team = teams[i % WALK_TEAMS] if i < WALK_TEAMS else teams[rng.randrange(WALK_TEAMS)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        walkers.append(
            DemoWalker(
                _slug(f"{first} {last}", walker_slugs), first, last, team.slug, rng.choice((20000, 25000, 30000, 50000))
            )
        )
    return DemoWalk("walk2025", "Wandel mee voor vluchtelingen 2025", 2025, date(2025, 9, 28), "EUR", 80_000_000,
                    teams, walkers)


def build_world(seed: int, scale: float, timezone: str) -> DemoWorld:
    """Describe the demo organisation (cheap: no store writes); the same seed gives the same world."""
    rng = random.Random(seed)
    crowdfunding = DemoCrowdfunding(
        "family-reunification",
        "Samen thuis: fonds voor gezinshereniging",
        "EUR",
        10_000_000,
        datetime(2025, 6, 1, 8, tzinfo=UTC),
        datetime(2025, 12, 31, 22, 59, tzinfo=UTC),
        1_000_000,
    )
    return DemoWorld(
        seed=seed,
        scale=scale,
        as_of=AS_OF,
        timezone=timezone,
        currency="EUR",
        walk=_walk(rng),
        crowdfunding=crowdfunding,
        audience=AUDIENCE,
        appeal_codes=["spring-appeal", "winter-appeal", "general"],
    )


def _driver_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (UTC datetimes as text, JSON as text, booleans as 0/1)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


class _Writer:
    """Buffers rows per table and writes them in large driver-level batches (the demo store is SQLite)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.buffers: dict[Any, list[dict[str, Any]]] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: Any, row: dict[str, Any]) -> None:
        """Queue a row; a full buffer is written at once."""
        buf = self.buffers.setdefault(table, [])
        buf.append(row)
        if len(buf) >= CHUNK:
            self.flush(table)

    def flush(self, table: Any = None) -> None:
        """Write the queued rows of one table, or of all."""
        for t in [table] if table is not None else list(self.buffers):
            rows = self.buffers.get(t) or []
            if not rows:
                continue
            columns = list(rows[0])
            sql = f"INSERT INTO {t.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
            self.conn.exec_driver_sql(sql, [tuple(_driver_value(r[c]) for c in columns) for r in rows])
            self.counts[t.name] = self.counts.get(t.name, 0) + len(rows)
            self.buffers[t] = []


def _instant(rng: random.Random, start: datetime, end: datetime) -> datetime:
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(max(seconds, 1)))


def _gift(ext: str, source: str, contact_id: int | None, amount: int, at: datetime, **extra: Any) -> dict[str, Any]:
    row = {
        "source": source,
        "external_id": ext,
        "contact_id": contact_id,
        "contact_source": "demo" if contact_id else None,
        "contact_external_id": str(contact_id) if contact_id else None,
        "amount_minor": amount,
        "currency": "EUR",
        "fee_minor": 0,
        "refunded_minor": 0,
        "status": "succeeded",
        "received_at": at,
        "campaign": None,
        "team": None,
        "walker": None,
        "channel": "online",
        "recurring_plan": None,
        "anonymous": False,
        "public_name": None,
        "public_message": None,
        "matched": False,
        "is_test": False,
        "payout_id": None,
        "created_at": at,
        "updated_at": at,
    }
    row.update(extra)
    return row


def _card_fee(amount: int) -> int:
    return 25 + amount * 15 // 1000  # EUR 0.25 + 1.5%, in cents


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_demo{self.n:08d}"


def _people(rng: random.Random, w: _Writer, count: int, start_id: int) -> Iterator[int]:
    for cid in range(start_id, start_id + count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{cid}".lower().replace(" ", "").replace("'", "") + "@example.org"
        created = _instant(rng, datetime(2019, 1, 1, tzinfo=UTC), AS_OF - timedelta(days=10))
        w.add(
            contacts,
            {
                "id": cid,
                "email": email.encode("ascii", "ignore").decode(),
                "first_name": first,
                "last_name": last,
                "language": rng.choice(("nl", "nl", "nl", "fr", "en")),
                "city": rng.choice(PLACES),
                "do_not_email": False,
                "is_opt_out": False,
                "do_not_mail": False,
                "is_deceased": False,
                "is_deleted": False,
                "restricted": False,
                "created_at": created,
                "updated_at": created,
            },
        )
        w.add(
            contact_links,
            {"system": "demo", "external_id": str(cid), "contact_id": cid, "linked_by": "new", "created_at": created},
        )
        yield cid


def _fresh(pool: Iterator[int], n: int) -> list[int]:
    """The next ``n`` contacts who never gave (fewer when the pool runs out)."""
    return [cid for _, cid in zip(range(n), pool, strict=False)]


def _monthly_plans(rng: random.Random, w: _Writer, yearly: int, pool: Iterator[int], ids: _Ids) -> None:
    """Monthly donors: about a fifth of a year's donors; a tenth of the plans stop each year, new ones start."""
    running = [(cid, _instant(rng, datetime(2019, 6, 1, tzinfo=UTC), datetime(YEARS[0], 1, 1, tzinfo=UTC)))
               for cid in _fresh(pool, round(yearly * MONTHLY_SHARE))]
    plans: list[tuple[int, datetime, datetime | None]] = []
    for year in YEARS:
        start, end = datetime(year, 1, 1, tzinfo=UTC), min(datetime(year + 1, 1, 1, tzinfo=UTC), AS_OF)
        still = []
        for cid, began in running:
            earliest = max(began + timedelta(days=60), start)
            if earliest < end and rng.random() < MONTHLY_CHURN:
                plans.append((cid, began, _instant(rng, earliest, end)))
            else:
                still.append((cid, began))
        latest = min(end, AS_OF - timedelta(days=40))
        starts = round(len(running) * (MONTHLY_CHURN + MONTHLY_GROWTH)) if latest > start else 0
        running = still + [(cid, _instant(rng, start, latest)) for cid in _fresh(pool, starts)]
    plans += [(cid, began, None) for cid, began in running]
    for cid, began, ended in plans:
        amount = rng.choice(MONTHLY_AMOUNTS)
        plan = ids("sub")
        w.add(
            recurring_plans,
            {
                "source": "stripe",
                "external_id": plan,
                "contact_id": cid,
                "contact_source": "demo",
                "contact_external_id": str(cid),
                "amount_minor": amount,
                "currency": "EUR",
                "interval": "month",
                "status": "cancelled" if ended else "active",
                "started_at": began,
                "ended_at": ended,
                "campaign": "general",
                "updated_at": began,
            },
        )
        at = began
        while at < datetime(YEARS[0], 1, 1, tzinfo=UTC):  # payments before the store's first year are not in it
            at += timedelta(days=30, hours=10)
        stop = ended or AS_OF
        while at < stop:
            failed = rng.random() < 0.01
            w.add(
                donations,
                _gift(
                    ids("py"),
                    "stripe",
                    cid,
                    amount,
                    at,
                    recurring_plan=plan,
                    channel="sepa_debit",
                    campaign="general",
                    status="failed" if failed else "succeeded",
                    fee_minor=0 if failed else 35,
                ),
            )
            at += timedelta(days=30, hours=10)


def _one_off_gifts(rng: random.Random, w: _Writer, world: DemoWorld, cid: int, year: int, ids: _Ids) -> None:
    start, end = datetime(year, 1, 1, tzinfo=UTC), min(datetime(year + 1, 1, 1, tzinfo=UTC), AS_OF)
    for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 4)):
        amount = rng.choice(ONE_OFF_AMOUNTS) if rng.random() > 0.003 else rng.choice((100000, 250000, 500000))
        roll = rng.random()
        extra: dict[str, Any] = {
            "campaign": rng.choice(world.appeal_codes),
            "channel": rng.choice(("card", "ideal", "bancontact", "bank_transfer")),
        }
        if roll < 0.004:
            extra.update(status="refunded", refunded_minor=amount)
        elif roll < 0.008:
            extra.update(status="partially_refunded", refunded_minor=amount // 2)
        source = "offline" if extra["channel"] == "bank_transfer" else "stripe"
        if source == "stripe":
            extra["fee_minor"] = _card_fee(amount)
        w.add(
            donations,
            _gift(ids("ch" if source == "stripe" else "bt"), source, cid, amount, _instant(rng, start, end), **extra),
        )


def _donor_history(rng: random.Random, w: _Writer, world: DemoWorld, donor_ids: list[int], ids: _Ids) -> None:
    """Five years of donors with a charity's retention (Fundraising Effectiveness Project figures): of last
    year's new donors about a fifth give again, of the others about half, of the monthly donors nine in ten;
    some lapsed donors come back, and new donors fill each year up to its size."""
    yearly = max(50, round(87_100 * world.scale))
    pool = iter(donor_ids)
    _monthly_plans(rng, w, yearly, pool, ids)
    size = yearly - round(yearly * MONTHLY_SHARE)  # one-off donors in a year
    first: dict[int, int] = {}
    lapsed: list[int] = []
    active: list[int] = []
    for year in YEARS:
        if year == YEARS[0]:  # most of the first year's donors had given before the store's first year
            active = _fresh(pool, size)
            veterans = set(rng.sample(active, round(len(active) * 0.6)))
            first = {cid: year - 1 if cid in veterans else year for cid in active}
        else:
            kept = [c for c in active if rng.random() < (RETAIN_NEW if first[c] == year - 1 else RETAIN_REPEAT)]
            gone = set(active) - set(kept)
            back = rng.sample(lapsed, min(len(lapsed), round(size * RECAPTURE_SHARE), max(0, size - len(kept))))
            returned = set(back)
            lapsed = [c for c in lapsed if c not in returned] + sorted(gone)
            new = _fresh(pool, size - len(kept) - len(back))
            first.update((cid, year) for cid in new)
            active = kept + back + new
        for cid in sorted(active):
            _one_off_gifts(rng, w, world, cid, year, ids)
    # one lost and one won dispute, for the segments' edge cases
    last = sorted(active)[:2]
    for cid, status in zip(last, ("disputed", "succeeded"), strict=False):
        w.add(
            donations,
            _gift(
                ids("ch"),
                "stripe",
                cid,
                5000,
                datetime(2025, 3, 3, 10, tzinfo=UTC),
                status=status,
                campaign="spring-appeal",
                fee_minor=_card_fee(5000),
            ),
        )


def _walk_gifts(rng: random.Random, w: _Writer, world: DemoWorld, sponsor_ids: list[int], ids: _Ids) -> None:
    walk = world.walk
    start, end = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 10, 15, tzinfo=UTC)
    amounts = [rng.choice((1000, 1500, 2000, 2500, 2500, 5000, 5000, 7500, 10000, 25000)) for _ in range(WALK_SPONSORS)]
    statuses = ["succeeded"] * WALK_SPONSORS
    for i in rng.sample(range(WALK_SPONSORS), 60):
        statuses[i] = "pending"
    refunds = {
        i: amounts[i] if n % 2 else amounts[i] // 2
        for n, i in enumerate(rng.sample(range(WALK_SPONSORS), 40))
        if statuses[i] == "succeeded"
    }
    counted = sum(a - refunds.get(i, 0) for i, a in enumerate(amounts) if statuses[i] == "succeeded")
    # the last counted, unrefunded gift absorbs the difference, so the walk raises exactly EUR 753,959
    last = max(i for i in range(WALK_SPONSORS) if statuses[i] == "succeeded" and i not in refunds)
    amounts[last] += WALK_TOTAL_MINOR - counted
    payout_no, in_payout = 0, 0
    payout_id = ""
    payout_net: dict[str, int] = {}
    for i, amount in enumerate(amounts):
        walker = walk.walkers[rng.randrange(len(walk.walkers))] if rng.random() < 0.85 else None
        team = walker.team_slug if walker else walk.teams[rng.randrange(len(walk.teams))].slug
        online = rng.random() < 0.8
        cid = sponsor_ids[i] if online else None
        anonymous = rng.random() < 0.1
        extra: dict[str, Any] = {
            "campaign": walk.code,
            "team": team,
            "walker": walker.slug if walker else None,
            "anonymous": anonymous,
            "status": statuses[i],
            "refunded_minor": refunds.get(i, 0),
            "public_name": None if anonymous or rng.random() < 0.7 else f"Familie {rng.choice(LAST_NAMES)}",
            "public_message": rng.choice(MESSAGES) if rng.random() < 0.25 else None,
        }
        if refunds.get(i):
            extra["status"] = "refunded" if refunds[i] == amount else "partially_refunded"
        at = _instant(rng, start, end)
        if online:
            fee = _card_fee(amount)
            ext = ids("ch")
            if extra["status"] != "pending":
                if in_payout == 0:
                    payout_no += 1
                    payout_id = f"po_demo{payout_no:05d}"
                in_payout = (in_payout + 1) % 200
                extra["payout_id"] = payout_id
                w.add(
                    payout_lines,
                    {
                        "source": "stripe",
                        "external_id": f"txn_{ext[3:]}",
                        "payout_id": payout_id,
                        "kind": "charge",
                        "donation_external_id": ext,
                        "gross_minor": amount,
                        "fee_minor": fee,
                        "net_minor": amount - fee,
                        "currency": "EUR",
                    },
                )
                payout_net[payout_id] = payout_net.get(payout_id, 0) + amount - fee
                refunded = extra["refunded_minor"]
                if refunded:
                    w.add(
                        payout_lines,
                        {
                            "source": "stripe",
                            "external_id": f"txn_re{ext[3:]}",
                            "payout_id": payout_id,
                            "kind": "refund",
                            "donation_external_id": ext,
                            "gross_minor": -refunded,
                            "fee_minor": 0,
                            "net_minor": -refunded,
                            "currency": "EUR",
                        },
                    )
                    payout_net[payout_id] -= refunded
            w.add(donations, _gift(ext, "stripe", cid, amount, at, fee_minor=fee, channel="card", **extra))
        else:
            w.add(
                donations,
                _gift(
                    ids("cash"),
                    "offline",
                    None,
                    amount,
                    datetime.combine(walk.walk_date, datetime.min.time(), UTC) + timedelta(hours=15),
                    channel="cash",
                    **extra,
                ),
            )
    for n, (pid, net) in enumerate(sorted(payout_net.items()), start=1):
        w.add(
            payouts,
            {
                "source": "stripe",
                "external_id": pid,
                "amount_minor": net,
                "currency": "EUR",
                "status": "paid",
                "arrival_at": end + timedelta(days=n % 7),
            },
        )


def _crowdfunding_gifts(rng: random.Random, w: _Writer, world: DemoWorld, donor_ids: list[int], ids: _Ids) -> None:
    cf = world.crowdfunding
    w.add(
        campaigns,
        {
            "code": cf.code,
            "name": cf.name,
            "kind": "crowdfunding",
            "currency": cf.currency,
            "goal_minor": cf.goal_minor,
            "starts_at": cf.starts_at,
            "ends_at": cf.ends_at,
            "settings": {"match": {"cap_minor": cf.match_cap_minor, "ratio": 1}},
        },
    )
    for code in world.appeal_codes:
        w.add(
            campaigns,
            {
                "code": code,
                "name": code.replace("-", " ").title(),
                "kind": "appeal",
                "currency": "EUR",
                "goal_minor": None,
                "starts_at": None,
                "ends_at": None,
                "settings": {},
            },
        )
    w.add(
        campaigns,
        {
            "code": world.walk.code,
            "name": world.walk.name,
            "kind": "walk",
            "currency": "EUR",
            "goal_minor": world.walk.goal_minor,
            "starts_at": None,
            "ends_at": None,
            "settings": {},
        },
    )
    for _ in range(1300):  # the real campaign passed EUR 90,000 in its first months
        cid = rng.choice(donor_ids)
        amount = rng.choice((1000, 2000, 2500, 5000, 5000, 10000, 25000))
        online = rng.random() < 0.85
        status = "refunded" if rng.random() < 0.01 else "succeeded"
        w.add(
            donations,
            _gift(
                ids("ch" if online else "bt"),
                "stripe" if online else "offline",
                cid,
                amount,
                _instant(rng, cf.starts_at, AS_OF),
                campaign=cf.code,
                status=status,
                refunded_minor=amount if status == "refunded" else 0,
                fee_minor=_card_fee(amount) if online else 0,
                channel="card" if online else "bank_transfer",
            ),
        )


def _audience(
    rng: random.Random, w: _Writer, world: DemoWorld, contact_ids: list[int], emails: dict[int, str], share: float
) -> None:
    mailing_dates = [AS_OF - timedelta(days=30 * k + 5) for k in range(MAILINGS)]
    for cid in contact_ids:
        if rng.random() > share:
            continue
        email = emails[cid]
        h = email_hash(email)
        opted_in = _instant(rng, datetime(2019, 1, 1, tzinfo=UTC), AS_OF - timedelta(days=20))
        status = "subscribed" if rng.random() < 0.93 else rng.choice(("unsubscribed", "cleaned"))
        w.add(
            consents,
            {
                "source": "demo",
                "external_id": f"{cid}:newsletter",
                "contact_id": cid,
                "purpose": "newsletter",
                "channel": "email",
                "granted": True,
                "at": opted_in,
                "evidence": "web form /nieuwsbrief, checkbox text v3 (demo)",
            },
        )
        w.add(
            contact_links,
            {"system": "mailchimp", "external_id": h, "contact_id": cid, "linked_by": "email", "created_at": opted_in},
        )
        clicker = rng.random() < 0.35
        w.add(
            mailing_members,
            {
                "audience": world.audience,
                "email_hash": h,
                "email": email,
                "contact_id": cid,
                "status": status,
                "tags": [],
                "opted_in_at": opted_in,
                "last_changed": opted_in,
                "avg_open_rate": None,
                "avg_click_rate": None,
                "member_rating": 2,
                "marketing_permissions": {},
            },
        )
        if status != "subscribed":
            continue
        for k, sent in enumerate(mailing_dates):
            if sent < opted_in:
                continue
            mid = f"cmp{MAILINGS - k:03d}"
            w.add(
                engagement_events,
                {"audience": world.audience, "email_hash": h, "mailing_id": mid, "kind": "sent", "at": sent},
            )
            if rng.random() < 0.45:  # opens are inflated by mail privacy features
                w.add(
                    engagement_events,
                    {
                        "audience": world.audience,
                        "email_hash": h,
                        "mailing_id": mid,
                        "kind": "open",
                        "at": sent + timedelta(hours=2),
                    },
                )
            if clicker and rng.random() < 0.3:
                w.add(
                    engagement_events,
                    {
                        "audience": world.audience,
                        "email_hash": h,
                        "mailing_id": mid,
                        "kind": "click",
                        "at": sent + timedelta(hours=3),
                    },
                )


def generate(store: Store, world: DemoWorld) -> dict[str, int]:
    """Write the demo organisation into an empty store in one transaction; returns rows per table."""
    rng = random.Random(world.seed * 7919 + round(world.scale * 1000))
    ids = _Ids()
    donors = max(100, round(87_100 * world.scale * DONOR_POOL))
    with store.begin() as conn:
        w = _Writer(conn)
        donor_ids = list(_people(rng, w, donors, 1))
        sponsor_ids = list(_people(rng, w, WALK_SPONSORS, donors + 1))
        w.flush()
        emails = {
            r.id: r.email for r in conn.execute(contacts.select().with_only_columns(contacts.c.id, contacts.c.email))
        }
        _donor_history(rng, w, world, donor_ids, ids)
        _walk_gifts(rng, w, world, sponsor_ids, ids)
        _crowdfunding_gifts(rng, w, world, donor_ids, ids)
        _audience(rng, w, world, donor_ids, emails, share=AUDIENCE_SHARE)
        _audience(rng, w, world, sponsor_ids, emails, share=0.25)
        w.flush()
    return w.counts
