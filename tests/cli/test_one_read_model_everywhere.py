"""One read model, everywhere: for every team (people, service accounts, projects) and every
person (org role, seat, team roles), the CLI's `--json` outputs, `export`, the Explorer's tree
and detail pane and the Access screen all give the same figures — on the demo org end to end,
and on the `large` seed through the core functions those commands and screens call. A
refreshed project moves every count of its team at once."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.access.conftest import synced_cache
from tests.conftest import SEED, SEED_NOW, key_of
from wbadmin.cli import data_cmd
from wbadmin.core import explorer
from wbadmin.core.access import people as P
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.onboarding.state import from_cache
from wbadmin.core.sync import Syncer
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_preset
from wbadmin.sandbox.server import SandboxServer

TeamFigures = tuple[int, int, int]            # people, service accounts, projects
PersonFigures = tuple[str | None, str | None, dict[str, str]]  # org role, seat, team roles


# ---- the demo org: the CLI, export and the TUI's screens -------------------------------------

def cli_figures(cli) -> tuple[dict[str, dict[str, TeamFigures]],
                              dict[str, dict[str, PersonFigures]], dict]:
    """{source: {team: figures}}, {source: {person: figures}} and the export, as the CLI says."""
    teams: dict[str, dict[str, TeamFigures]] = {}
    listed = json.loads(cli("teams", "--json").out)
    teams["teams"] = {t["name"]: (t["people"], t["service_accounts"], t["projects"])
                      for t in listed}
    projects = Counter(p["team"] for p in json.loads(cli("projects", "--json").out))
    teams["members+projects"] = {}
    for name in teams["teams"]:
        members = json.loads(cli("members", name, "--json").out)["members"]
        accounts = sum(1 for m in members if m["service_account"])
        teams["members+projects"][name] = (len(members) - accounts, accounts, projects[name])
    exported = json.loads(cli("export", "--json").out)
    teams["export"] = {name: (len(t["members"]), len(t["service_accounts"]), len(t["projects"]))
                       for name, t in exported["teams"].items()}

    persons: dict[str, dict[str, PersonFigures]] = {"users": {}, "access user": {}}
    users = [u for u in json.loads(cli("users", "--json").out) if not u["service_account"]]
    for u in users:
        shown = json.loads(cli("access", "user", u["username"], "--json").out)
        persons["access user"][u["username"]] = (shown["org_role"], shown["seat"],
                                                 shown["teams"])
        # `users` gives the number of teams; its roles are those `access user` names.
        assert u["teams"] == len(shown["teams"]), u["username"]
        persons["users"][u["username"]] = (u["org_role"], u["seat"], shown["teams"])
    return teams, persons, exported


async def tui_figures() -> tuple[dict[str, dict[str, TeamFigures]],
                                 dict[str, dict[str, PersonFigures]]]:
    """The same figures as the Explorer (tree labels, org table, team and user detail) and the
    Access screen (its people rows) show them, in the app on the demo org as alice."""
    from textual.widgets import DataTable

    from wbadmin.tui.locations import Location
    from wbadmin.tui.screenshot import make_demo_app, settle
    from wbadmin.tui.widgets.detail import DetailPane
    from wbadmin.tui.widgets.org_tree import OrgTree

    def cells(table: DataTable) -> list[list[str]]:
        return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]

    app = make_demo_app(Path(tempfile.mkdtemp(prefix="wbadmin-read-model-")))
    teams: dict[str, dict[str, TeamFigures]] = {"org detail": {}, "team detail": {}}
    persons: dict[str, dict[str, PersonFigures]] = {"user detail": {}, "access screen": {}}
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(app, pilot)
        tree = app.screen.query_one(OrgTree)
        pane = app.screen.query_one(DetailPane)
        labels = {n.data.team: str(n.label) for n in tree.root.children
                  if n.data.kind == "team"}
        pane.show(Location("org"))
        for name, people, accounts, projects, *_ in cells(pane.table):
            teams["org detail"][name] = (int(people), int(accounts), int(projects))
        for name in labels:
            pane.show(Location("team", team=name))
            summary = str(pane.query_one("#detail-summary").render())
            found = re.search(r"(\d+) members? · (\d+) service accounts? · (\d+) projects?",
                              summary)
            assert found, summary
            teams["team detail"][name] = tuple(int(g) for g in found.groups())
            # The tree's label: "<team>  <people> · <projects> prj".
            tree_people, tree_projects = re.search(r"(\d+) · (\d+) prj", labels[name]).groups()
            assert (int(tree_people), int(tree_projects)) == (
                teams["team detail"][name][0], teams["team detail"][name][2]), labels[name]
        await pilot.press("2")
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        for p in screen.rows:
            if not p.service_account:
                persons["access screen"][p.username] = (p.org_role, p.seat, dict(p.teams))
        await pilot.press("1")
        await pilot.pause()
        pane = app.screen.query_one(DetailPane)
        for username in persons["access screen"]:
            pane.show(Location("user", name=username))
            summary = str(pane.query_one("#detail-summary").render())
            role, seat = re.search(r"org role (\S+)\s+seat (\S+)", summary).groups()
            roles = {team: role for team, role in cells(pane.table)}
            persons["user detail"][username] = (None if role == "—" else role,
                                                None if seat == "—" else seat, roles)
    return teams, persons


def agree(figures: dict[str, dict], what: str) -> None:
    """Every source names the same keys with the same figures; a mismatch says where."""
    (first, expected), *rest = figures.items()
    assert expected, f"{first} gave no {what}"
    for source, got in rest:
        assert set(got) == set(expected), f"{what}: {source} vs {first}: names differ"
        wrong = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
        assert not wrong, f"{what}: {source} vs {first} (got, expected): {wrong}"


def test_the_cli_export_and_every_screen_give_the_demo_org_one_set_of_figures(live,
                                                                             cli) -> None:
    assert cli("sync").code == 0
    cli_teams, cli_persons, exported = cli_figures(cli)
    tui_teams, tui_persons = asyncio.run(tui_figures())
    agree(cli_teams | tui_teams, "team figures")
    agree(cli_persons | tui_persons, "person figures")
    # `export` writes the org roles of active people, and each team's members with their role.
    active = {u["username"] for u in json.loads(cli("users", "--json").out) if u["active"]}
    roles = {name: f[0] for name, f in cli_persons["users"].items() if name in active}
    assert exported["org"]["roles"] == roles
    team_roles: dict[str, dict[str, str]] = {}
    for team, t in exported["teams"].items():
        for username, role in t["members"].items():
            team_roles.setdefault(username, {})[team] = role
    assert team_roles == {n: f[2] for n, f in cli_persons["users"].items() if f[2]}
    # The demo's cases are all there: service accounts, a viewer seat, a custom team role.
    assert any(f[1] for f in cli_teams["teams"].values())
    assert any(f[1] == "viewer" for f in cli_persons["users"].values())
    assert any(r not in ("admin", "member", "viewer") for f in cli_persons["users"].values()
               for r in f[2].values())


# ---- the large seed: the core functions behind those commands and screens --------------------

@pytest.fixture(scope="module")
def large() -> Iterator[Cache]:
    """The `large` seed served over HTTP, synced once as alice."""
    db = Database()
    seed_preset(db, "large", seed=SEED, now=SEED_NOW)
    server = SandboxServer(db)
    server.start()
    try:
        yield synced_cache(server.base_url, "alice")
    finally:
        server.stop()
        db.close()


def test_on_the_large_seed_every_team_has_one_set_of_figures(large: Cache) -> None:
    rows = explorer.teams(large)                # `teams`, the org table, the tree labels
    assert len(rows) == 200
    state = from_cache(large, {})               # what `export` writes
    everyone = P.people(large)                  # the Access screen, `users`
    members_of = Counter(t for p in everyone if not p.service_account for t in p.teams)
    accounts_of = Counter(t for p in everyone if p.service_account for t in p.teams)
    for row in rows:
        detail = explorer.team_detail(large, row.name)   # `members`, the team detail
        assert detail is not None and detail.team == row == explorer.team(large, row.name)
        figures = {
            "teams": (row.people, row.service_accounts, row.projects),
            "members+projects": (len(detail.people), len(detail.service_accounts),
                                 explorer.count_projects(large, row.name)),
            "export": (len(state.teams[row.name].members),
                       len(state.teams[row.name].service_accounts),
                       len(state.teams[row.name].projects)),
            "people": (members_of[row.name], accounts_of[row.name], row.projects),
        }
        assert len(set(figures.values())) == 1, (row.name, figures)
    assert max(r.people for r in rows) >= 400  # the crowded team is there


def test_on_the_large_seed_every_person_has_one_org_role_seat_and_team_roles(
        large: Cache) -> None:
    everyone = {p.username: p for p in P.people(large)}
    window = {p.username: p for p in P.people_window(large, limit=10_000).rows}
    listed = {u["username"]: u for u in data_cmd._users(SimpleNamespace(cache=large), "")}
    state = from_cache(large, {})
    exported: dict[str, dict[str, str]] = {}
    for name, team in state.teams.items():
        for username, role in team.members.items():
            exported.setdefault(username, {})[name] = role
    assert len(everyone) > 2_000 and set(window) == set(everyone) == set(listed)
    for username, p in everyone.items():
        if p.service_account:
            continue
        found = P.detail(large, username)                # `access user`, the user detail
        assert found is not None
        figures = {"people": (p.org_role, p.seat, p.teams),
                   "window": (window[username].org_role, window[username].seat,
                              window[username].teams),
                   "access user": (found.person.org_role, found.person.seat,
                                   found.person.teams),
                   "users": (listed[username]["org_role"], listed[username]["seat"],
                             p.teams if listed[username]["teams"] == len(p.teams) else None),
                   "export": (state.users[username].org_role, p.seat,
                              exported.get(username, {}))}
        assert all(f == figures["people"] for f in figures.values()), (username, figures)


# ---- one refresh moves every figure of a team ------------------------------------------------

def test_a_refreshed_project_moves_the_teams_count_too(sandbox, sandbox_db) -> None:
    cache = synced_cache(sandbox.base_url)
    team = "data-science-nlp"
    before = explorer.team(cache, team)
    assert before is not None and before.projects == explorer.count_projects(cache, team) == 6
    sandbox_db.conn.execute("DELETE FROM projects WHERE name = 'multilingual-ner'")
    sandbox_db.conn.commit()

    async def refresh() -> None:
        async with Client(sandbox.base_url, key_of("alice"), scim_username="alice") as client:
            syncer = Syncer(client, cache)
            await syncer.identify()
            await syncer.refresh_project(team, "multilingual-ner")

    asyncio.run(refresh())
    after = explorer.team(cache, team)
    assert after is not None
    # `teams` and the tree said 6 while `projects data-science-nlp` listed 5.
    assert after.projects == explorer.count_projects(cache, team) == 5
    assert after.projects == len(explorer.projects(cache, team))
