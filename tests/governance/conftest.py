"""Fixtures for the run-policy tests: the CLI fixtures (isolated home, LIVE profile against
the demo sandbox over real HTTP as alice) and another identity's key."""

from __future__ import annotations

from tests.access.conftest import as_user  # noqa: F401  (fixture)
from tests.cli.conftest import cli, home, isolated_home, live, memory_keyring  # noqa: F401
from tests.promotions.conftest import receiver  # noqa: F401  (fixture)
