"""Findings know who is looking: as alice (org admin), bob (team admin), carol (member) and
victor (viewer), each on a cache of their own, no finding reports what its viewer cannot know —
a team "without an admin" has none in `members`, and a finding over the org's people (which
only SCIM, so only an org admin, sees) says "not visible to you" instead of "none"."""

from __future__ import annotations

import json

import pytest

from tests.conftest import key_of

PEOPLE_FINDINGS = {"inactive-admins", "too-many-org-admins", "deactivated-in-teams",
                   "registry-admins-not-org-admins", "admin-of-many-teams",
                   "promotion-requester-gone"}
# Findings over service accounts' keys and W&B's audit log: org admins' only.
KEY_AND_LOG_FINDINGS = {"service-accounts-idle", "service-account-keys-old",
                        "service-account-keys-unknown-age", "service-accounts-many-keys",
                        "org-service-accounts-many-teams"}


@pytest.mark.parametrize("user", ["alice", "bob", "carol", "victor"])
def test_no_finding_reports_what_its_viewer_cannot_know(user, live, cli, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of(user))
    assert cli("sync").code == 0
    r = cli("access", "findings", "--json")
    found = {f["id"]: f for f in json.loads(r.out)}
    for item in found.get("teams-without-admin", {}).get("items", []):
        team = item.split(":")[0]
        members = json.loads(cli("members", team, "--json").out)["members"]
        assert not [m for m in members if m["role"] == "admin" and not m["service_account"]
                    and m["active"]], (user, item)
    hidden = {i for i, f in found.items() if not f["visible"]}
    if user == "alice":
        assert not hidden
    else:
        assert hidden == PEOPLE_FINDINGS | KEY_AND_LOG_FINDINGS, (user, hidden)
        assert all(found[i]["count"] is None and "not visible to " + user in found[i]["note"]
                   for i in hidden)
    high = [f for f in found.values() if f["severity"] == "high" and f["count"]]
    assert r.code == (1 if high else 0), r.err


def test_a_team_admin_sees_no_false_alarm(live, cli, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("bob"))
    assert cli("sync").code == 0
    r = cli("access", "findings")
    assert "data-science-nlp: no active admin" not in r.out
    assert "(?)" in r.out and "not visible to bob" in r.out
    # bob's teams have two pending invites W&B gives no date for: "?", not "0" or nothing.
    assert "stale-invites: Invites older than 30 days (?)" in r.out
    assert "2 pending invite(s) of unknown age" in r.out
