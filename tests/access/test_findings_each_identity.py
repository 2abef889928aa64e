"""Every access finding as each demo identity sees it: alice (org admin), bob (team admin), carol
(member) and victor (viewer), each on a cache of their own synced over real HTTP. A finding
either reports exactly what its viewer can know — checked against the sandbox's own database,
over the teams that viewer can see — or says it is not visible to them (count None, "?"). It
never reports a false "none" (a 0 where something exists that the viewer cannot judge) and never
a false alarm (something that is not so)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.access.conftest import synced_cache
from tests.conftest import SEED, SEED_NOW
from wbadmin.core.access import AccessService
from wbadmin.core.access.findings import Finding, findings
from wbadmin.core.cache import Cache
from wbadmin.core.settings import AccessSettings
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_demo
from wbadmin.sandbox.server import SandboxServer

DAY = 86_400
IDENTITIES = ("alice", "bob", "carol", "victor")
# The defaults, and thresholds tight enough that every finding has something in the demo org.
SETTINGS = {"default": AccessSettings(),
            "tight": AccessSettings(max_org_admins=1, invite_max_age_days=10,
                                    inactive_admin_days=90, many_teams_threshold=3)}
# Findings that need the org's people or every team (SCIM, org admins only).
NEEDS_SCIM = {"inactive-admins", "too-many-org-admins", "deactivated-in-teams",
              "registry-admins-not-org-admins", "admin-of-many-teams"}


@dataclass
class World:
    db: Database
    caches: dict[str, Cache]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One sandbox for the module, and one cache per identity, each synced as that identity."""
    db = Database()
    seed_demo(db, seed=SEED, now=SEED_NOW)
    server = SandboxServer(db)
    server.start()
    try:
        yield World(db, {u: synced_cache(server.base_url, u) for u in IDENTITIES})
    finally:
        server.stop()
        db.close()


# ---- the sandbox's truth, over what a viewer can see -------------------------------------------

def visible_teams(db: Database, user: str) -> set[str]:
    """All the org's teams for an org admin; otherwise the teams the user belongs to."""
    if db.query("SELECT org_role FROM users WHERE username = ?", (user,))[0][0] == "admin":
        return {r[0] for r in db.query("SELECT name FROM entities WHERE kind = 'team'")}
    return {r[0] for r in db.query(
        "SELECT e.name FROM team_members m JOIN users u ON u.id = m.user_id JOIN entities e ON "
        "e.id = m.team_id WHERE u.username = ?", (user,))}


def team_admins(db: Database) -> dict[str, int]:
    """Active people holding the admin role, per team."""
    return {r[0]: r[1] for r in db.query(
        "SELECT e.name, (SELECT COUNT(*) FROM team_members m JOIN users u ON u.id = m.user_id "
        "WHERE m.team_id = e.id AND m.role = 'admin' AND u.active = 1 AND "
        "u.account_type = 'USER') FROM entities e WHERE e.kind = 'team'")}


def org_admins(db: Database) -> list[tuple[str, int | None]]:
    return [(r[0], r[1]) for r in db.query(
        "SELECT username, last_active_at FROM users WHERE org_role = 'admin' AND active = 1 AND "
        "account_type = 'USER' AND org_id IS NOT NULL")]


def truth(db: Database, user: str, finding: str, cfg: AccessSettings) -> set:
    teams = visible_teams(db, user)
    if finding == "teams-without-admin":
        return {t for t, n in team_admins(db).items() if n == 0 and t in teams}
    if finding == "teams-single-admin":
        return {t for t, n in team_admins(db).items() if n == 1 and t in teams}
    if finding == "too-many-org-admins":
        admins = org_admins(db)
        return {u for u, _ in admins} if len(admins) > cfg.max_org_admins else set()
    if finding == "inactive-admins":
        cutoff = SEED_NOW - cfg.inactive_admin_days * DAY
        return {u for u, last in org_admins(db) if last is None or last < cutoff}
    if finding == "deactivated-in-teams":
        return {(r[0], r[1]) for r in db.query(
            "SELECT u.username, e.name FROM team_members m JOIN users u ON u.id = m.user_id "
            "JOIN entities e ON e.id = m.team_id WHERE u.active = 0")}
    if finding == "stale-invites":
        return {(r[0], r[1]) for r in db.query(
            "SELECT e.name, i.email FROM invites i JOIN entities e ON e.id = i.team_id "
            "WHERE ? - i.created_at > ?", (SEED_NOW, cfg.invite_max_age_days * DAY))
            if r[0] in teams}
    if finding == "service-accounts-restricted":
        via_team = {(r[0], r[1]) for r in db.query(
            "SELECT u.username, p.name, e.name FROM project_team_members g JOIN projects p ON "
            "p.id = g.project_id JOIN team_members m ON m.team_id = g.team_id JOIN users u ON "
            "u.id = m.user_id JOIN entities e ON e.id = g.team_id WHERE p.is_registry = 1 AND "
            "p.access = 'RESTRICTED' AND u.account_type = 'SERVICE'") if r[2] in teams}
        direct = {(r[0], r[1]) for r in db.query(
            "SELECT u.username, p.name FROM project_members g JOIN projects p ON "
            "p.id = g.project_id JOIN users u ON u.id = g.user_id WHERE p.is_registry = 1 AND "
            "p.access = 'RESTRICTED' AND u.account_type = 'SERVICE'")}
        return {(sa, reg.removeprefix("wandb-registry-")) for sa, reg in via_team | direct}
    if finding == "registry-admins-not-org-admins":
        return {(r[0].removeprefix("wandb-registry-"), r[1]) for r in db.query(
            "SELECT p.name, u.username FROM project_members g JOIN projects p ON "
            "p.id = g.project_id JOIN users u ON u.id = g.user_id WHERE p.is_registry = 1 AND "
            "g.role = 'admin' AND u.account_type = 'USER' AND u.org_role != 'admin'")}
    if finding == "admin-of-many-teams":
        return {r[0] for r in db.query(
            "SELECT u.username FROM team_members m JOIN users u ON u.id = m.user_id WHERE "
            "m.role = 'admin' AND u.account_type = 'USER' GROUP BY u.username "
            "HAVING COUNT(*) >= ?", (cfg.many_teams_threshold,))}
    raise AssertionError(f"no truth for finding {finding!r}: add it to this table")


# ---- what a finding reports, in the same terms -------------------------------------------------

def reported(f: Finding) -> set:
    if f.id in ("teams-without-admin", "teams-single-admin"):
        return set(f.teams)
    if f.id in ("too-many-org-admins", "inactive-admins", "admin-of-many-teams"):
        return set(f.people)
    if f.id == "deactivated-in-teams":   # "user: role in team"
        return {(i.split(": ")[0], i.rsplit(" in ", 1)[1]) for i in f.items}
    if f.id == "stale-invites":          # "team: email (N days)"
        return {tuple(i.rsplit(" (", 1)[0].split(": ", 1)) for i in f.items}
    if f.id == "service-accounts-restricted":  # "sa: ... registry R ..."
        return {(i.split(": ")[0], i.split("registry ", 1)[1].split()[0]) for i in f.items}
    if f.id == "registry-admins-not-org-admins":  # "user: admin of registry R (org X)"
        return {(i.split("registry ", 1)[1].split()[0], i.split(": ")[0]) for i in f.items}
    raise AssertionError(f"no reading of finding {f.id!r}: add it to this table")


FINDING_IDS = sorted(f.id for f in findings(AccessService(Cache(None)), AccessSettings(),
                                             now=SEED_NOW, include_empty=True))


def test_the_table_covers_every_finding() -> None:
    assert len(FINDING_IDS) == 9 and set(FINDING_IDS) > NEEDS_SCIM


@pytest.mark.parametrize("profile", sorted(SETTINGS))
@pytest.mark.parametrize("finding", FINDING_IDS)
@pytest.mark.parametrize("user", IDENTITIES)
def test_a_finding_reports_what_its_viewer_can_know(world: World, user: str, finding: str,
                                                    profile: str) -> None:
    cfg = SETTINGS[profile]
    found = {f.id: f for f in findings(AccessService(world.caches[user]), cfg, now=SEED_NOW,
                                       include_empty=True)}
    f, shown = found[finding], found[finding].to_dict()
    expected = truth(world.db, user, finding, cfg)
    if user != "alice" and finding in NEEDS_SCIM:
        assert f.hidden and not f.items, (user, finding)
        assert shown["visible"] is False and shown["count"] is None
        assert f"not visible to {user}" in shown["note"]
        return
    assert not f.hidden, (user, finding, f.hidden)
    got = reported(f)
    assert got <= expected, f"false alarm for {user}: {sorted(got - expected)}"
    missing = expected - got
    # What the viewer could not judge is counted as unknown, never passed off as "none".
    assert len(missing) <= f.unknown, f"false none for {user}: {sorted(missing)}"
    if missing and not got:
        assert shown["count"] is None, (user, finding, shown)
    if user == "alice":  # the org admin sees everything: nothing may be unknown
        assert got == expected and f.unknown == 0 and shown["count"] == len(f.items)
    elif finding in ("teams-without-admin", "teams-single-admin"):
        assert "judged over your 2 team(s) only" in f.note


def test_the_tight_profile_gives_every_finding_something_to_find(world: World) -> None:
    """The table is only as good as its cases: as alice, each finding has a non-empty truth."""
    cfg = SETTINGS["tight"]
    assert all(truth(world.db, "alice", f, cfg) for f in FINDING_IDS)
    # ...and some identity without SCIM meets an invite it cannot date (the "?" case).
    bob = {f.id: f for f in findings(AccessService(world.caches["bob"]), cfg, now=SEED_NOW,
                                     include_empty=True)}
    assert bob["stale-invites"].to_dict()["count"] is None and bob["stale-invites"].unknown == 2
