"""The permission matrix: every access change kind × every demo identity, over real HTTP.

Each cell gets a fresh sandbox. The plan is built from a cache synced as alice (so it exists
even where the identity's own service would refuse to plan it), then applied through the
engine with the identity's own key (SCIM look-ups go as alice, so that every write itself
reaches the server as the identity): the sandbox alone judges. The expected outcome comes
from W&B's documented rules (/work/shared/reference/wandb-api.md) applied to the identity's
seeded roles (seed_data.IDENTITIES), not from a table of answers:

- SCIM (team roles, org roles, SCIM team adds, deactivate, reactivate) accepts only org admins
  and org-scoped service accounts (§2.1); everyone else gets 403.
- Invites, removals, invite cancellations, GraphQL adds and team service accounts need an
  org admin or an admin of that team (§4.3, §4.5, §8.2); members and viewers get nothing.
- Registry roles of users and teams need an effective registry Admin: max(org role, registry
  role) (§4.7); a registry Member or Viewer may not add users or change roles.

Allowed: the engine verifies it, and a re-read as alice shows it. Denied: the engine reports
a PermissionDenied failure and the sandbox's access tables are byte-for-byte unchanged.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import key_of
from wbadmin.core.access import AccessService
from wbadmin.core.access.changes import AddToTeam
from wbadmin.core.changes import Change, Outcome, Plan
from wbadmin.core.client import Client, ScimResponse
from wbadmin.core.engine import Engine
from wbadmin.core.journal import Journal
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed_data import IDENTITIES

from .conftest import synced_cache

TEAM, REGISTRY = "data-science-nlp", "model"
WHO = ("alice", "bob", "carol", "victor", "grace")  # grace: registry admin of `model` only
# Everything an access change can touch; the audit log is a record, not access state.
STATE_TABLES = ("users", "api_keys", "entities", "team_members", "invites", "custom_roles",
                "project_members", "project_team_members")


# ---- the rules, from each identity's seeded roles ------------------------------------------

def org_role(who: str) -> str:
    return IDENTITIES[who][1]


def scim_allowed(who: str) -> bool:
    """SCIM: org admins (and org-scoped service accounts) only."""
    return org_role(who) == "admin"


def team_admin(who: str) -> bool:
    """Manages TEAM's members, invites and service accounts: org admin or TEAM admin."""
    return scim_allowed(who) or IDENTITIES[who][3].get(TEAM) == "admin"


def registry_admin(who: str) -> bool:
    """Effective Admin of REGISTRY: the highest of org role and registry role."""
    return org_role(who) == "admin" or IDENTITIES[who][4].get(REGISTRY) == "admin"


# ---- the actions: one plan each, built as alice -------------------------------------------

@dataclass(frozen=True)
class Action:
    label: str
    rule: Callable[[str], bool]
    build: Callable[[AccessService], Plan]


ACTIONS: dict[str, Action] = {a.label: a for a in (
    # Targets are chosen so that a refused identity acting on them would be an escalation:
    # carol promoting herself, victor making himself org admin, grace joining a team, ...
    Action("team role carol->admin (SCIM)", scim_allowed,
           lambda s: s.set_team_role(TEAM, "carol", "admin")),
    Action("org role victor->admin (SCIM)", scim_allowed,
           lambda s: s.set_org_role("victor", "admin")),
    Action("add grace as member (SCIM)", scim_allowed,
           lambda s: s.add_to_team(TEAM, "grace", "member")),
    Action("add grace as admin (GraphQL)", team_admin,
           lambda s: Plan(changes=[AddToTeam.make(TEAM, "grace", "admin", scim=False)])),
    Action("invite by email", team_admin,
           lambda s: s.invite(TEAM, "matrix.probe@example.com")),
    Action("invite by username", team_admin,
           lambda s: s.invite(TEAM, "beatriz.silva")),
    Action("cancel an invite", team_admin,
           lambda s: s.cancel_invite(TEAM, "dave@inference-systems.ai")),
    Action("remove chidi from team", team_admin,
           lambda s: s.remove_from_team(TEAM, "chidi.okonkwo")),
    Action("deactivate chidi (SCIM)", scim_allowed,
           lambda s: s.deactivate("chidi.okonkwo")),
    Action("reactivate leila (SCIM)", scim_allowed,
           lambda s: s.reactivate("leila.silva")),
    Action("registry role carol->admin", registry_admin,
           lambda s: s.set_registry_role(REGISTRY, "carol", "admin")),
    Action("registry role team->admin", registry_admin,
           lambda s: s.set_registry_role(REGISTRY, TEAM, "admin", team=True)),
    Action("create service account", team_admin,
           lambda s: s.create_service_account(TEAM, "matrix probe")),
)}

# (action, who) -> "allowed" | "denied" | "failed: <reason>", filled as the cells run.
OBSERVED: dict[tuple[str, str], str] = {}


def expected(action: str, who: str) -> str:
    return "allowed" if ACTIONS[action].rule(who) else "denied"


def render() -> str:
    """The matrix so far; a cell that differs from W&B's rule shows `!` and what W&B does."""
    width = max(len(a) for a in ACTIONS) + 2
    lines = [("".ljust(width) + "".join(w.ljust(23) for w in WHO)).rstrip()]
    for action in ACTIONS:
        cells = []
        for who in WHO:
            seen = OBSERVED.get((action, who))
            want = expected(action, who)
            if seen is None:
                cells.append(f"({want})".ljust(23))
            elif seen == want:
                cells.append(seen.ljust(23))
            else:
                cells.append(f"!{seen.split(':')[0]} (W&B {want})".ljust(23))
        lines.append((action.ljust(width) + "".join(cells)).rstrip())
    lines.append("(x) = not run yet, expected x;  !x = sandbox did x where W&B does otherwise")
    return "\n".join(lines)


# ---- helpers -----------------------------------------------------------------------------

def dump(db: Database) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in db.query(f"SELECT * FROM {t} ORDER BY rowid")]
            for t in STATE_TABLES}


def diff(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> str:
    out = []
    for table in STATE_TABLES:
        gone = set(before[table]) - set(after[table])
        new = set(after[table]) - set(before[table])
        out += [f"  {table} -{row}" for row in sorted(gone, key=str)]
        out += [f"  {table} +{row}" for row in sorted(new, key=str)]
    return "\n".join(out) or "  (no difference)"


class WritesAs(Client):
    """`who`'s own Client, except that SCIM look-ups (GET) go as alice. A SCIM change looks
    its target up before it writes; refused at the look-up, its PATCH would never reach the
    server. This way the write itself is sent with `who`'s key and the server judges it."""

    def __init__(self, base_url: str, who: str, reader: Client) -> None:
        super().__init__(base_url, key_of(who), scim_username=who)
        self.reader = reader

    async def scim(self, method: str, path: str, **kw: Any) -> ScimResponse:
        if method == "GET":
            return await self.reader.scim(method, path, **kw)
        return await super().scim(method, path, **kw)


def apply_as(base_url: str, plan: Plan, who: str, journal: Path) -> Outcome:
    async def go() -> list[Outcome]:
        async with Client(base_url, key_of("alice"), scim_username="alice") as alice, \
                WritesAs(base_url, who, alice) as client:
            with Journal(journal) as j:
                return await Engine(j, profile="matrix").apply(plan, client, who)
    (outcome,) = asyncio.run(go())
    return outcome


def shown_to_alice(base_url: str, change: Change) -> bool:
    """Whether alice's own re-read (SCIM or GraphQL, as the change reads) shows `after`."""
    async def go() -> bool:
        async with Client(base_url, key_of("alice"), scim_username="alice") as client:
            return change.matches(await change.read_current(client), change.after)
    return asyncio.run(go())


def classify(outcome: Outcome) -> str:
    if outcome.ok:
        return "allowed"
    if outcome.status == "failed" and outcome.result.startswith("PermissionDenied"):
        return "denied"
    return f"failed: {outcome.result}"


# ---- the matrix ----------------------------------------------------------------------------

@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("action", list(ACTIONS),
                         ids=[re.sub(r"[^a-z0-9]+", "-", a.lower()).strip("-") for a in ACTIONS])
def test_cell(sandbox, tmp_path: Path, action: str, who: str) -> None:
    url, db = sandbox.base_url, sandbox.db
    plan = ACTIONS[action].build(AccessService(synced_cache(url, "alice")))
    assert len(plan.changes) == 1, f"{action}: expected one change, got {plan.changes}"
    change = plan.changes[0]
    before = dump(db)
    outcome = apply_as(url, plan, who, tmp_path / "journal.db")
    after = dump(db)
    OBSERVED[(action, who)] = seen = classify(outcome)
    context = (f"\n{who} × {action} via {change.via}: W&B {expected(action, who)}, sandbox "
               f"{seen} ({outcome.result})\nstate change:\n{diff(before, after)}\n\n{render()}")
    if expected(action, who) == "allowed":
        assert outcome.ok and outcome.verified, context
        assert after != before, context
        assert shown_to_alice(url, change), context
    else:
        assert seen == "denied", context
        assert after == before, "ESCALATION: a refused change altered state" + context


def test_matrix_matches_wandb_with_zero_escalations() -> None:
    """The whole matrix at once (runs after the cells; skipped when only some ran)."""
    cells = [(a, w) for a in ACTIONS for w in WHO]
    if any(c not in OBSERVED for c in cells):
        pytest.skip("run the whole matrix to check it as a whole")
    wrong = [c for c in cells if OBSERVED[c] != expected(*c)]
    assert not wrong, f"{len(wrong)} cells differ from W&B:\n{render()}"
    # Sanity: the matrix separates the roles (no rule collapsed to all-or-nothing).
    for who in WHO:
        allowed = sum(OBSERVED[(a, who)] == "allowed" for a in ACTIONS)
        assert allowed == sum(ACTIONS[a].rule(who) for a in ACTIONS), render()
    assert {sum(r.rule(w) for r in ACTIONS.values()) for w in WHO} >= {0, len(ACTIONS)}
