"""Configuration: command-line option, then ``VWFUND_<SECTION>_<KEY>``, then ``vwfund.toml``.

The file is found by ``--config``, then ``VWFUND_CONFIG``, then the user's config directory. It may
hold secrets only when it is readable by its owner alone.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vwfund.errors import ConfigError
from vwfund.secrets import mask, register_secret
from vwfund.timeutil import DEFAULT_TIMEZONE, zone

SECRET_KEYS = {"api_key", "secret", "webhook_secret", "site_key", "password", "token"}
ENV_PREFIX = "VWFUND_"
#: Sections and keys known to the core, with defaults. Plugins read their own sections.
DEFAULTS: dict[str, dict[str, Any]] = {
    "organisation": {
        "name": "Vluchtelingenwerk",
        "timezone": DEFAULT_TIMEZONE,
        "currency": "EUR",
        "country": "NL",
        "locale": "nl_NL",
    },
    "store": {"url": None},
}


def parse_bool(where: str, value: Any) -> bool:
    """A yes/no setting: true/false, yes/no, on/off, 1/0; ``where`` names it in the error ("[gdpr] x")."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{where} must be true or false, not {value!r}")


def parse_int(where: str, value: Any, minimum: int | None = None) -> int:
    """A whole-number setting (at least ``minimum``); ``where`` names it in the error."""
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be a whole number, not {value!r}")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} must be a whole number, not {value!r}") from exc
    if minimum is not None and number < minimum:
        raise ConfigError(f"{where} must be at least {minimum}, not {number}")
    return number


def parse_names(where: str, value: Any) -> tuple[str, ...]:
    """A list of names: a TOML list, or comma-separated text (as environment variables give it)."""
    if isinstance(value, str):
        items: list[Any] = [v.strip() for v in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [v.strip() if isinstance(v, str) else v for v in value]
    else:
        raise ConfigError(f"{where} must be a list of names, not {value!r}")
    if any(not isinstance(v, str) for v in items):
        raise ConfigError(f"{where} must be a list of names (text), not {value!r}")
    return tuple(v for v in items if v)


def is_secret(key: str) -> bool:
    """Whether a setting's name marks it as a secret."""
    k = key.lower()
    return k in SECRET_KEYS or k.endswith(("_key", "_secret", "_token", "_password"))


def default_config_path() -> Path:
    """Where vwfund looks for its config file when none is named."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("vwfund")) / "vwfund.toml"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(f"config file {path}: {section!r} must be a [section]")
    secrets = [f"[{s}] {k}" for s, values in data.items() for k in values if is_secret(k) and values[k]]
    if secrets and os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"config file {path} holds secrets ({', '.join(secrets)}) but others can read it: "
                f"run `chmod 600 {path}`, or give them as VWFUND_* environment variables"
            )
    return data


class Config:
    """Merged settings; ``get`` applies precedence (override, environment, file, default)."""

    def __init__(
        self,
        file_data: Mapping[str, Mapping[str, Any]] | None = None,
        env: Mapping[str, str] | None = None,
        path: Path | None = None,
    ) -> None:
        self.path = path
        self._file = {s.lower(): dict(v) for s, v in (file_data or {}).items()}
        self._env = dict(os.environ if env is None else env)
        self._overrides: dict[tuple[str, str], Any] = {}
        for section in self.sections():
            for key, value in self.section(section).items():
                if is_secret(key) and isinstance(value, str):
                    register_secret(value)

    def override(self, section: str, key: str, value: Any) -> None:
        """Set a value from the command line (highest precedence)."""
        if value is not None:
            self._overrides[(section.lower(), key.lower())] = value
            if is_secret(key) and isinstance(value, str):
                register_secret(value)

    def sections(self) -> list[str]:
        """Every section named by defaults, the file or the environment."""
        names = set(DEFAULTS) | set(self._file) | {s for (s, _k) in self._overrides}
        for var in self._env:
            if var.startswith(ENV_PREFIX) and var.count("_") >= 2:
                names.add(var[len(ENV_PREFIX) :].split("_", 1)[0].lower())
        names.discard("config")
        names.discard("db")
        return sorted(names)

    def get(self, section: str, key: str, default: Any = None) -> Any:
        """A value by precedence: override, ``VWFUND_SECTION_KEY``, file, built-in default, ``default``."""
        section, key = section.lower(), key.lower()
        if (section, key) in self._overrides:
            return self._overrides[(section, key)]
        env_name = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
        if env_name in self._env and self._env[env_name] != "":
            return self._env[env_name]
        if key in self._file.get(section, {}):
            return self._file[section][key]
        builtin = DEFAULTS.get(section, {}).get(key)
        return builtin if builtin is not None else default

    def require(self, section: str, key: str, what: str = "") -> str:
        """A value that must be set; the error names every way to give it."""
        value = self.get(section, key)
        if value in (None, ""):
            env_name = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
            where = f" for {what}" if what else ""
            raise ConfigError(
                f"[{section}] {key} is not set{where}: set {env_name}, or add `{key} = ...` under [{section}] "
                f"in {self.path or default_config_path()}"
            )
        return str(value)

    def get_int(self, section: str, key: str, default: int, minimum: int | None = None) -> int:
        """An integer setting; a bad value is reported by name."""
        return parse_int(f"[{section}] {key}", self.get(section, key, default), minimum)

    def get_bool(self, section: str, key: str, default: bool) -> bool:
        """A yes/no setting; accepts true/false, yes/no, on/off, 1/0."""
        return parse_bool(f"[{section}] {key}", self.get(section, key, default))

    def section(self, name: str) -> dict[str, Any]:
        """Every key of a section, with precedence applied."""
        name = name.lower()
        keys = set(DEFAULTS.get(name, {})) | set(self._file.get(name, {}))
        prefix = f"{ENV_PREFIX}{name.upper()}_"
        keys |= {v[len(prefix) :].lower() for v in self._env if v.startswith(prefix)}
        keys |= {k for (s, k) in self._overrides if s == name}
        return {k: self.get(name, k) for k in sorted(keys)}

    @property
    def timezone(self) -> str:
        """The organisation's time zone (validated)."""
        tz = str(self.get("organisation", "timezone"))
        zone(tz)
        return tz

    @property
    def currency(self) -> str:
        """The organisation's main currency."""
        from vwfund.money import normalise_currency

        try:
            return normalise_currency(str(self.get("organisation", "currency")))
        except Exception as exc:
            raise ConfigError(f"[organisation] currency: {exc}") from exc

    @property
    def locale(self) -> str:
        """The organisation's default locale for amounts and dates."""
        return str(self.get("organisation", "locale"))

    def masked(self) -> dict[str, dict[str, Any]]:
        """Every setting with secrets masked: safe to print."""
        return {s: {k: mask(v) if is_secret(k) else v for k, v in self.section(s).items()} for s in self.sections()}


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Find and read the config file (an explicitly named one must exist); apply the environment."""
    environ = dict(os.environ if env is None else env)
    named = path or environ.get("VWFUND_CONFIG")
    if named:
        file_path = Path(named).expanduser()
        if not file_path.is_file():
            raise ConfigError(f"config file {file_path} does not exist")
        return Config(_read_file(file_path), environ, file_path)
    default = default_config_path()
    if default.is_file():
        return Config(_read_file(default), environ, default)
    return Config({}, environ, None)
