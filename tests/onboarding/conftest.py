"""Fixtures shared by the onboarding tests: the CLI fixtures (isolated home and keyring, a
LIVE profile against the sandbox as alice, `cli(...)` in-process)."""

from __future__ import annotations

from tests.cli.conftest import cli, home, isolated_home, live, memory_keyring  # noqa: F401
