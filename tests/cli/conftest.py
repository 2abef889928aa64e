"""Fixtures for the CLI tests: the isolated home and in-memory keyring of the core tests,
a LIVE profile pointing at the sandbox over real HTTP, and `cli(...)` to run `main` in-process."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import key_of
from tests.core.conftest import Home, MemoryKeyring, isolated_home, memory_keyring, no_keyring
from wbadmin.cli import main
from wbadmin.core import paths

__all__ = ["Home", "MemoryKeyring", "isolated_home", "memory_keyring", "no_keyring"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`cli("teams", "--json")` → Result(code, stdout, stderr) of one in-process run."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def live(sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """The `default` profile is LIVE against the sandbox, signed in as alice (org admin)."""
    monkeypatch.setenv("WANDB_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return sandbox.base_url


def secret_forms(key: str) -> list[str]:
    """The key and the Basic-auth tokens built from it (GraphQL `api:` and SCIM `user:`)."""
    forms = [key, base64.b64encode(f"api:{key}".encode()).decode()]
    forms += [base64.b64encode(f"{u}:{key}".encode()).decode() for u in ("alice", "")]
    return forms


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def cache_file(profile: str = "default", user: str = "alice") -> Path:
    """The cache file of `user` on `profile` (the embedded sandbox's has no identity part).
    Before any is made, the name the profile's caches are derived from."""
    base = paths.cache_path(profile)
    found = sorted(base.parent.glob(f"{base.stem}@{user}@*{base.suffix}"))
    return found[0] if found else base


def journal_file(profile: str = "default") -> Path:
    return paths.journal_path(profile)


@pytest.fixture
def home(isolated_home: Home) -> Home:
    return isolated_home
