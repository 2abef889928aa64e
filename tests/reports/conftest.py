"""Fixtures for the report tests: the isolated home and keyring of the core tests, and the
CLI fixtures (a LIVE profile against the sandbox over real HTTP)."""

from __future__ import annotations

from tests.cli.conftest import cli, live  # noqa: F401  (fixtures)
from tests.core.conftest import isolated_home, memory_keyring  # noqa: F401  (autouse)
