"""Helpers of the org-as-code tests (imported explicitly: the onboarding test directory is
shared with the templates/walkthrough tests, which own no part of this module)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import key_of
from wbadmin.core.changes import Outcome, Plan
from wbadmin.core.client import Client
from wbadmin.core.engine import Engine
from wbadmin.core.journal import Journal


def run_plan(base_url: str, plan: Plan, actor: str, journal: Path) -> list[Outcome]:
    """Apply `plan` through the engine as `actor` over real HTTP."""
    async def go() -> list[Outcome]:
        async with Client(base_url, key_of(actor), scim_username=actor) as client:
            with Journal(journal) as j:
                return await Engine(j, profile="test").apply(plan, client, actor)
    return asyncio.run(go())


def project_row(db, entity: str, name: str) -> dict | None:
    """The project as the sandbox's own database holds it."""
    rows = db.query("SELECT p.name, p.description, p.access FROM projects p JOIN entities e "
                    "ON e.id = p.entity_id WHERE e.name = ? AND p.name = ?", (entity, name))
    return dict(rows[0]) if rows else None


def team_exists(db, name: str) -> bool:
    return bool(db.query("SELECT 1 FROM entities WHERE name = ? AND kind = 'team'", (name,)))


def set_key(text: str, table: str, key: str, value: str | None) -> str:
    """`text` with `key = value` set in `[table]` (value None: the key line removed), as a
    person would edit the file. `key` and `value` are written as given (TOML)."""
    lines = text.split("\n")
    start = lines.index(f"[{table}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")),
               len(lines))
    for i in range(start + 1, end):
        if lines[i].split(" = ", 1)[0] == key:
            if value is None:
                del lines[i]
            else:
                lines[i] = f"{key} = {value}"
            return "\n".join(lines)
    assert value is not None, f"{key} is not in [{table}]"
    lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines)
