"""Settings and profiles.

A *profile* says which W&B deployment wbadmin talks to: base URL (plus SCIM prefix), default org
and entity, and where its cache and journal live. Each field is taken from the strongest source
that sets it:

1. flags (`--base-url`, `--entity`, ...), passed to `resolve_profile` as a dict;
2. the environment: WANDB_BASE_URL, WANDB_ENTITY, WANDB_ORGANIZATION;
3. wbadmin's TOML config (`[profiles.<name>]` in `paths.config_file()`);
4. the W&B SDK's settings file (`[default]` base_url, entity), i.e. the user's `wandb login`;
5. built-in defaults (SaaS: https://api.wandb.ai; paths from platformdirs).

The built-in `sandbox` profile is the embedded sandbox: its base URL is decided when the server
starts (`Profile.with_base_url`). Sources 2 and 4 describe the user's real W&B login, so they
never apply to it; flags and its TOML section may point it at a `wbadmin sandbox serve` instead.

The TOML file also holds typed sections `[ui]`, `[keys]`, `[access]` and `[network]` (see
`Settings`).
Every problem a user can cause is a `SettingsError` whose message is one line saying what to
do; unknown keys are only warnings.
"""

from __future__ import annotations

import configparser
import dataclasses
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import paths, tomlfile
from .errors import WbError
from .settings_sections import AccessSettings, NetworkSettings, UISettings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.wandb.ai"
DEFAULT_SCIM_PREFIX = "/scim"
DEFAULT_PROFILE = "default"  # the user's own `wandb login` (env, SDK settings, SaaS default)
SANDBOX_PROFILE = "sandbox"
BUILTIN_PROFILES = (DEFAULT_PROFILE, SANDBOX_PROFILE)

PROFILE_FIELDS = ("base_url", "scim_prefix", "org", "entity", "cache_path", "journal_path")
_FLAG_NAMES = {f: "--" + f.replace("_", "-") for f in PROFILE_FIELDS}
_PROFILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

# CoreWeave Forge fronts W&B SaaS; the SDK 0.31 default base URL is a Forge host.
_APP_URLS = {
    "api.wandb.ai": "https://wandb.ai",
    "api.qa.wandb.ai": "https://qa.wandb.ai",
    "api.forge.coreweave.com": "https://forge.coreweave.com/wandb",
    "api.qa.forge.coreweave.com": "https://qa.forge.coreweave.com/wandb",
}


class SettingsError(WbError):
    """A problem with settings that the user must fix; `str(e)` is a one-line message."""

    kind = "settings"


class ConfigFileError(SettingsError):
    """wbadmin's TOML config is unreadable, malformed, or has a value of the wrong type."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path, self.reason, self.line = path, reason, line
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"Cannot use config file {where}: {reason}. "
                         "Fix the file (or move it aside) and try again.")


class PolicyFileError(ConfigFileError):
    """A policy, template or org file is unreadable or malformed:
    "<what> <file>, line N: <reason>"."""

    what = "file"

    def __init__(self, path: Path | str, reason: str, line: int | None = None) -> None:
        super().__init__(Path(path), reason, line)
        where = f"{path}, line {line}" if line else str(path)
        self.message = f"{self.what} {where}: {reason}"
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message


class UnknownProfileError(SettingsError):
    def __init__(self, name: str, known: list[str], config: Path) -> None:
        self.name, self.known = name, known
        super().__init__(f"Unknown profile {name!r}; known profiles: {', '.join(known)}. "
                         "Pick one with --profile, or add a "
                         f"[profiles.{name}] section to {config}.")


class InvalidURLError(SettingsError):
    def __init__(self, url: str, source: str, reason: str) -> None:
        self.url, self.source = url, source
        super().__init__(f"Invalid base URL {url!r} (from {source}): {reason}. "
                         f"Use e.g. {DEFAULT_BASE_URL} or https://<name>.wandb.io.")


# ---- typed sections (settings_sections.py) ------------------------------------------------

# Values that must be > 0; everything else numeric must be >= 0.
_POSITIVE = {"refresh_interval_s", "max_org_admins", "many_teams_threshold",
             "service_account_idle_days", "key_max_age_days",
             "connect_timeout_s", "read_timeout_s", "give_up_after_s"}


@dataclass(frozen=True)
class ProfileConfig:
    """One `[profiles.<name>]` section as written (None = not set there)."""
    base_url: str | None = None
    scim_prefix: str | None = None
    org: str | None = None
    entity: str | None = None
    cache_path: Path | None = None
    journal_path: Path | None = None


@dataclass(frozen=True)
class Settings:
    """Everything in wbadmin's TOML config, typed and defaulted. Load with `load_settings`."""
    path: Path
    exists: bool = False
    default_profile: str | None = None
    profiles: Mapping[str, ProfileConfig] = field(default_factory=dict)
    ui: UISettings = field(default_factory=UISettings)
    keys: Mapping[str, str] = field(default_factory=dict)  # binding id -> key
    access: AccessSettings = field(default_factory=AccessSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    warnings: tuple[str, ...] = ()

    def profile_names(self) -> list[str]:
        return sorted({*BUILTIN_PROFILES, *self.profiles})


# ---- the profile ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """A resolved profile. `sources` says where each field came from (for `wbadmin config`)."""
    name: str
    base_url: str | None  # None only for the embedded sandbox before it starts
    scim_prefix: str
    org: str | None
    entity: str | None
    cache_path: Path
    journal_path: Path
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_sandbox(self) -> bool:
        return self.name == SANDBOX_PROFILE

    @property
    def embedded(self) -> bool:
        """True when wbadmin must start the embedded sandbox to get a base URL."""
        return self.is_sandbox and self.base_url is None

    @property
    def app_url(self) -> str | None:
        """The W&B UI URL, for "open in browser"."""
        return app_url_for(self.base_url) if self.base_url else None

    @property
    def scim_url(self) -> str | None:
        return f"{self.base_url}{self.scim_prefix}" if self.base_url else None

    @property
    def graphql_url(self) -> str | None:
        return f"{self.base_url}/graphql" if self.base_url else None

    @property
    def host(self) -> str | None:
        """host[:port] of the base URL, as `wandb login` names it in ~/.netrc."""
        return urlsplit(self.base_url).netloc if self.base_url else None

    def with_base_url(self, url: str, source: str = "embedded sandbox") -> Profile:
        """This profile bound to a base URL decided at run time (the embedded sandbox)."""
        url = normalize_base_url(url, source)
        return dataclasses.replace(self, base_url=url, sources={**self.sources, "base_url": source})


def app_url_for(base_url: str) -> str:
    """SaaS API host api.wandb.ai → https://wandb.ai; Dedicated and others serve both."""
    parts = urlsplit(base_url)
    return _APP_URLS.get(parts.netloc, base_url)


def normalize_base_url(url: str, source: str) -> str:
    """A validated base URL without trailing '/', or InvalidURLError naming `source`."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as e:
        raise InvalidURLError(url, source, str(e)) from None
    if parts.scheme not in ("http", "https"):
        raise InvalidURLError(url, source, "it must start with https:// (or http://)")
    if not parts.hostname:
        raise InvalidURLError(url, source, "it names no host")
    if parts.query or parts.fragment:
        raise InvalidURLError(url, source, "it must not have a query (?) or fragment (#)")
    if " " in text:
        raise InvalidURLError(url, source, "it contains a space")
    host = parts.hostname
    if host in ("wandb.ai", "app.wandb.ai"):  # the UI address, not the API (as the SDK says)
        raise InvalidURLError(url, source,
                              f"that is the W&B web app; did you mean {DEFAULT_BASE_URL}?")
    if host.endswith("wandb.ai") and parts.scheme != "https":
        raise InvalidURLError(url, source, "W&B SaaS requires https://")
    return text.rstrip("/")


def _validate_profile_name(name: str, source: str) -> None:
    if not _PROFILE_NAME_RE.fullmatch(name):
        raise SettingsError(f"Invalid profile name {name!r} (from {source}): use letters, digits, "
                            "'.', '_' and '-' (it becomes part of file names).")


# ---- loading the TOML config ---------------------------------------------------------------

_TOP_LEVEL = {"default_profile", "profiles", "ui", "keys", "access", "network"}


def _find_line(text: str, table: str | None, key: str | None) -> int | None:
    """Best-effort line of `key` in `[table]` (tomllib gives positions only for syntax errors)."""
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if header := re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]\s*(#.*)?", line):
            current = re.sub(r"\s*\.\s*", ".", header.group(1)).replace('"', "")
            if key is None and current == table:
                return number
            continue
        if key and current == table and re.match(rf'"?{re.escape(key)}"?\s*=', line):
            return number
    return None


class _Loader:
    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self.warnings: list[str] = []

    def error(self, table: str | None, key: str | None, reason: str) -> ConfigFileError:
        return ConfigFileError(self.path, reason, _find_line(self.text, table, key))

    def warn_unknown(self, table: str | None, key: str, known: set[str] | tuple[str, ...]) -> None:
        where = f"[{table}] " if table else ""
        line = _find_line(self.text, table, key)
        at = f"{self.path}, line {line}" if line else str(self.path)
        self.warnings.append(f"{at}: unknown setting {where}{key!r} ignored "
                             f"(known: {', '.join(sorted(known))})")

    def table(self, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.error(None, name, f"{name!r} must be a table ([{name}])")
        return value

    def typed(self, cls: type, data: Mapping[str, Any], table: str) -> Any:
        """Build a section dataclass from a table: type-checked, defaults for missing keys."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                self.warn_unknown(table, key, tuple(known))
                continue
            values[key] = self.check(table, key, value, known[key].type)
        return cls(**values)

    def check(self, table: str, key: str, value: Any, typ: Any) -> Any:
        expected = {"str": str, "int": int, "float": (int, float), "bool": bool}[str(typ)]
        # bool is an int in Python but not in TOML; keep them apart.
        if isinstance(value, bool) != (typ in (bool, "bool")) or not isinstance(value, expected):
            label = {"str": "a string", "int": "an integer", "float": "a number",
                     "bool": "true or false"}[str(typ)]
            raise self.error(table, key, f"[{table}] {key} must be {label}, "
                                         f"not {type(value).__name__} {value!r}")
        if typ in ("int", "float") and (value <= 0 if key in _POSITIVE else value < 0):
            bound = "greater than 0" if key in _POSITIVE else "0 or more"
            raise self.error(table, key, f"[{table}] {key} must be {bound}, not {value!r}")
        return float(value) if typ == "float" else value

    def profile(self, name: str, data: Any) -> ProfileConfig:
        table = f"profiles.{name}"
        if not isinstance(data, dict):
            raise self.error("profiles", name, f"profiles.{name} must be a table ([{table}])")
        if not _PROFILE_NAME_RE.fullmatch(name):
            raise self.error(table, None, f"invalid profile name {name!r}: use letters, digits, "
                                          "'.', '_' and '-'")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in PROFILE_FIELDS:
                self.warn_unknown(table, key, PROFILE_FIELDS)
                continue
            if not isinstance(value, str) or not value.strip():
                raise self.error(table, key, f"[{table}] {key} must be a non-empty string")
            if key == "base_url":
                line = _find_line(self.text, table, key)
                where = f"{self.path}" + (f", line {line}" if line else "") + f" [{table}]"
                value = normalize_base_url(value, where)
            elif key == "scim_prefix":
                value = "/" + value.strip().strip("/")
            elif key in ("cache_path", "journal_path"):
                # Relative paths are relative to the config file, not to the working directory.
                value = self.path.parent / Path(value).expanduser()
            values[key] = value
        return ProfileConfig(**values)

    def settings(self, data: Mapping[str, Any]) -> Settings:
        for key in data:
            if key not in _TOP_LEVEL:
                self.warn_unknown(None, key, _TOP_LEVEL)
        default = data.get("default_profile")
        if default is not None and not isinstance(default, str):
            raise self.error(None, "default_profile", "default_profile must be a string")
        profiles = {name: self.profile(name, body)
                    for name, body in self.table(data, "profiles").items()}
        keys = dict(self.table(data, "keys"))
        for binding, key in keys.items():
            if not isinstance(key, str) or not key:
                raise self.error("keys", binding, f"[keys] {binding} must be a key name string, "
                                                  'e.g. "ctrl+r"')
        settings = Settings(
            path=self.path, exists=True, default_profile=default, profiles=profiles,
            ui=self.typed(UISettings, self.table(data, "ui"), "ui"),
            keys=keys,
            access=self.typed(AccessSettings, self.table(data, "access"), "access"),
            network=self.typed(NetworkSettings, self.table(data, "network"), "network"),
            warnings=tuple(self.warnings))
        if default is not None and default not in settings.profile_names():
            raise self.error(None, "default_profile",
                             f"default_profile {default!r} is not a profile "
                             f"(known: {', '.join(settings.profile_names())})")
        return settings


def load_settings(path: Path | None = None) -> Settings:
    """Read wbadmin's TOML config (`paths.config_file()` by default). A missing file is fine.

    Raises ConfigFileError (file, line, reason) for an unreadable or malformed file. Unknown
    keys are logged as warnings and kept in `Settings.warnings`.
    """
    path = Path(path) if path is not None else paths.config_file()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings(path=path)
    except OSError as e:
        raise ConfigFileError(path, e.strerror or str(e)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(path, "it is not UTF-8 text") from None
    try:
        data = tomlfile.loads(text)
    except tomlfile.TomlSyntaxError as e:
        line = e.line or len(text.splitlines()) or None  # "at end of document"
        raise ConfigFileError(path, e.reason, line) from None
    settings = _Loader(path, text).settings(data)
    for warning in settings.warnings:
        log.warning("%s", warning)
    return settings


_cached: dict[Path, Settings] = {}


def get_settings(path: Path | None = None) -> Settings:
    """The settings, loaded once per process (per path)."""
    key = Path(path) if path is not None else paths.config_file()
    if key not in _cached:
        _cached[key] = load_settings(key)
    return _cached[key]


def clear_settings_cache() -> None:
    """Forget loaded settings (after the file was edited; in tests)."""
    _cached.clear()


# ---- the W&B SDK's settings file -----------------------------------------------------------

def read_wandb_settings() -> dict[str, str]:
    """base_url and entity from the SDK's `[default]` section, if set. Not our file: a broken
    one is a warning, never an error."""
    path = paths.wandb_settings_file()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        read = parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as e:
        log.warning("Ignoring W&B settings file %s: %s", path, str(e).splitlines()[0])
        return {}
    if not read or not parser.has_section("default"):
        return {}
    found = {}
    for key in ("base_url", "entity"):
        value = parser.get("default", key, fallback="").strip()
        if value:
            found[key] = value
    return found


# ---- resolution ----------------------------------------------------------------------------

def resolve_profile(name: str | None, flags: Mapping[str, Any] | None = None, *,
                    settings: Settings | None = None) -> Profile:
    """The profile `name` (None: the config's default_profile, else "default"), each field
    taken from the strongest source (see the module docstring). `flags` maps field names
    (base_url, scim_prefix, org, entity, cache_path, journal_path) to values; None = unset.

    Raises SettingsError subclasses with one-line messages.
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None and v != ""}
    if unknown := set(flags) - set(PROFILE_FIELDS):
        raise TypeError(f"unknown profile flags: {sorted(unknown)}")
    settings = settings if settings is not None else get_settings()
    if name is None:
        name = settings.default_profile or DEFAULT_PROFILE
        name_source = f"{settings.path} default_profile" if settings.default_profile else "default"
    else:
        name_source = "--profile"
    _validate_profile_name(name, name_source)
    if name not in settings.profile_names():
        raise UnknownProfileError(name, settings.profile_names(), settings.path)

    # Weakest first; later layers overwrite.
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("default", {"base_url": None if name == SANDBOX_PROFILE else DEFAULT_BASE_URL,
                     "scim_prefix": DEFAULT_SCIM_PREFIX,
                     "cache_path": paths.cache_path(name),
                     "journal_path": paths.journal_path(name)}),
    ]
    if name != SANDBOX_PROFILE:
        layers.append((str(paths.wandb_settings_file()), read_wandb_settings()))
    if name in settings.profiles:
        section = dataclasses.asdict(settings.profiles[name])
        layers.append((f"{settings.path} [profiles.{name}]", section))
    if name != SANDBOX_PROFILE:
        env = {"base_url": "WANDB_BASE_URL", "entity": "WANDB_ENTITY", "org": "WANDB_ORGANIZATION"}
        for key, var in env.items():
            if value := os.environ.get(var, "").strip():
                layers.append((var, {key: value}))
    for key, value in flags.items():
        layers.append((_FLAG_NAMES[key], {key: value}))

    values: dict[str, Any] = dict.fromkeys(PROFILE_FIELDS)
    sources: dict[str, str] = {}
    for source, layer in layers:
        for key, value in layer.items():
            if value is not None:
                values[key], sources[key] = value, source

    if values["base_url"] is not None:
        values["base_url"] = normalize_base_url(str(values["base_url"]), sources["base_url"])
    values["scim_prefix"] = "/" + str(values["scim_prefix"]).strip().strip("/")
    for key in ("cache_path", "journal_path"):
        values[key] = Path(values[key]).expanduser()
    return Profile(name=name, sources=sources, **values)
