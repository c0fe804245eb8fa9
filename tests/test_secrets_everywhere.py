"""Every command, run with known dummy keys, never shows a key: not in output, logs, errors or the store."""

from __future__ import annotations

import logging
import os

import click
import pytest
from click.testing import CliRunner
from conftest import command_paths
from sqlalchemy import inspect, select, text

from vwfund.app import App
from vwfund.cli.main import build_cli
from vwfund.config import Config

STRIPE_KEY = "sk_test_51SecretDummyKeyNeverShown000000000001"
WEBHOOK_SECRET = "whsec_DummyWebhookSecretNeverShown0000001"
MAILCHIMP_KEY = "0123456789abcdef0123456789abcdef-us21"
CIVICRM_KEY = "civicrm-api-key-never-shown-000001"
CIVICRM_SITE_KEY = "civicrm-site-key-never-shown-000001"
SECRETS = (STRIPE_KEY, WEBHOOK_SECRET, MAILCHIMP_KEY, CIVICRM_KEY, CIVICRM_SITE_KEY)
DEAD = "http://127.0.0.1:9"  # nothing listens: every call fails at once
SKIP = {"vwfund serve", "vwfund demo"}  # serve blocks; demo uses no keys and is tested on its own


def arguments_for(command: click.Command, tmp_path) -> list[str]:
    """Plausible values for a command's required arguments, from their types."""
    values = []
    sample = tmp_path / "sample.csv"
    sample.write_text("email,amount,currency,received_at\nsecret-test@example.org,1.00,EUR,2024-01-01\n")
    for param in command.params:
        if not isinstance(param, click.Argument) or not param.required:
            continue
        kind = param.type
        if isinstance(kind, click.Path):
            values.append(str(sample))
        elif isinstance(kind, click.types.IntParamType):
            values.append("1")
        elif isinstance(kind, click.Choice):
            values.append(str(kind.choices[0]))
        else:
            values.append("secret-test@example.org" if "email" in param.name else "x")
    return values


@pytest.mark.parametrize("path_command", [pc for pc in command_paths(build_cli()) if pc[0] not in SKIP],
                         ids=lambda pc: pc[0])
def test_no_command_shows_a_secret(path_command, sqlite_store, builtin_plugins, tmp_path, caplog, monkeypatch):
    path, command = path_command
    monkeypatch.chdir(tmp_path)  # a command's default output file (a GDPR plan) lands here, not in the project
    env = {
        "VWFUND_STRIPE_API_KEY": STRIPE_KEY, "VWFUND_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "VWFUND_STRIPE_API_BASE": DEAD, "VWFUND_MAILCHIMP_API_KEY": MAILCHIMP_KEY,
        "VWFUND_MAILCHIMP_LIST_ID": "list1", "VWFUND_MAILCHIMP_API_BASE": DEAD + "/3.0", "VWFUND_MAILCHIMP_BACKOFF": "0.01",
        "VWFUND_CIVICRM_URL": DEAD, "VWFUND_CIVICRM_API_KEY": CIVICRM_KEY, "VWFUND_CIVICRM_SITE_KEY": CIVICRM_SITE_KEY,
    }
    app = App(Config({}, env=env), db_url=sqlite_store.url, plugins=builtin_plugins)
    args = path.split()[1:]
    if not isinstance(command, click.Group):
        args += arguments_for(command, tmp_path)
    caplog.set_level(logging.DEBUG)
    old = dict(os.environ)
    os.environ.update(env)
    try:
        result = CliRunner().invoke(build_cli(), ["-vv", "--json", *args], obj=app)
    finally:
        os.environ.clear()
        os.environ.update(old)
    seen = [result.output, caplog.text, repr(result.exception or "")]
    with sqlite_store.read() as conn:
        for table in inspect(conn).get_table_names():
            seen += [repr(tuple(row)) for row in conn.execute(select(text("*")).select_from(text(table)))]
    for text_seen in seen:
        for secret in SECRETS:
            assert secret not in text_seen, f"{path} showed a secret"
    for item in tmp_path.rglob("*"):
        if item.is_file() and item.suffix not in {".db", ".db-wal", ".db-shm"}:
            content = item.read_bytes()
            assert not any(s.encode() in content for s in SECRETS), f"{path} wrote a secret into {item.name}"
