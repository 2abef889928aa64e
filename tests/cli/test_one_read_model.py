"""One read model: every command gives the same figures for every team and person on the demo
org (over real HTTP, as alice) — the people and service accounts of a team, and the org role
in its one representation (a member with a viewer seat is an org viewer) — and the Explorer's
figures come from the same functions."""

from __future__ import annotations

import json

from wbadmin.core import explorer
from wbadmin.core.access.people import people
from wbadmin.core.session import Session


def test_teams_and_members_count_people_and_service_accounts_alike(live, cli) -> None:
    assert cli("sync").code == 0
    teams = json.loads(cli("teams", "--json").out)
    assert teams
    for team in teams:
        members = json.loads(cli("members", team["name"], "--json").out)["members"]
        accounts = sum(1 for m in members if m["service_account"])
        assert (team["people"], team["service_accounts"]) == (
            len(members) - accounts, accounts), team["name"]
        assert team["members"] == len(members)
    table = cli("teams").out.splitlines()
    assert table[0].split()[:3] == ["TEAM", "PEOPLE", "SERVICE"]


def test_users_access_user_and_export_give_one_org_role(live, cli) -> None:
    assert cli("sync").code == 0
    users = {u["username"]: u for u in json.loads(cli("users", "--json").out)
             if not u["service_account"]}
    exported = json.loads(cli("export", "--json").out)["org"]["roles"]
    viewers = [name for name, u in users.items() if u["seat"] == "viewer"]
    assert viewers  # the demo has members with a viewer seat: W&B's org viewers
    for name, user in users.items():
        shown = json.loads(cli("access", "user", name, "--json").out)["org_role"]
        assert user["org_role"] == shown, name
        if name in exported:
            assert exported[name] == shown, name
    assert all(users[name]["org_role"] == "viewer" for name in viewers)


def test_the_explorer_and_access_screens_read_the_same_figures(live, cli) -> None:
    assert cli("sync").code == 0
    session = Session.resolve()
    session.ensure_identity()
    cache = session.cache
    assert cache is not None
    cli_teams = {t["name"]: t for t in json.loads(cli("teams", "--json").out)}
    for row in explorer.teams(cache):  # what the org tree and the team detail show
        assert (row.people, row.service_accounts) == (
            cli_teams[row.name]["people"], cli_teams[row.name]["service_accounts"])
    cli_users = {u["username"]: u["org_role"] for u in json.loads(cli("users", "--json").out)}
    for person in people(cache):  # what the Access screen lists
        assert person.org_role == cli_users[person.username], person.username
