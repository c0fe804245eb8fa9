"""Crash trials: run ``vwfund`` as a real process, kill it with SIGKILL at random points, re-run, compare.

A trial starts ``vwfund --db URL <command>`` with ``VWFUND_*`` settings pointing at a local fake that runs
in the calling process, kills the process (``os.kill(pid, SIGKILL)``) after a random delay, runs it
again, kills it again, ... and finally lets one run finish. The caller then compares the store
(:func:`store_snapshot`) and the fake's state with those of a clean run on a fresh store and an identical
fresh fake: nothing may be missing, doubled, or counted twice.

    env = isolated_env(tmp_path, {"stripe": {"api_key": fake.api_key, "api_base": fake.url}})
    trial = run_with_kills(db_url, ["sync", "stripe"], env, kills=5, rng=random.Random(1), longest=3.0)
    assert trial.final_exit == 0

A kill counts as *mid-run* when the process was still running at the moment of the kill (it had not
finished on its own), which is what a trial is about; :class:`CrashTrial` keeps both counts.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vwfund.store.database import open_store
from vwfund.store.schema import (
    consents,
    contact_links,
    contacts,
    donations,
    mailing_members,
    push_state,
    recurring_plans,
)
from vwfund.testing.faults import FAULT_KINDS, FaultPlan, FaultProxy

#: Donation columns a crash must leave exactly as a clean run does.
DONATION_COLUMNS = ("source", "external_id", "amount_minor", "currency", "refunded_minor", "fee_minor", "status",
                    "campaign", "recurring_plan")
PLAN_COLUMNS = ("source", "external_id", "amount_minor", "currency", "interval", "status")
MEMBER_COLUMNS = ("audience", "email_hash", "status")


def vwfund_command() -> list[str]:
    """The ``vwfund`` console script of this environment (beside the running interpreter)."""
    beside = Path(sys.executable).parent / "vwfund"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("vwfund")
    if found:
        return [found]
    return [sys.executable, "-c", "from vwfund.cli.main import main; main()"]


def settings_env(settings: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Config sections as ``VWFUND_<SECTION>_<KEY>`` environment variables."""
    return {f"VWFUND_{section.upper()}_{key.upper()}": str(value)
            for section, values in settings.items() for key, value in values.items()}


def isolated_env(base: Path, settings: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The environment of a child run: own HOME and XDG dirs under ``base``, no inherited VWFUND_* but
    ``settings``, short retry waits (Retry-After is still honoured)."""
    home = base / "home"
    for sub in (home, home / ".config", home / ".local" / "share"):
        sub.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VWFUND_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local" / "share"),
               VWFUND_HTTP_BACKOFF="0.01", PYTHONUNBUFFERED="1")
    env.update(settings_env(settings))
    return env


@dataclass
class RunOutcome:
    """One child run that was allowed to finish."""

    exit_code: int
    seconds: float
    output: str


@dataclass
class CrashTrial:
    """What one trial did: kills made, kills that struck a running process, runs, the final run."""

    kills: int = 0
    mid_run: int = 0
    runs: int = 0
    delays: list[float] = field(default_factory=list)
    final_exit: int | None = None
    final_output: str = ""
    seconds: float = 0.0


def _argv(db_url: str, args: Sequence[str]) -> list[str]:
    return [*vwfund_command(), "--db", db_url, *args]


def run_vwfund(db_url: str, args: Sequence[str], env: Mapping[str, str], timeout: float = 300.0) -> RunOutcome:
    """Run ``vwfund --db URL ARGS`` to the end; the exit code, wall seconds and combined output."""
    began = time.monotonic()
    done = subprocess.run(_argv(db_url, args), env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # noqa: S603
                          timeout=timeout, check=False)
    return RunOutcome(done.returncode, time.monotonic() - began, done.stdout.decode("utf-8", "replace"))


def kill_after(db_url: str, args: Sequence[str], env: Mapping[str, str], delay: float) -> tuple[bool, float]:
    """Start a run and SIGKILL it after ``delay`` seconds: whether it was still running then, and how long
    it ran. The child is always reaped, so its pid is gone before the next run looks at stale locks."""
    began = time.monotonic()
    proc = subprocess.Popen(_argv(db_url, args), env=dict(env), stdout=subprocess.DEVNULL,  # noqa: S603
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        return False, time.monotonic() - began
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True, time.monotonic() - began


def run_with_kills(db_url: str, args: Sequence[str], env: Mapping[str, str], *, kills: int, rng: random.Random,
                   longest: float, shortest: float = 0.0, final_runs: int = 3,
                   timeout: float = 300.0) -> CrashTrial:
    """``kills`` runs each killed after a delay drawn from [shortest, longest) (each the re-run of the one
    before), then runs to the end until one exits 0 (at most ``final_runs``).

    The first kill strikes the first half of a full run. A run that finished before its kill shows how
    long what is left takes: later delays are drawn below that.
    """
    trial = CrashTrial()
    began = time.monotonic()
    for n in range(kills):
        delay = rng.uniform(shortest, (shortest + longest) / 2 if n == 0 else longest)
        trial.delays.append(delay)
        trial.kills += 1
        trial.runs += 1
        landed, seconds = kill_after(db_url, args, env, delay)
        trial.mid_run += landed
        if not landed:
            longest = max(shortest, seconds * 0.9)
    for _ in range(final_runs):
        outcome = run_vwfund(db_url, args, env, timeout)
        trial.runs += 1
        trial.final_exit, trial.final_output = outcome.exit_code, outcome.output
        if outcome.exit_code == 0:
            break
    trial.seconds = time.monotonic() - began
    return trial


def _rows(conn: Any, table: Any, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    cols = [table.c[name] for name in columns]
    return sorted(tuple(r) for r in conn.execute(select(*cols)))


def store_snapshot(db_url: str) -> dict[str, Any]:
    """What a sync or push leaves in the store, without surrogate ids and times of writing: donations
    (amounts, refunds, fees, status), plans, mailing members, push state, and counts of contacts, links and
    consents. Two runs that did the same work give equal snapshots."""
    store = open_store(db_url)
    try:
        with store.read() as conn:
            counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                      for t in (contacts, contact_links, consents)}
            return {
                "donations": _rows(conn, donations, DONATION_COLUMNS),
                "recurring_plans": _rows(conn, recurring_plans, PLAN_COLUMNS),
                "mailing_members": _rows(conn, mailing_members, MEMBER_COLUMNS),
                "push_state": _rows(conn, push_state, ("target", "scope", "item", "digest")),
                "links": _rows(conn, contact_links, ("system", "external_id")),
                "counts": counts,
            }
    finally:
        store.dispose()


def differences(reference: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per key of two snapshots: what only the reference has (lost) and what only the other has, or has
    more often (doubled or changed). Empty when equal."""
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(set(reference) | set(other)):
        a, b = reference.get(key), other.get(key)
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            lost = [x for x in a if a.count(x) > b.count(x)]
            extra = [x for x in b if b.count(x) > a.count(x)]
            out[key] = {"lost": sorted(set(lost), key=repr)[:10], "extra": sorted(set(extra), key=repr)[:10],
                        "n_lost": len(lost), "n_extra": len(extra)}
        else:
            out[key] = {"reference": a, "other": b}
    return out


def lost_or_doubled(diff: Mapping[str, Mapping[str, Any]]) -> int:
    """How many records a :func:`differences` result says were lost or doubled (0 when equal)."""
    total = 0
    for entry in diff.values():
        if "n_lost" in entry:
            total += int(entry["n_lost"]) + int(entry["n_extra"])
        else:
            total += 1
    return total


# ---- scenarios: one fake, its data, the command, and what the fake holds afterwards -----------------------

class Scenario:
    """A fresh fake filled with ``size`` records, the settings pointing at it, the command to run, and the
    fake's state to compare. Use as a context manager (the fake is started on entry)."""

    name = ""
    args: tuple[str, ...] = ()
    fake: Any  # the started fake service (set by start)

    def __init__(self, size: int) -> None:
        self.size = size

    def __enter__(self) -> Scenario:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the fake and fill it."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the fake."""
        self.fake.stop()

    def settings(self, url: str | None = None) -> dict[str, dict[str, Any]]:
        """Config sections for the connector (``url``: another base, such as a fault proxy's)."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The fake's base URL."""
        return str(self.fake.url)

    def prepare_store(self, db_url: str) -> None:
        """Put what the command starts from in a fresh store (a push's source records); migrates it."""
        open_store(db_url).dispose()

    def fake_state(self) -> dict[str, Any]:
        """What the fake holds that the command may change, comparable between two fakes."""
        return {}

    def comparable(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """A store snapshot without what may rightly differ between two runs (ids the fake hands out in the
        order it is asked)."""
        return snapshot

    def requests(self) -> int:
        """Requests the fake has answered."""
        return 0


def _fresh(base: Path, label: str, rng: random.Random) -> tuple[Path, str]:
    work = base / f"{label}-{rng.randrange(10**9)}"
    work.mkdir(parents=True)
    return work, f"sqlite:///{work / 'store.db'}"


def reference_run(factory: Callable[[], Scenario], base: Path, rng: random.Random) -> dict[str, Any]:
    """A clean run on a fresh store and a fresh fake: its seconds, store snapshot, fake state and requests."""
    work, db_url = _fresh(base, "clean", rng)
    with factory() as scenario:
        scenario.prepare_store(db_url)
        outcome = run_vwfund(db_url, scenario.args, isolated_env(work, scenario.settings()))
        if outcome.exit_code != 0:
            raise AssertionError(f"clean run of {scenario.name} failed:\n{outcome.output}")
        return {"seconds": outcome.seconds, "store": scenario.comparable(store_snapshot(db_url)),
                "fake": scenario.fake_state(),
                "requests": scenario.requests()}


def trial_run(factory: Callable[[], Scenario], base: Path, reference: Mapping[str, Any], *, kills: int,
              rng: random.Random, plan: FaultPlan | None = None, final_runs: int = 3) -> dict[str, Any]:
    """A trial on a fresh store and an identical fresh fake: ``kills`` SIGKILLs at random points, and with a
    ``plan`` a fault proxy in front of the fake; then runs to the end (at most ``final_runs``) and compares
    store and fake with ``reference``. Returns the trial, both diffs, records lost or doubled, requests
    made (at the fake, and through the proxy) and faults injected."""
    work, db_url = _fresh(base, "trial", rng)
    with factory() as scenario, FaultProxy(scenario.url, plan or FaultPlan()) as proxy:
        scenario.prepare_store(db_url)
        env = isolated_env(work, scenario.settings(proxy.url if plan else None))
        startup = min(reference["seconds"] * 0.5, startup_seconds())
        trial = run_with_kills(db_url, scenario.args, env, kills=kills, rng=rng, longest=reference["seconds"] * 0.9,
                               shortest=startup * 0.8, final_runs=final_runs)
        state: dict[str, Any] = {"store": scenario.comparable(store_snapshot(db_url)), "fake": scenario.fake_state(),
                 "requests": scenario.requests()}
        faults = {k: v for k, v in proxy.counts.items() if k in FAULT_KINDS}
        proxy_requests = proxy.counts["requests"]
    store_diff = differences(reference["store"], state["store"])
    fake_diff = differences(reference["fake"], state["fake"])
    return {"trial": trial, "state": state, "store_diff": store_diff, "fake_diff": fake_diff, "faults": faults,
            "proxy_requests": proxy_requests,
            "lost_or_doubled": lost_or_doubled(store_diff) + lost_or_doubled(fake_diff)}


def compare_with_clean_run(factory: Callable[[], Scenario], base: Path, *, kills: int,
                           rng: random.Random) -> dict[str, Any]:
    """One clean run and one crash trial (``kills`` SIGKILLs) on fresh stores and identical fresh fakes:
    ``clean`` and ``crash`` states, ``crash_trial``, ``clean_seconds``, the diffs and ``lost_or_doubled``."""
    reference = reference_run(factory, base, rng)
    result = trial_run(factory, base, reference, kills=kills, rng=rng)
    return {"clean": reference, "crash": result["state"], "clean_seconds": reference["seconds"],
            "crash_trial": result["trial"], "store_diff": result["store_diff"], "fake_diff": result["fake_diff"],
            "lost_or_doubled": result["lost_or_doubled"]}


_STARTUP: list[float] = []


def startup_seconds() -> float:
    """How long ``vwfund --help`` takes here (imports and plugins: kills before that change nothing)."""
    if not _STARTUP:
        began = time.monotonic()
        subprocess.run([*vwfund_command(), "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: S603
                       check=False)
        _STARTUP.append(time.monotonic() - began)
    return _STARTUP[0]


@contextlib.contextmanager
def _in_the_past(fake: Any, seconds: int) -> Iterator[None]:
    """Stripe's clock set back while filling, so every object and event is older than the run's start."""
    fake.state.clock_offset = -seconds
    try:
        yield
    finally:
        fake.state.clock_offset = 0


class StripeSync(Scenario):
    """``vwfund sync stripe``: customers, charges (fees, attribution), later refunds and disputes, monthly
    donors and a payout, in live mode."""

    name = "stripe sync"
    args = ("sync", "stripe")

    def start(self) -> None:
        """Start a live-mode fake and fill it (every object older than now)."""
        from vwfund.testing.fake_stripe import FakeStripe

        self.fake = FakeStripe(api_key="sk_live_FAKE", livemode=True).start()
        f = self.fake
        f.state.keep_requests = False
        with _in_the_past(f, 600):
            base = f.now() - 86400 * 5
            customers = [f.add_customer(f"donor{i}@example.org", f"Donor {i}", created=base + i)["id"]
                         for i in range(max(1, self.size // 4))]
            charges = []
            for i in range(self.size):
                ch = f.add_charge(500 + (i * 37) % 4500, customer=customers[i % len(customers)] if i % 3 else None,
                                  email=None if i % 3 else f"guest{i}@example.org",
                                  metadata={"campaign": "walk26", "team": f"t{i % 7}"}, created=base + 100 + i * 7)
                charges.append(ch["id"])
            for i, cid in enumerate(charges):
                if i % 9 == 4:
                    f.refund(cid, 100)
                if i % 18 == 4:
                    f.refund(cid)
                if i % 25 == 7:
                    f.dispute(cid)
            for cus in customers[: max(1, len(customers) // 5)]:
                f.add_subscription(cus, 1500, metadata={"campaign": "monthly"})
            f.add_payout(charges[: len(charges) // 3])

    def settings(self, url: str | None = None) -> dict[str, dict[str, Any]]:
        """``[stripe]`` at the fake (or ``url``)."""
        return {"stripe": {"api_key": self.fake.api_key, "api_base": url or self.fake.url}}

    def fake_state(self) -> dict[str, Any]:
        """A sync only reads: the fake's writes stay at none."""
        return {"writes": {k: n for k, n in self.fake.calls.items() if not k.startswith("GET")}}

    def requests(self) -> int:
        """Requests the fake answered."""
        return int(self.fake.total_calls())


MAILCHIMP_LIST = "list0001"


class _MailchimpScenario(Scenario):
    def start(self) -> None:
        from vwfund.testing.fake_mailchimp import FakeMailchimp

        self.fake = FakeMailchimp().start()
        self.fill()

    def fill(self) -> None:
        """Put the audience's members in the fake."""

    def settings(self, url: str | None = None) -> dict[str, dict[str, Any]]:
        """``[mailchimp]`` at the fake (or ``url``), short retries."""
        return {"mailchimp": {"api_key": self.fake.api_key, "list_id": MAILCHIMP_LIST, "api_base": url or self.fake.url,
                              "retries": 6, "backoff": 0.01, "timeout": 2, "poll_interval": 0.01,
                              "page_size": 100}}

    def fake_state(self) -> dict[str, Any]:
        """Every member: hash, status, names, tags; and the subscribed members' hashes."""
        audience = self.fake.lists[MAILCHIMP_LIST]
        return {"members": sorted((h, m["status"], m["merge_fields"].get("FNAME", ""),
                                   m["merge_fields"].get("LNAME", ""), tuple(sorted(t["name"] for t in m["tags"])))
                                  for h, m in audience.members.items()),
                "members_subscribed": sorted(h for h, m in audience.members.items() if m["status"] == "subscribed")}

    def requests(self) -> int:
        """Requests the fake answered."""
        return sum(self.fake.calls.values())


class MailchimpPull(_MailchimpScenario):
    """``vwfund sync mailchimp``: members in every status with consent, and a sent campaign's activity."""

    name = "mailchimp pull"
    args = ("sync", "mailchimp")

    def fill(self) -> None:
        """Members changed over the last days, and one campaign opened by some."""
        now = datetime.now(UTC)
        statuses = ("subscribed", "subscribed", "subscribed", "unsubscribed", "cleaned", "pending")
        for i in range(self.size):
            self.fake.add_member(MAILCHIMP_LIST, f"member{i}@example.org", statuses[i % len(statuses)],
                                 first_name=f"F{i}", last_name="Jansen", permissions={"p1": ("Email", i % 4 != 0)},
                                 opted_in=now - timedelta(days=40), changed=now - timedelta(hours=50, minutes=-i))
        self.fake.add_campaign(MAILCHIMP_LIST, "camp0001", now - timedelta(days=2), {
            f"member{i}@example.org": [("open", now - timedelta(days=1))] for i in range(0, self.size, 5)})


class MailchimpPush(_MailchimpScenario):
    """``vwfund push mailchimp``: consenting contacts become members; those who left stay left."""

    name = "mailchimp push"
    args = ("push", "mailchimp")

    def fill(self) -> None:
        """A few addresses that unsubscribed in Mailchimp (never to be resubscribed)."""
        for i in range(0, self.size, 10):
            self.fake.add_member(MAILCHIMP_LIST, f"supporter{i}@example.org", "unsubscribed", first_name="Left",
                                 changed=datetime.now(UTC) - timedelta(days=3))

    def prepare_store(self, db_url: str) -> None:
        """Supporters with a granted email consent (every 7th withdrawn it)."""
        from vwfund.models import ConsentRecord, Contact
        from vwfund.store.records import save_records

        at = datetime(2026, 1, 10, tzinfo=UTC)
        records: list[Any] = []
        for i in range(self.size):
            records += [Contact(source="civicrm", external_id=str(i), email=f"supporter{i}@example.org",
                                first_name=f"S{i}", last_name="Bakker"),
                        ConsentRecord(source="civicrm", external_id=f"c{i}", contact_source="civicrm",
                                      contact_external_id=str(i), purpose="newsletter", granted=i % 7 != 3, at=at)]
        _save(db_url, records, save_records)


def _save(db_url: str, records: list[Any], save: Callable[..., Any]) -> None:
    store = open_store(db_url)
    try:
        with store.begin() as conn:
            save(conn, records)
    finally:
        store.dispose()


CIVI_KEY, CIVI_SITE = "crash-civi-key-0001", "crash-civi-site-0001"


class _CiviScenario(Scenario):
    def start(self) -> None:
        from vwfund.testing.fake_civicrm import FakeCiviCRM

        self.fake = FakeCiviCRM(api_key=CIVI_KEY, site_key=CIVI_SITE).start()
        self.fake.state.clock = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        self.fill()

    def fill(self) -> None:
        """Put records in the fake."""

    def settings(self, url: str | None = None) -> dict[str, dict[str, Any]]:
        """``[civicrm]`` at the fake (or ``url``)."""
        return {"civicrm": {"url": url or self.fake.url, "api_key": CIVI_KEY, "site_key": CIVI_SITE,
                            "batch_size": 10, "page_size": 50}}

    def fake_state(self) -> dict[str, Any]:
        """Contributions by invoice id (amount, status, donor) and payments by trxn id (amounts), each exactly
        once; contacts by external identifier, emails."""
        rows = self.fake.rows("Contribution")
        people = {c["id"]: str(c.get("external_identifier")) for c in self.fake.rows("Contact")}
        return {
            "contributions": sorted((str(c.get("invoice_id")), str(Decimal(str(c["total_amount"]))),
                                     c["contribution_status_id"], people.get(c.get("contact_id")))
                                    for c in rows),
            "payments": sorted((str(p.get("trxn_id")), str(Decimal(str(p["total_amount"]))))
                               for p in self.fake.rows("Payment")),
            "recurring": sorted(str(r.get("invoice_id")) for r in self.fake.rows("ContributionRecur")),
            "contacts": sorted(str(c.get("external_identifier")) for c in self.fake.rows("Contact")),
            "emails": sorted(str(e.get("email")) for e in self.fake.rows("Email")),
        }

    def comparable(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """Push state without digests, which hold CiviCRM's own ids (contacts and contributions are numbered
        in the order made, which a fault can change); what CiviCRM holds is compared by :meth:`fake_state`."""
        return {**snapshot, "push_state": sorted((t, s, i, None if t == "civicrm" else d)
                                                 for t, s, i, d in snapshot["push_state"])}

    def requests(self) -> int:
        """Requests the fake answered."""
        return int(self.fake.requests)


class CiviPull(_CiviScenario):
    """``vwfund sync civicrm``: contacts with emails and flags, paid, refunded and partly refunded gifts."""

    name = "civicrm pull"
    args = ("sync", "civicrm")

    def fill(self) -> None:
        """Contacts, and gifts paid (some refunded) by payments."""
        f = self.fake
        people = []
        for i in range(max(1, self.size // 2)):
            c = f.seed("Contact", {"first_name": f"P{i}", "last_name": "Visser", "is_opt_out": i % 6 == 0})
            f.seed("Email", {"contact_id": c["id"], "email": f"person{i}@example.org", "is_primary": True})
            people.append(c["id"])
        for i in range(self.size):
            amount = Decimal(500 + (i * 53) % 5000) / 100
            order = f.seed("Order", {"contributionValues": {
                "contact_id": people[i % len(people)], "financial_type_id": 1, "currency": "EUR",
                "receive_date": f"2026-02-{1 + i % 27:02d} 10:00:00", "invoice_id": f"civi-inv-{i}"},
                "lineItems": [{"line_total": str(amount)}]})
            f.seed("Payment", {"contribution_id": order["id"], "total_amount": str(amount), "trxn_id": f"bank-{i}"})
            if i % 8 == 5:
                half = Decimal((500 + (i * 53) % 5000) // 2) / 100
                f.seed("Payment", {"contribution_id": order["id"], "total_amount": str(-half),
                                   "trxn_id": f"bank-{i}r"})


class CiviPush(_CiviScenario):
    """``vwfund push civicrm``: Stripe gifts (fees, refunds, a monthly plan) become contributions and
    payments, each exactly once."""

    name = "civicrm push"
    args = ("push", "civicrm")

    def prepare_store(self, db_url: str) -> None:
        """Donors and their gifts, as the Stripe sync would have saved them."""
        from vwfund.models import Contact, Donation, RecurringPlan
        from vwfund.store.records import save_records

        donors = max(1, self.size // 4)
        records: list[Any] = [Contact(source="stripe", external_id=f"cus_{i}", email=f"giver{i}@example.org",
                                      first_name=f"G{i}", last_name="Smit") for i in range(donors)]
        records.append(RecurringPlan(source="stripe", external_id="sub_1", contact_source="stripe",
                                     contact_external_id="cus_0", amount_minor=1500, currency="EUR",
                                     interval="month", status="active", started_at=datetime(2026, 1, 5, tzinfo=UTC)))
        for i in range(self.size):
            refunded = 0 if i % 6 else 250
            records.append(Donation(
                source="stripe", external_id=f"ch_{i}", amount_minor=1000 + (i * 41) % 4000, currency="EUR",
                fee_minor=25 + i % 40, refunded_minor=refunded,
                status="partially_refunded" if refunded else "succeeded",
                received_at=datetime(2026, 2, 1, tzinfo=UTC) + timedelta(minutes=i), contact_source="stripe",
                contact_external_id=f"cus_{i % donors}", recurring_plan="sub_1" if i % donors == 0 else None))
        _save(db_url, records, save_records)


SCENARIOS: dict[str, type[Scenario]] = {cls.name: cls for cls in (StripeSync, MailchimpPull, MailchimpPush,
                                                                   CiviPull, CiviPush)}
