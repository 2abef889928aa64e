"""The Access read model and findings, against a cache synced from the sandbox over HTTP,
checked against the sandbox's own database."""

from __future__ import annotations

import dataclasses

from tests.conftest import SEED_NOW
from wbadmin.core.access import people
from wbadmin.core.access.findings import findings, get
from wbadmin.core.settings import AccessSettings

DAY = 86_400


def test_people_lists_every_user_with_roles_and_status(service, sandbox_db) -> None:
    everyone = people.people(service.cache)
    db_users = {r[0] for r in sandbox_db.query(
        "SELECT username FROM users WHERE account_type = 'USER' AND org_id IS NOT NULL")}
    assert db_users <= {p.username for p in everyone}
    deactivated = {p.username for p in people.people(service.cache, status="deactivated")}
    assert deactivated == {r[0] for r in sandbox_db.query(
        "SELECT username FROM users WHERE active = 0 AND account_type = 'USER'")}
    bob = people.find_person(service.cache, "bob@inference-systems.ai")
    assert bob is not None and bob.org_role == "member" and bob.seat == "full"
    assert bob.teams == {"data-science-nlp": "admin", "product-ai-agents": "member"}
    admins = [p.username for p in people.people(service.cache, org_role="admin",
                                                sort="last_active")]
    assert set(admins) == {r[0] for r in sandbox_db.query(
        "SELECT username FROM users WHERE org_role = 'admin' AND account_type = 'USER'")}


def test_a_persons_reach_says_why_and_takes_the_highest_role(service) -> None:
    grace = people.detail(service.cache, "grace@inference-systems.ai")
    assert grace is not None and grace.person.username == "grace"
    reach = {(r.scope, r.resource): r for r in grace.reach}
    model = reach[("registry", "model")]
    assert model.effective == "admin"  # direct admin beats member via llm-platform-eng
    assert {(g.role, g.why) for g in model.grants} == {
        ("admin", "direct"), ("member", "via team llm-platform-eng")}
    assert reach[("team", "ai-governance")].effective == "admin"
    assert reach[("org", "inference-systems")].effective == "member"
    assert grace.effective_role == "admin"
    alice = people.detail(service.cache, "alice")
    assert alice is not None
    assert {r.resource for r in alice.reach if r.scope == "registry"} == {"model", "dataset"}


def _seed_findings(service, **settings):
    cfg = dataclasses.replace(AccessSettings(), **settings)
    return findings(service, cfg, now=SEED_NOW, include_empty=True)


def test_findings_match_the_demo_story(service, sandbox_db) -> None:
    found = {f.id: f for f in _seed_findings(service)}
    assert found["teams-without-admin"].teams == ["customer-insights"]
    assert found["teams-without-admin"].severity == "high"
    assert "ai-governance: only grace" in found["teams-single-admin"].items
    single = {r[0] for r in sandbox_db.query(
        "SELECT e.name FROM entities e JOIN team_members m ON m.team_id = e.id JOIN users u "
        "ON u.id = m.user_id WHERE m.role = 'admin' AND u.active = 1 AND u.account_type = "
        "'USER' GROUP BY e.name HAVING COUNT(*) = 1")}
    assert set(found["teams-single-admin"].teams) == single
    deactivated = sandbox_db.query(
        "SELECT u.username, e.name FROM team_members m JOIN users u ON u.id = m.user_id "
        "JOIN entities e ON e.id = m.team_id WHERE u.active = 0")
    assert found["deactivated-in-teams"].count == len(deactivated) > 0
    assert set(found["deactivated-in-teams"].people) == {r[0] for r in deactivated}
    inactive = {r[0] for r in sandbox_db.query(
        "SELECT username FROM users WHERE org_role = 'admin' AND active = 1 AND "
        "account_type = 'USER' AND (last_active_at IS NULL OR last_active_at < ?)",
        (SEED_NOW // 3600 * 3600 - 90 * DAY,))}
    assert set(found["inactive-admins"].people) == inactive == {"rosa.moreno"}
    assert found["registry-admins-not-org-admins"].people == ["grace"]
    assert found["service-accounts-restricted"].people == ["eval-runner"]
    assert found["service-accounts-restricted"].teams == ["data-science-nlp"]
    # Invite ages come from the audit log's team:invite_user events: only the 45-day-old
    # invite is older than the default 30 days.
    stale = found["stale-invites"]
    assert stale.items == ["llm-platform-eng: contractor@partner-labs.io (45 days)"]
    assert stale.note == ""
    assert found["too-many-org-admins"].count == 0


def test_thresholds_come_from_the_settings(service, sandbox_db) -> None:
    found = {f.id: f for f in _seed_findings(service, max_org_admins=2,
                                             many_teams_threshold=3)}
    n_admins = sandbox_db.scalar("SELECT COUNT(*) FROM users WHERE org_role = 'admin' AND "
                                 "active = 1 AND account_type = 'USER'")
    assert found["too-many-org-admins"].items == [
        f"{n_admins} org admins, more than the configured 2"]
    fix = found["too-many-org-admins"].fix()
    assert len(fix) == n_admins - 2 and "alice" not in {c.username for c in fix}
    many = {r[0] for r in sandbox_db.query(
        "SELECT u.username FROM team_members m JOIN users u ON u.id = m.user_id WHERE "
        "m.role = 'admin' AND u.account_type = 'USER' GROUP BY u.username "
        "HAVING COUNT(*) >= 3")}
    assert set(found["admin-of-many-teams"].people) == many and "alice" in many


def test_each_fix_is_a_plan_of_the_right_changes(service) -> None:
    found = _seed_findings(service)
    assert [f.severity for f in found] == sorted(
        (f.severity for f in found), key=("high", "medium", "low").index)
    no_admin = get(found, "teams-without-admin").fix()
    assert len(no_admin) == 1 and no_admin.changes[0].team == "customer-insights"
    assert no_admin.changes[0].after == {"role": "admin"}
    inactive = get(found, "inactive-admins").fix()
    assert [(c.kind, c.username, c.after) for c in inactive] == [
        ("org.set_role", "rosa.moreno", {"role": "member"})]
    reg = get(found, "registry-admins-not-org-admins").fix()
    assert [(c.registry, c.name, c.before, c.after) for c in reg] == [
        ("model", "grace", {"role": "admin"}, {"role": "member"})]
    assert get(found, "admin-of-many-teams").fix().is_empty


def test_every_finding_with_items_has_a_fix_plan(service) -> None:
    found = _seed_findings(service, many_teams_threshold=3)
    for f in found:
        assert f.make_fix is not None, f"{f.id} has no fix"
    sa = get(found, "service-accounts-restricted").fix()
    assert {c.kind for c in sa} == {"team.remove_member"}
    assert [c.target for c in sa] == ["data-science-nlp/eval-runner"]
    many = get(found, "admin-of-many-teams")
    plan = many.fix()
    demoted: dict[str, list[str]] = {}
    for change in plan:
        team, user = change.target.split("/")
        assert change.kind == "team.set_role" and change.after == {"role": "member"}
        demoted.setdefault(user, []).append(team)
    for user in many.people:
        teams = people.find_person(service.cache, user).teams
        admin_of = [t for t, r in teams.items() if r == "admin"]
        # at most n - 1 stay, and no team loses its only admin
        assert len(admin_of) - len(demoted.get(user, [])) <= 2 or not demoted.get(user)
        for team in demoted.get(user, []):
            assert len(people.team_admins(service.cache, team)) > 1
