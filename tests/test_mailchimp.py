"""The Mailchimp connector end to end against the local fake, on SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import point_at_mailchimp
from sqlalchemy import insert, select, update

from vwfund import nightly
from vwfund.errors import RemoteError
from vwfund.identity import email_hash
from vwfund.models import ConsentRecord, Contact
from vwfund.store.contacts import suppress
from vwfund.store.records import save_records
from vwfund.store.schema import (
    consents,
    contact_links,
    contacts,
    engagement_events,
    mailing_members,
    segment_members,
    segment_runs,
)
from vwfund.sync import load_cursor, pushed_items
from vwfund.targets import TargetContact, target_contacts
from vwfund.testing.fake_mailchimp import FakeMailchimp

LIST = "list0001"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    with FakeMailchimp() as f:
        yield f


@pytest.fixture
def mc_app(app, fake):
    return point_at_mailchimp(app, fake, LIST, batch_threshold=3)


def pull(app):
    results = nightly.pull(app, "mailchimp")
    assert all(r.ok for r in results), [r.errors for r in results]
    return results


def push(app):
    return {r.stream: r for r in nightly.push(app, "mailchimp")}


def supporter(app, ext: str, email: str, *, granted: bool = True, at: datetime = T0, first: str = "Sam", **flags):
    """A CiviCRM contact with an email consent (as another connector would have saved it)."""
    with app.store.begin() as conn:
        save_records(conn, [
            Contact(source="civicrm", external_id=ext, email=email, first_name=first, **flags),
            ConsentRecord(source="civicrm", external_id=f"c-{ext}-{at:%s}", contact_source="civicrm",
                          contact_external_id=ext, purpose="newsletter", granted=granted, at=at),
        ])


def contact_id(app, email: str) -> int:
    with app.store.read() as conn:
        return conn.execute(select(contacts.c.id).where(contacts.c.email == email)).scalar_one()


# -- pull --------------------------------------------------------------------------------------------------


def test_pull_saves_members_with_consent_and_turns_leavers_into_opt_outs(mc_app, fake):
    fake.add_member(LIST, "Ann@Example.org", first_name="Ann", last_name="Ali", language="nl", tags=("walk",),
                    permissions={"p1": ("Email", True), "p2": ("Direct Mail", False)}, opted_in=T0, changed=T0,
                    open_rate=0.5, rating=4)
    fake.add_member(LIST, "bob@example.org", "unsubscribed", permissions={"p1": ("Email", False)},
                    opted_in=T0, changed=T0 + timedelta(days=2))
    fake.add_member(LIST, "cat@example.org", "cleaned", changed=T0 + timedelta(days=3))
    pull(mc_app)
    with mc_app.store.read() as conn:
        people = {r.email: r for r in conn.execute(select(contacts))}
        members = {r.email: r for r in conn.execute(select(mailing_members))}
        consent = {r.external_id: r for r in conn.execute(select(consents))}
        links = {r.external_id for r in conn.execute(select(contact_links).where(contact_links.c.system == "mailchimp"))}
    assert set(people) == {"ann@example.org", "bob@example.org", "cat@example.org"}
    assert not people["ann@example.org"].is_opt_out and people["ann@example.org"].first_name == "Ann"
    assert people["bob@example.org"].is_opt_out and people["bob@example.org"].do_not_email
    assert people["cat@example.org"].is_opt_out
    assert links == {email_hash(e) for e in people}
    ann = members["ann@example.org"]
    assert (ann.status, ann.tags, ann.member_rating, ann.avg_open_rate) == ("subscribed", ["walk"], 4, 0.5)
    assert ann.marketing_permissions == {"Email": True, "Direct Mail": False}
    assert ann.contact_id == people["ann@example.org"].id
    granted = consent[f"{LIST}:{email_hash('ann@example.org')}:p1"]
    assert granted.granted and granted.purpose == "Email" and granted.channel == "email" and granted.at == T0
    post = consent[f"{LIST}:{email_hash('ann@example.org')}:p2"]
    assert not post.granted and post.channel == "post"
    assert "Mailchimp" in granted.evidence and "timestamp_opt" in granted.evidence
    withdrawn = consent[f"{LIST}:{email_hash('bob@example.org')}:p1"]
    assert not withdrawn.granted and withdrawn.at == T0 + timedelta(days=2)


def test_second_pull_reads_only_members_changed_since_the_cursor(mc_app, fake):
    for i in range(5):
        fake.add_member(LIST, f"m{i}@example.org", first_name=f"M{i}", changed=T0 + timedelta(hours=i))
    first = pull(mc_app)[0]
    assert first.counts["contacts_created"] == 5
    member = fake.member(LIST, "m1@example.org")
    member["merge_fields"]["FNAME"] = "Changed"
    fake.lists[LIST].touch(member, datetime.now(UTC) - timedelta(seconds=5))
    second = pull(mc_app)[0]
    # the member changed last before the cursor is read again (one second of overlap), plus the changed one
    assert second.counts["contacts_updated"] == 2
    with mc_app.store.read() as conn:
        assert conn.execute(select(contacts.c.first_name).where(contacts.c.email == "m1@example.org")).scalar() \
            == "Changed"


def test_members_changing_during_the_pull_stop_the_cursor(mc_app, fake):
    mc_app.config.override("mailchimp", "page_size", 1)
    for i in range(3):
        fake.add_member(LIST, f"d{i}@example.org", changed=T0 + timedelta(hours=i))
    real = fake.dispatch
    seen = []

    def member_leaves_after_first_page(method, path, query, data):
        seen.append(path)
        if len(seen) == 2:  # a member changes now, so it leaves the window and the offsets shift
            fake.lists[LIST].touch(fake.member(LIST, "d2@example.org"), datetime.now(UTC) + timedelta(hours=1))
        return real(method, path, query, data)

    fake.dispatch = member_leaves_after_first_page
    result = nightly.pull(mc_app, "mailchimp")[0]
    assert any("changed while they were read" in n for n in result.notes)
    with mc_app.store.read() as conn:
        assert load_cursor(conn, "mailchimp.members") == T0.isoformat()  # the end of the first page


def test_engagement_is_read_per_campaign_and_through_batches_when_large(mc_app, fake):
    sent = T0 + timedelta(days=1)
    fake.add_campaign(LIST, "small1", sent, {"a@example.org": [("open", sent + timedelta(hours=1))],
                                             "b@example.org": []})
    fake.add_campaign(LIST, "large1", sent, {
        f"r{i}@example.org": [("open", sent + timedelta(hours=2)), ("click", sent + timedelta(hours=3))]
        if i == 0 else [("bounce", sent)] for i in range(5)})
    results = pull(mc_app)
    with mc_app.store.read() as conn:
        rows = conn.execute(select(engagement_events)).all()
    kinds = sorted((r.mailing_id, r.kind) for r in rows)
    # small1: 2 sent + 1 open; large1: 5 sent + 1 open + 1 click (bounces are not engagement)
    assert kinds.count(("small1", "sent")) == 2 and kinds.count(("small1", "open")) == 1
    assert kinds.count(("large1", "sent")) == 5 and kinds.count(("large1", "click")) == 1
    assert len(rows) == 10
    assert fake.calls["POST /batches"] == 1 and fake.calls["GET /reports/{id}/email-activity"] == 1 + 1
    assert results[1].ok
    pull(mc_app)  # a re-run stores nothing twice
    with mc_app.store.read() as conn:
        assert len(conn.execute(select(engagement_events)).all()) == 10


# -- push --------------------------------------------------------------------------------------------------


def test_push_adds_consenting_contacts_and_never_resubscribes_or_readds(mc_app, fake):
    supporter(mc_app, "1", "yes@example.org", first="Yara")
    supporter(mc_app, "2", "withdrawn@example.org")
    supporter(mc_app, "2", "withdrawn@example.org", granted=False, at=T0 + timedelta(days=1))
    supporter(mc_app, "3", "optout@example.org", is_opt_out=True)
    supporter(mc_app, "4", "erased@example.org")
    supporter(mc_app, "5", "left@example.org")
    supporter(mc_app, "6", "unknown-left@example.org")
    with mc_app.store.begin() as conn:
        suppress(conn, "erased@example.org", "erasure")
    fake.add_member(LIST, "left@example.org", "unsubscribed", changed=T0)
    fake.add_member(LIST, "cleaned@example.org", "cleaned", changed=T0)
    pull(mc_app)  # the store learns that left@ unsubscribed
    fake.add_member(LIST, "unknown-left@example.org", "unsubscribed", changed=T0)  # not pulled yet
    supporter(mc_app, "7", "cleaned@example.org", at=T0 + timedelta(days=5))  # a newer consent elsewhere

    results = push(mc_app)
    members = results["mailchimp.members"]
    assert members.ok, members.errors
    assert fake.member(LIST, "yes@example.org")["status"] == "subscribed"
    assert fake.member(LIST, "yes@example.org")["merge_fields"]["FNAME"] == "Yara"
    for email in ("withdrawn@example.org", "optout@example.org", "erased@example.org"):
        assert fake.member(LIST, email) is None, email
    assert fake.member(LIST, "left@example.org")["status"] == "unsubscribed"
    assert fake.member(LIST, "cleaned@example.org")["status"] == "cleaned"
    assert fake.member(LIST, "unknown-left@example.org")["status"] == "unsubscribed"
    assert members.counts["skipped_unsubscribed"] == 1  # unknown-left@, seen changed since the last pull
    with mc_app.store.read() as conn:
        assert set(pushed_items(conn, "mailchimp", "members")) == {email_hash("yes@example.org")}


def test_without_a_pull_existing_members_are_left_exactly_as_they_are(mc_app, fake):
    supporter(mc_app, "1", "old-left@example.org", first="Changed")
    supporter(mc_app, "2", "new@example.org")
    fake.add_member(LIST, "old-left@example.org", "unsubscribed", first_name="Kept", changed=T0)
    result = push(mc_app)["mailchimp.members"]
    assert result.ok and result.counts["already_member"] == 1 and result.counts["created"] == 1
    member = fake.member(LIST, "old-left@example.org")
    assert member["status"] == "unsubscribed" and member["merge_fields"]["FNAME"] == "Kept"


def test_a_second_push_sends_only_what_changed(mc_app, fake):
    fake.clock = lambda: datetime.now(UTC) - timedelta(minutes=1)  # changes land before the next pull starts
    for i in range(3):
        supporter(mc_app, str(i), f"s{i}@example.org")
    push(mc_app)
    assert fake.writes() == 1
    push(mc_app)
    assert fake.writes() == 1
    pull(mc_app)  # now known as subscribed members: the next change goes as an update
    with mc_app.store.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.email == "s1@example.org").values(first_name="New"))
    result = push(mc_app)["mailchimp.members"]
    assert fake.writes() == 2 and result.counts["updated"] == 1, result.counts  # only s1 changed
    assert fake.member(LIST, "s1@example.org")["merge_fields"]["FNAME"] == "New"


def test_an_unsubscribe_after_the_last_pull_is_seen_before_pushing(mc_app, fake):
    fake.clock = lambda: datetime.now(UTC) - timedelta(minutes=1)
    supporter(mc_app, "1", "late@example.org")
    push(mc_app)
    pull(mc_app)
    member = fake.member(LIST, "late@example.org")
    member["status"] = "unsubscribed"
    fake.lists[LIST].touch(member, datetime.now(UTC))
    with mc_app.store.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.email == "late@example.org").values(first_name="Other"))
    result = push(mc_app)["mailchimp.members"]
    assert result.counts["skipped_unsubscribed"] == 1
    assert fake.member(LIST, "late@example.org")["status"] == "unsubscribed"


def test_per_member_errors_are_reported_by_hash_retried_or_remembered(mc_app, fake):
    supporter(mc_app, "1", "flaky@example.org")
    supporter(mc_app, "2", "forgotten@example.org")
    supporter(mc_app, "3", "fine@example.org")
    fake.transient_member_errors.add(email_hash("flaky@example.org"))
    fake.lists[LIST].forgotten.add(email_hash("forgotten@example.org"))
    result = push(mc_app)["mailchimp.members"]
    assert result.status == "partial"
    assert result.counts["retried"] == 1 and result.counts["created"] == 2 and result.counts["forgotten"] == 1
    assert len(result.errors) == 1 and email_hash("forgotten@example.org") in result.errors[0]
    assert "forgotten@example.org" not in " ".join(result.errors)
    assert fake.member(LIST, "flaky@example.org")["status"] == "subscribed"
    assert fake.member(LIST, "forgotten@example.org") is None
    writes = fake.writes()
    again = push(mc_app)["mailchimp.members"]
    assert again.ok and fake.writes() == writes  # the forgotten address is never sent again


def test_a_failed_bulk_call_fails_the_push_and_keeps_earlier_state(mc_app, fake):
    supporter(mc_app, "1", "x1@example.org")
    fake.inject(500, times=10, path=f"/3.0/lists/{LIST}", method="POST")
    result = push(mc_app)["mailchimp.members"]
    assert result.status == "failed" and "500" in result.errors[0]
    with mc_app.store.read() as conn:
        assert pushed_items(conn, "mailchimp", "members") == {}


# -- segments as tags --------------------------------------------------------------------------------------


def _segment_run(app, name: str, ids: list[int]) -> None:
    with app.store.begin() as conn:
        run_id = conn.execute(insert(segment_runs).values(
            name=name, as_of=datetime.now(UTC), ran_at=datetime.now(UTC), definition={}, member_count=len(ids),
        )).inserted_primary_key[0]
        for cid in ids:
            conn.execute(insert(segment_members).values(run_id=run_id, contact_id=cid))


def test_push_sets_and_removes_segment_tags_of_the_latest_run(mc_app, fake):
    for i in range(3):
        supporter(mc_app, str(i), f"t{i}@example.org")
    supporter(mc_app, "9", "nonmember@example.org", granted=False)
    ids = [contact_id(mc_app, f"t{i}@example.org") for i in range(3)]
    outsider = contact_id(mc_app, "nonmember@example.org")
    _segment_run(mc_app, "lapsed", [*ids, outsider])
    first = push(mc_app)
    assert first["mailchimp.segments"].ok
    assert all("lapsed" in [t["name"] for t in fake.member(LIST, f"t{i}@example.org")["tags"]] for i in range(3))
    _segment_run(mc_app, "lapsed", ids[:1])
    second = push(mc_app)["mailchimp.segments"]
    assert second.counts["tag_removed"] == 2
    assert [t["name"] for t in fake.member(LIST, "t1@example.org")["tags"]] == []
    assert [t["name"] for t in fake.member(LIST, "t0@example.org")["tags"]] == ["lapsed"]
    with mc_app.store.read() as conn:
        assert set(pushed_items(conn, "mailchimp", "segment:lapsed")) == {str(ids[0])}
    calls = fake.calls["POST /lists/{id}/segments/{sid}"]
    push(mc_app)
    assert fake.calls["POST /lists/{id}/segments/{sid}"] == calls  # nothing changed, nothing sent


def test_segment_target_reports_pushed_items_by_contact_id(mc_app, fake):
    supporter(mc_app, "1", "seg@example.org")
    push(mc_app)
    cid = contact_id(mc_app, "seg@example.org")
    target = mc_app.connector("mailchimp").segment_target(mc_app)
    with mc_app.store.read() as conn:
        people = target_contacts(conn, [cid])
    added = target.apply_segment("donors-2024", people, [])
    assert [(p.scope, p.item, p.removed) for p in added.pushed] == [("segment:donors-2024", str(cid), False)]
    removed = target.apply_segment("donors-2024", [], people)
    assert [(p.scope, p.item, p.removed) for p in removed.pushed] == [("segment:donors-2024", str(cid), True)]
    assert fake.member(LIST, "seg@example.org")["tags"] == []


# -- GDPR and doctor ---------------------------------------------------------------------------------------


def test_privacy_actions_are_idempotent_and_deletion_blocks_readding(mc_app, fake):
    fake.add_member(LIST, "gdpr@example.org", permissions={"p1": ("Email", True)})
    fake.add_member(LIST, "gone@example.org")
    fake.add_member(LIST, "consent@example.org", permissions={"p1": ("Email", True)})
    target = mc_app.connector("mailchimp").privacy_target(mc_app)
    assert target.supported_actions == {"archive", "delete_permanently", "remove_consent"}
    person = TargetContact(1, "gdpr@example.org")
    exported = target.export(person)
    assert exported["found"] and exported["member"]["email_address"] == "gdpr@example.org"
    assert target.perform("archive", person).ok and fake.member(LIST, "gdpr@example.org")["status"] == "archived"
    again = target.perform("archive", person)
    assert again.ok and again.not_found
    gone = TargetContact(2, "gone@example.org")
    assert target.perform("delete_permanently", gone).ok and fake.member(LIST, "gone@example.org") is None
    assert target.perform("delete_permanently", gone).not_found
    assert target.export(gone) == {"system": "mailchimp", "audience": LIST, "found": False}
    answer = target.perform("remove_consent", TargetContact(3, "consent@example.org"))
    member = fake.member(LIST, "consent@example.org")
    assert answer.ok and member["status"] == "unsubscribed"
    assert [p["enabled"] for p in member["marketing_permissions"]] == [False]
    supporter(mc_app, "8", "gone@example.org")  # the deleted address comes back from elsewhere
    result = push(mc_app)["mailchimp.members"]
    assert result.counts["forgotten"] == 1 and fake.member(LIST, "gone@example.org") is None


def test_privacy_tag_marks_members_for_a_re_permission_mailing(mc_app, fake):
    fake.add_member(LIST, "rp@example.org")
    target = mc_app.connector("mailchimp").privacy_target(mc_app)
    outcome = target.tag([TargetContact(5, "rp@example.org"), TargetContact(6, "none@example.org")], "re-permission")
    assert [p.item for p in outcome.pushed] == ["5"] and outcome.counts["tag_failed"] == 1
    assert email_hash("none@example.org") in outcome.errors[0] and "none@example.org" not in outcome.errors[0]
    assert [t["name"] for t in fake.member(LIST, "rp@example.org")["tags"]] == ["re-permission"]


def test_doctor_check_reads_the_audience(mc_app, fake):
    fake.add_member(LIST, "d@example.org")
    connector = mc_app.connector("mailchimp")
    assert connector.is_configured(mc_app.config)
    assert "1 subscribed members" in connector.check(mc_app)
    mc_app.config.override("mailchimp", "list_id", "nolist")
    with pytest.raises(RemoteError, match="404"):
        connector.check(mc_app)


def test_plan_command_counts_what_a_push_would_send_and_sends_nothing(cli, fake):
    app = cli.app
    for key, value in {"api_key": fake.api_key, "list_id": LIST, "api_base": fake.url}.items():
        app.config.override("mailchimp", key, value)
    supporter(app, "1", "p1@example.org")
    supporter(app, "2", "p2@example.org")
    push(app)
    supporter(app, "3", "p3@example.org")
    _segment_run(app, "spring", [contact_id(app, "p1@example.org")])
    writes = fake.writes()
    out = json.loads(cli("--json", "mailchimp", "plan").output)
    assert out["members"] == {"new": 1, "update": 0, "unchanged": 2, "never_resubscribed": 0, "forgotten": 0}
    assert out["segments"] == {"spring": {"add": 1, "remove": 0}}
    assert fake.writes() == writes
    assert "never resubscribed" in " ".join(cli("mailchimp", "plan", "--help").output.split())


@pytest.mark.parametrize("status", [429, 403])
def test_a_throttled_bulk_call_is_retried_and_lands_once(mc_app, fake, status):
    supporter(mc_app, "1", "th@example.org")
    fake.inject(status, times=1, path=f"/3.0/lists/{LIST}", method="POST", retry_after=0, title="Too Many Requests")
    result = push(mc_app)["mailchimp.members"]
    assert result.ok and result.counts["created"] == 1 and fake.writes() == 1
    assert fake.member(LIST, "th@example.org")["status"] == "subscribed"


def test_sync_and_push_commands_run_the_connector(cli, fake):
    for key, value in {"api_key": fake.api_key, "list_id": LIST, "api_base": fake.url}.items():
        cli.app.config.override("mailchimp", key, value)
    fake.add_member(LIST, "cli@example.org", permissions={"p1": ("Email", True)}, opted_in=T0, changed=T0)
    pulled = json.loads(cli("--json", "sync", "mailchimp").output)
    assert [s["stream"] for s in pulled] == ["mailchimp.members", "mailchimp.engagement"]
    assert pulled[0]["counts"]["contacts_created"] == 1
    pushed = json.loads(cli("--json", "push", "mailchimp").output)
    assert [s["status"] for s in pushed] == ["ok", "ok"]
    assert fake.writes() == 0  # the only member came from Mailchimp and has not changed
