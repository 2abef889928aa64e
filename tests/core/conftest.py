"""Fixtures for the data-layer tests: an isolated home (no real config, netrc, keyring or
WANDB_* variable can leak in) and an in-memory OS keyring."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

from wbadmin.core import paths
from wbadmin.core.settings import clear_settings_cache


@dataclass
class Home:
    root: Path
    home: Path
    config: Path  # XDG_CONFIG_HOME
    cache: Path  # XDG_CACHE_HOME
    data: Path  # XDG_DATA_HOME
    wandb_config: Path  # WANDB_CONFIG_DIR
    netrc: Path  # NETRC (not created)

    @property
    def config_file(self) -> Path:
        return paths.config_file()

    def write_config(self, text: str) -> Path:
        path = self.config_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        clear_settings_cache()
        return path

    def write_wandb_settings(self, text: str) -> Path:
        path = self.wandb_config / "settings"
        path.write_text(text)
        return path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    """HOME, XDG_*, WANDB_CONFIG_DIR and NETRC in a temp dir; every WANDB_* variable unset."""
    import os

    for var in list(os.environ):
        if var.startswith("WANDB_"):
            monkeypatch.delenv(var)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    root = tmp_path / "iso"
    dirs = {name: root / name for name in ("home", "config", "cache", "data", "wandb")}
    for path in dirs.values():
        path.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(dirs["config"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(dirs["cache"]))
    monkeypatch.setenv("XDG_DATA_HOME", str(dirs["data"]))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(dirs["wandb"]))
    monkeypatch.setenv("NETRC", str(dirs["home"] / ".netrc"))
    clear_settings_cache()
    yield Home(root=root, home=dirs["home"], config=dirs["config"], cache=dirs["cache"],
               data=dirs["data"], wandb_config=dirs["wandb"], netrc=dirs["home"] / ".netrc")
    clear_settings_cache()


class MemoryKeyring(KeyringBackend):
    """An OS keyring that lives in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


def _swap_keyring(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A working, empty in-memory OS keyring, restored afterwards. Autouse: no test may
    touch the real keyring of the machine running the tests."""
    yield from _swap_keyring(MemoryKeyring())  # type: ignore[misc]


@pytest.fixture
def no_keyring(memory_keyring: MemoryKeyring) -> Iterator[KeyringBackend]:
    """A headless box: keyring's fail.Keyring (every operation raises NoKeyringError)."""
    yield from _swap_keyring(fail.Keyring())
