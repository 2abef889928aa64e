"""Where wbadmin and the W&B SDK keep files on this machine.

wbadmin's own files follow the platform conventions (platformdirs: XDG on Linux, ~/Library on
macOS, %APPDATA% on Windows). The W&B files are found where the `wandb` SDK looks for them, so a
user's existing `wandb login` is reused without importing `wandb`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

APP_NAME = "wbadmin"
CONFIG_FILE_NAME = "config.toml"


def config_dir() -> Path:
    """wbadmin's config directory, e.g. ~/.config/wbadmin."""
    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    """wbadmin's TOML config (profiles, [ui], [keys], [access])."""
    return config_dir() / CONFIG_FILE_NAME


def cache_dir() -> Path:
    """wbadmin's cache directory, e.g. ~/.cache/wbadmin. Deleting it loses nothing."""
    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


def data_dir() -> Path:
    """wbadmin's data directory, e.g. ~/.local/share/wbadmin (the journal lives here: it is an
    audit trail, so it must not sit in a cache directory that cleaners empty)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def cache_path(profile: str) -> Path:
    """The SQLite cache of one profile: <cache>/wbadmin/<profile>.sqlite3."""
    return cache_dir() / f"{profile}.sqlite3"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "x"


def identity_cache_path(base: Path, server: str, username: str) -> Path:
    """The cache of one identity on one server, beside the profile's cache path:
    default.sqlite3 -> default@alice@api.wandb.ai-1a2b3c4d.sqlite3 (the hash tells apart
    servers whose names slug alike)."""
    host = urlsplit(server).netloc or server
    tag = hashlib.sha256(f"{server}\n{username}".encode()).hexdigest()[:8]
    return base.with_name(f"{base.stem}@{_slug(username)}@{_slug(host)}-{tag}{base.suffix}")


def server_cache_path(base: Path, server: str) -> Path:
    """Server-wide state of a profile (quota alerts posted), shared by its identities."""
    host = urlsplit(server).netloc or server
    tag = hashlib.sha256(server.encode()).hexdigest()[:8]
    return base.with_name(f"{base.stem}@server@{_slug(host)}-{tag}{base.suffix}")


def journal_path(profile: str) -> Path:
    """The change journal of one profile: <data>/wbadmin/<profile>-journal.sqlite3."""
    return data_dir() / f"{profile}-journal.sqlite3"


def wandb_settings_file() -> Path:
    """The SDK's global settings file: $WANDB_CONFIG_DIR/settings, else ~/.config/wandb/settings.

    The SDK does not use XDG_CONFIG_HOME here, so neither do we.
    """
    if config := os.environ.get("WANDB_CONFIG_DIR"):
        return Path(config).expanduser() / "settings"
    return Path("~/.config/wandb/settings").expanduser()


def netrc_file() -> Path:
    """The netrc file the SDK reads: $NETRC, else ~/.netrc, else ~/_netrc (may not exist)."""
    if env := os.environ.get("NETRC"):
        return Path(env).expanduser()
    unix = Path("~/.netrc").expanduser()
    if unix.exists():
        return unix
    windows = Path("~/_netrc").expanduser()
    if windows.exists():
        return windows
    return windows if os.name == "nt" else unix
