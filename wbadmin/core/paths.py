"""Where wbadmin and the W&B SDK keep files on this machine.

wbadmin's own files follow the platform conventions (platformdirs: XDG on Linux, ~/Library on
macOS, %APPDATA% on Windows). The W&B files are found where the `wandb` SDK looks for them, so a
user's existing `wandb login` is reused without importing `wandb`.
"""

from __future__ import annotations

import os
from pathlib import Path

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
