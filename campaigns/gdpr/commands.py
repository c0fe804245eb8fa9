"""``vwfund gdpr ...``: thin commands over the library; destructive ones write only with --apply."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from vwfund.app import App
from vwfund.campaigns.gdpr.applying import ApplyReport, apply_plan
from vwfund.campaigns.gdpr.holds import close_hold, open_hold
from vwfund.campaigns.gdpr.planfile import write_plan_files
from vwfund.campaigns.gdpr.planning import make_plan
from vwfund.campaigns.gdpr.policy import load_policy
from vwfund.campaigns.gdpr.repermission import RepermissionReport, start_repermission
from vwfund.campaigns.gdpr.requests import ForgetReport, audit_trail, export_person, forget_person
from vwfund.campaigns.gdpr.steps import privacy_targets
from vwfund.commandkit import emit, pass_app, table, to_jsonable, write_private
from vwfund.timeutil import parse_instant

PLAN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("gdpr")
def gdpr_group() -> None:
    """GDPR clean-up (plan, repermission, apply), erasure and access requests, and the audit trail.

    Policy in [gdpr] of vwfund.toml. Nothing is changed without --apply.
    """


def _counts(title: str, counts: dict[str, int]) -> list[str]:
    return [title] + [f"  {k}: {v}" for k, v in counts.items()] if counts else [f"{title} none"]


@gdpr_group.command("plan")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Base name of the plan files (FILE.csv and FILE.json); default gdpr-plan-DATE-ID.")
@pass_app
def plan_command(app: App, out: Path | None) -> None:
    """Make a reviewable clean-up plan (changes nothing); prints counts per action and rule."""
    plan = make_plan(app.store, load_policy(app.config))
    out = out or Path(f"gdpr-plan-{plan.as_of:%Y%m%d}-{plan.id[:8]}")
    csv_path, json_path = write_plan_files(plan, out)
    data = {**plan.summary(), "files": [csv_path, json_path]}

    def render(d: dict[str, Any]) -> str:
        lines = [f"plan {d['plan_id']}: {d['rows']} rows, written to {csv_path} and {json_path} (owner-only)"]
        lines += _counts("per action:", d["actions"]) + _counts("per rule:", d["rules"])
        if d["unlinked_members"]:
            lines.append(f"{d['unlinked_members']} subscribed members are linked to no contact and are not in the "
                         "plan: pull the contacts (vwfund sync) first")
        lines.append("review the file (remove rows, or set action to keep), then `vwfund gdpr repermission` "
                     "and `vwfund gdpr apply` it")
        return "\n".join(lines)

    emit(app, data, render)


@gdpr_group.command("repermission")
@click.argument("plan_file", type=PLAN_FILE)
@click.option("--apply", "do_apply", is_flag=True, help="Tag the contacts and start the waiting period.")
@pass_app
def repermission_command(app: App, plan_file: Path, do_apply: bool) -> None:
    """Tag the plan's inactive contacts for a re-permission mailing and start the waiting period."""
    report = start_repermission(app.store, load_policy(app.config), privacy_targets(app), plan_file, apply=do_apply)

    def render(r: RepermissionReport) -> str:
        verb = "would tag" if r.dry_run else "tagged"
        n = r.to_tag if r.dry_run else r.tagged
        lines = [f"plan {r.plan_id}: {verb} {n} contacts with {r.tag!r}; {r.already_waiting} already waiting; "
                 f"inactivity actions can be applied from {r.ends_at:%Y-%m-%d %H:%M} UTC"]
        lines += [f"error: {e}" for e in r.errors]
        if r.dry_run:
            lines.append("dry run: nothing tagged; add --apply")
        return "\n".join(lines)

    emit(app, report, render)


@gdpr_group.command("apply")
@click.argument("plan_file", type=PLAN_FILE)
@click.option("--apply", "do_apply", is_flag=True, help="Carry the plan out (default: show what would be done).")
@pass_app
def apply_command(app: App, plan_file: Path, do_apply: bool) -> None:
    """Apply exactly the reviewed PLAN_FILE; contacts whose situation changed are left alone and reported."""
    report = apply_plan(app.store, load_policy(app.config), privacy_targets(app), plan_file, apply=do_apply)

    def render(r: ApplyReport) -> str:
        lines = [f"plan {r.plan_id}" + (" (dry run: nothing changed; add --apply)" if r.dry_run else "")]
        lines += _counts("would do:" if r.dry_run else "done:", dict(r.would if r.dry_run else r.done))
        lines.append(f"already done before: {r.already_done}; kept by the steward: {r.kept}")
        if r.dropped:
            lines.append(f"left alone (situation changed): {len(r.dropped)}")
            lines.append(table(r.dropped, ["row", "contact_id", "action", "why"]))
        if r.failed:
            lines.append(f"failed (run apply again to retry): {len(r.failed)}")
            lines.append(table(r.failed, ["row", "contact_id", "system", "answer"]))
        return "\n".join(lines)

    emit(app, report, render)
    if report.failed:
        raise click.exceptions.Exit(1)


@gdpr_group.command("forget")
@click.argument("email")
@click.option("--apply", "do_apply", is_flag=True, help="Erase (default: show what would be done).")
@pass_app
def forget_command(app: App, email: str, do_apply: bool) -> None:
    """Answer an erasure request (GDPR article 17): erase EMAIL everywhere, anonymise where retention applies."""
    report = forget_person(app.store, load_policy(app.config), privacy_targets(app), email, apply=do_apply)

    def render(r: ForgetReport) -> str:
        lines = [f"erasure request {r.email_hash[:12]}" + (" (dry run: nothing changed; add --apply)" if r.dry_run else "")]
        lines += [f"  store contact {c['contact_id']}: {c['outcome']} ({c['gifts_kept_for_retention']} gifts "
                  "kept for retention)" for c in r.contacts] or ["  store: no contact with this email"]
        lines += [f"  {s['system']}: {s['action']}" + (f" -> {s['answer']}" if "answer" in s else "")
                  for s in r.systems]
        lines += [f"error: {e}" for e in r.errors]
        if r.suppressed:
            lines.append("  the email is on the suppression list: no sync or import will add it again")
        return "\n".join(lines)

    emit(app, report, render)
    if report.errors:
        raise click.exceptions.Exit(1)


@gdpr_group.command("export")
@click.argument("email")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON to this owner-only file (default: print it).")
@pass_app
def export_command(app: App, email: str, out: Path | None) -> None:
    """Answer an access request (GDPR article 15): everything held about EMAIL, as JSON."""
    document = export_person(app.store, privacy_targets(app), email, load_policy(app.config).steward)
    text = json.dumps(to_jsonable(document), indent=2, ensure_ascii=False)
    if out is None:
        click.echo(text)
        return
    write_private(out, text)
    emit(app, {"file": out, "contacts": len(document["contacts"])},
         lambda d: f"written to {d['file']} (owner-only): {d['contacts']} contacts")


@gdpr_group.command("audit")
@click.option("--since", default=None, help="Only entries from this date (YYYY-MM-DD or ISO 8601).")
@pass_app
def audit_command(app: App, since: str | None) -> None:
    """The GDPR audit trail for the data protection officer: who, when, rule, digests, systems' answers."""
    start = parse_instant(since, app.config.timezone) if since else None
    rows = audit_trail(app.store, start)
    columns = ["at", "actor", "action", "contact_id", "rule", "system", "before_digest", "after_digest", "answer"]
    emit(app, rows, lambda rs: table([{**r, "at": r["at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")}
                                      for r in rs], columns))


@gdpr_group.command("hold")
@click.argument("contact_id", type=int)
@click.option("--reason", required=True, help="Why the contact must not be erased (kept in the audit trail).")
@pass_app
def hold_command(app: App, contact_id: int, reason: str) -> None:
    """Open an erasure hold: the contact is kept by every plan and refused by forget until released."""
    with app.store.begin() as conn:
        hold_id = open_hold(conn, contact_id, reason, load_policy(app.config).steward)
    emit(app, {"hold": hold_id, "contact_id": contact_id}, lambda d: f"hold {d['hold']} opened on contact {contact_id}")


@gdpr_group.command("release")
@click.argument("hold_id", type=int)
@pass_app
def release_command(app: App, hold_id: int) -> None:
    """Close an erasure hold."""
    with app.store.begin() as conn:
        close_hold(conn, hold_id, load_policy(app.config).steward, datetime.now(UTC))
    emit(app, {"hold": hold_id, "closed": True}, lambda d: f"hold {hold_id} closed")
