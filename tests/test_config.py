"""Configuration precedence, secrets and clear errors."""

from __future__ import annotations

import json
import logging
import os

import pytest

from vwfund.config import load_config
from vwfund.errors import ConfigError
from vwfund.secrets import RedactingFilter, redact

KEY = "sk_test_51DummyKeyForTestsOnly0000000000"


def write_config(tmp_path, text, mode=0o600):
    path = tmp_path / "vwfund.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_precedence_option_then_environment_then_file(tmp_path):
    path = write_config(tmp_path, '[stripe]\napi_base = "http://file"\n[organisation]\ntimezone = "Europe/Brussels"\n')
    config = load_config(path, env={"VWFUND_STRIPE_API_BASE": "http://env"})
    assert config.get("stripe", "api_base") == "http://env"
    assert config.timezone == "Europe/Brussels"
    config.override("stripe", "api_base", "http://option")
    assert config.get("stripe", "api_base") == "http://option"
    assert load_config(path, env={}).get("stripe", "api_base") == "http://file"


def test_secrets_in_a_file_others_can_read_are_refused(tmp_path):
    path = write_config(tmp_path, f'[stripe]\napi_key = "{KEY}"\n', mode=0o644)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "chmod 600" in str(err.value) and "[stripe] api_key" in str(err.value) and KEY not in str(err.value)
    os.chmod(path, 0o600)
    assert load_config(path, env={}).get("stripe", "api_key") == KEY


def test_missing_key_names_every_way_to_give_it(tmp_path):
    config = load_config(None, env={})
    with pytest.raises(ConfigError) as err:
        config.require("mailchimp", "api_key", "the newsletter sync")
    assert "VWFUND_MAILCHIMP_API_KEY" in str(err.value) and "[mailchimp]" in str(err.value)


def test_bad_values_are_reported_by_name(tmp_path):
    path = write_config(tmp_path, '[organisation]\ntimezone = "Mars/Olympus"\n[gdpr]\nretention_years = "seven"\n')
    config = load_config(path, env={})
    with pytest.raises(ConfigError, match=r"organisation.timezone: unknown time zone 'Mars/Olympus'"):
        _ = config.timezone
    with pytest.raises(ConfigError, match=r"\[gdpr\] retention_years must be a whole number"):
        config.get_int("gdpr", "retention_years", 7)
    bad_toml = write_config(tmp_path, "[stripe\napi_key=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad_toml, env={})


def test_config_show_masks_secrets(cli, tmp_path, monkeypatch):
    cli.app.config.override("stripe", "api_key", KEY)
    cli.app.config.override("civicrm", "site_key", "site-key-value-123456")
    out = cli("--json", "config", "show").stdout
    assert KEY not in out and "site-key-value-123456" not in out
    settings = json.loads(out)["settings"]
    assert settings["stripe"]["api_key"].startswith("****")


def test_logs_never_carry_a_registered_secret(caplog):
    load_config(None, env={"VWFUND_STRIPE_API_KEY": KEY})
    logger = logging.getLogger("vwfund.test")
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    record = logger.makeRecord("vwfund.test", logging.ERROR, __file__, 1, "calling with %s", (KEY,), None)
    handler.filter(record)
    assert KEY not in record.getMessage()
    assert redact(f"Bearer {KEY}") == "Bearer ****"
