"""Every access finding as each demo identity sees it: alice (org admin), bob (team admin), carol
(member) and victor (viewer), each on a cache of their own synced over real HTTP. A finding
either reports exactly what its viewer can know — checked against the sandbox's own database,
over the teams that viewer can see — or says it is not visible to them (count None, "?"). It
never reports a false "none" (a 0 where something exists that the viewer cannot judge) and never
a false alarm (something that is not so)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.access.conftest import synced_cache
from tests.conftest import SEED, SEED_NOW, key_of
from wbadmin.core.access import AccessService
from wbadmin.core.access import service_accounts as sa
from wbadmin.core.access.findings import Finding, findings
from wbadmin.core.access.people import identity
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.promotions.ownership import read_runs
from wbadmin.core.promotions.policy import DEFAULT_POLICY, parse_policy
from wbadmin.core.settings import AccessSettings
from wbadmin.sandbox import ids
from wbadmin.sandbox.audit import record
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_demo
from wbadmin.sandbox.server import SandboxServer

DAY = 86_400
IDENTITIES = ("alice", "bob", "carol", "victor")
# The defaults, and thresholds tight enough that every finding has something in the demo org.
SETTINGS = {"default": AccessSettings(),
            "tight": AccessSettings(max_org_admins=1, invite_max_age_days=10,
                                    inactive_admin_days=90, many_teams_threshold=3,
                                    service_account_idle_days=20, key_max_age_days=30)}
# Findings that need the org's people or every team (SCIM, org admins only).
NEEDS_SCIM = {"inactive-admins", "too-many-org-admins", "deactivated-in-teams",
              "registry-admins-not-org-admins", "admin-of-many-teams",
              "promotion-requester-gone"}
# Findings over the production map (promotions/ownership.py): the protected aliases' holders.
OWNERSHIP_FINDINGS = {"protected-alias-outside-workflow", "production-version-untraceable",
                      "promotion-requester-gone"}
PROTECTED = ("production", "staging")  # the built-in promotion policy's targets
# Findings over service accounts' keys and the audit log (org admins only).
NEEDS_KEYS_OR_LOG = {"service-accounts-idle", "service-account-keys-old",
                     "service-account-keys-unknown-age", "service-accounts-many-keys",
                     "org-service-accounts-many-teams"}
SA_FINDINGS = NEEDS_KEYS_OR_LOG | {"service-accounts-admin"}
LOG_DAYS = sa.log_days(AccessSettings().service_account_idle_days,
                       AccessSettings().key_max_age_days)


@dataclass
class World:
    db: Database
    caches: dict[str, Cache]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One sandbox for the module, and one cache per identity, each synced as that identity."""
    db = Database()
    seed_demo(db, seed=SEED, now=SEED_NOW)
    with_service_account_cases(db)
    with_ownership_cases(db)
    server = SandboxServer(db)
    server.start()
    try:
        yield World(db, {u: with_runs(server.base_url, u, with_sa_facts(
            server.base_url, u, synced_cache(server.base_url, u))) for u in IDENTITIES})
    finally:
        server.stop()
        db.close()


def with_service_account_cases(db: Database) -> None:
    """What the demo org lacks for the service-account findings: a service account that is a
    team admin, one with a second key, and the org-scoped one logging runs in two teams."""
    sas = dict(db.query("SELECT username, id FROM users WHERE account_type = 'SERVICE'"))
    teams = dict(db.query("SELECT name, id FROM entities WHERE kind = 'team'"))
    with db.transaction() as conn:
        conn.execute("UPDATE team_members SET role = 'admin' WHERE user_id = ?",
                     (sas["eval-runner"],))
        conn.execute("INSERT INTO api_keys (user_id, key, name, description, created_at) VALUES "
                     "(?, ?, 'key-spare', 'spare', ?)", (sas["deploy-bot"], "s" * 40,
                                                         SEED_NOW - DAY))
        for team in ("ml-infra", "vision-research"):
            record(conn, SEED_NOW - 2 * DAY, "run:update", sas["org-provisioner"],
                   entity_asset=ids.encode("Entity", teams[team]), entity_name=team,
                   project_name="p", response_code=200)


def with_ownership_cases(db: Database) -> None:
    """What the demo org lacks for the production-map findings (it has the alias moved
    outside the workflow): a production version no run produced, and a promotion requested by
    someone outside the producing team."""
    with db.transaction() as conn:
        conn.execute("UPDATE artifacts SET created_by_run_id = NULL WHERE id = (SELECT a.id "
                     "FROM aliases l JOIN artifacts a ON a.id = l.artifact_id JOIN "
                     "artifact_collections c ON c.id = l.collection_id WHERE c.kind = "
                     "'PORTFOLIO' AND c.name = 'toxicity-filter' AND l.alias = 'production')")
        conn.execute("UPDATE artifacts SET metadata = json_set(metadata, "
                     "'$.wbadmin.promotion.requested_by', 'grace') WHERE id = (SELECT a.id "
                     "FROM aliases l JOIN artifacts a ON a.id = l.artifact_id JOIN "
                     "artifact_collections c ON c.id = l.collection_id WHERE c.kind = "
                     "'PORTFOLIO' AND c.name = 'rag-embedder-v1' AND l.alias = 'production')")


def with_runs(base_url: str, username: str, cache: Cache) -> Cache:
    """The producing runs `wbadmin ownership` (and `access findings`) read, as that identity."""
    async def go() -> None:
        async with Client(base_url, key_of(username), scim_username=username) as client:
            me = identity(cache)
            assert me is not None and me.org
            await read_runs(client, cache, parse_policy(DEFAULT_POLICY, None), me.org,
                            SEED_NOW)

    asyncio.run(go())
    return cache


def ownership_truth(db: Database, finding: str) -> set:
    """The protected aliases' holders as the sandbox stores them (every identity here sees
    the model registry, the one with production and staging)."""
    rows = db.query(
        "SELECT r.name, c.name, l.alias, a.metadata, a.created_by_run_id, "
        "(SELECT e.name FROM runs x JOIN projects p ON p.id = x.project_id JOIN entities e ON "
        "e.id = p.entity_id WHERE x.id = a.created_by_run_id) FROM aliases l JOIN artifacts a "
        "ON a.id = l.artifact_id JOIN artifact_collections c ON c.id = l.collection_id JOIN "
        "projects r ON r.id = c.project_id WHERE c.kind = 'PORTFOLIO'")
    out = set()
    for registry, coll, alias, metadata, run, team in rows:
        if alias not in PROTECTED:
            continue
        ref = f"{registry.removeprefix('wandb-registry-')}/{coll}:{alias}"
        record = (json.loads(metadata or "{}").get("wbadmin") or {}).get("promotion") or {}
        approved = record.get("target") == alias and record.get("status") == "approved"
        outside = finding == "protected-alias-outside-workflow" and not approved
        untraceable = finding == "production-version-untraceable" and alias == "production" \
            and run is None
        if outside or untraceable:
            out.add(ref)
        elif finding == "promotion-requester-gone" and approved:
            who = record["requested_by"]
            gone = db.scalar("SELECT active = 0 FROM users WHERE username = ?", (who,)) or (
                team is not None and not db.scalar(
                    "SELECT 1 FROM team_members m JOIN users u ON u.id = m.user_id JOIN "
                    "entities e ON e.id = m.team_id WHERE u.username = ? AND e.name = ?",
                    (who, team)))
            if gone:
                out.add(ref)
    return out


def with_sa_facts(base_url: str, username: str, cache: Cache) -> Cache:
    """The keys and audit-log facts `wbadmin sa list` reads, read as that identity."""
    async def go() -> None:
        async with Client(base_url, key_of(username), scim_username=username) as client:
            me = identity(cache)
            assert me is not None
            await sa.read_facts(client, cache, me, SEED_NOW, LOG_DAYS)

    asyncio.run(go())
    return cache


def sa_truth(db: Database, user: str, finding: str, cfg: AccessSettings) -> set:
    """The service-account findings' truth: over the viewer's teams for the admin role, the
    sandbox's audit log (over the window read) and keys for the others."""
    start = SEED_NOW - LOG_DAYS * DAY
    accounts = {r[0]: r[1] for r in db.query(
        "SELECT username, id FROM users WHERE account_type = 'SERVICE'")}
    if finding == "service-accounts-admin":
        teams = visible_teams(db, user)
        return {r[0] for r in db.query(
            "SELECT u.username, e.name FROM team_members m JOIN users u ON u.id = m.user_id "
            "JOIN entities e ON e.id = m.team_id WHERE u.account_type = 'SERVICE' AND "
            "m.role = 'admin'") if r[1] in teams}

    def newest(sql: str, pk: int) -> int | None:
        return db.scalar(sql, (pk, start))

    last_event = {name: newest("SELECT MAX(timestamp) FROM audit_log WHERE actor_id = ? AND "
                               "timestamp >= ?", pk) for name, pk in accounts.items()}
    last_key = {name: max((r[0] for r in db.query(
        "SELECT timestamp, detail FROM audit_log WHERE action = 'user:create_api_key' AND "
        "timestamp >= ?", (start,)) if f'"{ids.encode("User", pk)}"' in r[1]), default=None)
        for name, pk in accounts.items()}
    keys = {name: db.scalar("SELECT COUNT(*) FROM api_keys WHERE user_id = ?", (pk,))
            for name, pk in accounts.items()}
    if finding == "service-accounts-idle":
        return {n for n, at in last_event.items()
                if at is None or SEED_NOW - at > cfg.service_account_idle_days * DAY}
    if finding == "service-account-keys-old":
        return {n for n, at in last_key.items() if keys[n] and at is not None
                and SEED_NOW - at > cfg.key_max_age_days * DAY}
    if finding == "service-account-keys-unknown-age":
        return {n for n, at in last_key.items() if keys[n] and at is None}
    if finding == "service-accounts-many-keys":
        return {n for n, k in keys.items() if k > 1}
    if finding == "org-service-accounts-many-teams":
        return {r[0] for r in db.query(
            "SELECT u.username FROM audit_log a JOIN users u ON u.id = a.actor_id WHERE "
            "u.sa_scope = 'org' AND a.action = 'run:update' AND a.timestamp >= ? GROUP BY "
            "u.username HAVING COUNT(DISTINCT json_extract(a.detail, '$.entity_name')) > 1",
            (start,))}
    raise AssertionError(f"no truth for finding {finding!r}: add it to this table")


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
    if finding in SA_FINDINGS:
        return sa_truth(db, user, finding, cfg)
    if finding in OWNERSHIP_FINDINGS:
        return ownership_truth(db, finding)
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
    if f.id in SA_FINDINGS:
        return set(f.people)
    if f.id in OWNERSHIP_FINDINGS:  # "registry/collection:alias is vN: ..." / "... (vN): ..."
        return {i.split(" ")[0] for i in f.items}
    if f.id == "registry-admins-not-org-admins":  # "user: admin of registry R (org X)"
        return {(i.split("registry ", 1)[1].split()[0], i.split(": ")[0]) for i in f.items}
    raise AssertionError(f"no reading of finding {f.id!r}: add it to this table")


FINDING_IDS = sorted(f.id for f in findings(AccessService(Cache(None)), AccessSettings(),
                                             now=SEED_NOW, include_empty=True))


def test_the_table_covers_every_finding() -> None:
    assert len(FINDING_IDS) == 18 and set(FINDING_IDS) > NEEDS_SCIM | SA_FINDINGS


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
    if user != "alice" and finding in NEEDS_SCIM | NEEDS_KEYS_OR_LOG:
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
