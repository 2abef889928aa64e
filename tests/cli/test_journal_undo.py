"""`wbadmin journal` and `wbadmin undo` on changes applied through the engine, over real HTTP.

SetTeamRole and RemoveFromTeam (wbadmin/core/changes_team.py) are applied by the engine as
the TUI will apply them; the CLI lists, exports and undoes them; SCIM shows the result.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json

import httpx
import pytest

from tests.conftest import key_of
from wbadmin.core.changes import Outcome, Plan
from wbadmin.core.changes_team import RemoveFromTeam, SetTeamRole
from wbadmin.core.client import Client
from wbadmin.core.engine import Engine
from wbadmin.core.journal import Journal

from .conftest import journal_file

TEAM = "data-science-nlp"


def apply(base_url: str, change, actor: str = "alice") -> Outcome:
    async def go() -> Outcome:
        async with Client(base_url, key_of(actor), scim_username=actor) as client:
            with Journal(journal_file()) as journal:
                outcomes = await Engine(journal, profile="default").apply(
                    Plan(title="test", changes=[change]), client, actor)
        return outcomes[0]

    return asyncio.run(go())


def scim_team_role(base_url: str, username: str, team: str = TEAM) -> str | None:
    """The user's team role as SCIM shows it (alice's Basic user:key auth)."""
    answer = httpx.get(f"{base_url}/scim/Users", params={"filter": f'userName eq "{username}"'},
                       auth=("alice", key_of("alice")))
    user = answer.json()["Resources"][0]
    return next((t["roleName"] for t in user["teamRoles"] if t["teamName"] == team), None)


@pytest.fixture
def promoted(live) -> Outcome:
    """carol: member → admin of data-science-nlp, through the engine (journal entry 1)."""
    assert scim_team_role(live, "carol") == "member"
    outcome = apply(live, SetTeamRole.make(TEAM, "carol", "admin", "member"))
    assert outcome.ok and outcome.verified, outcome.result
    assert scim_team_role(live, "carol") == "admin"
    return outcome


def test_undo_of_a_role_change_puts_the_role_back(live, promoted, cli) -> None:
    r = cli("undo", str(promoted.entry_id), "--yes")
    assert r.code == 0, r.err
    assert f"Undo entry {promoted.entry_id}" in r.out
    assert "admin → member" in r.out and "(SCIM teamRoles)" in r.out
    assert r.out.rstrip().splitlines()[-1].startswith("✓ ")
    assert scim_team_role(live, "carol") == "member"
    entries = json.loads(cli("journal", "--json").out)
    assert [(e["id"], e["status"], e["undo_of"]) for e in entries] == [
        (promoted.entry_id, "applied", None), (promoted.entry_id + 1, "applied",
                                               promoted.entry_id)]
    assert entries[1]["before"] == {"role": "admin"} and entries[1]["after"] == {"role": "member"}
    assert entries[1]["actor"] == "alice" and entries[1]["verified"] is True
    # The cache was refreshed for the team the undo touched.
    members = json.loads(cli("members", TEAM, "--json").out)["members"]
    assert next(m["role"] for m in members if m["username"] == "carol") == "member"


def test_undo_twice_is_refused(live, promoted, cli) -> None:
    assert cli("undo", str(promoted.entry_id), "--yes").code == 0
    r = cli("undo", str(promoted.entry_id), "--yes")
    assert r.code == 6 and "already undone" in r.err
    rows = {line.split()[0]: line for line in cli("journal").out.splitlines()[1:]}
    undo = max(int(i) for i in rows if i.isdigit())
    assert rows[str(promoted.entry_id)].rstrip().endswith(f"undone by {undo}")


def test_undo_after_a_later_edit_is_a_conflict(live, promoted, sandbox_db, cli) -> None:
    apply(live, SetTeamRole.make(TEAM, "carol", "viewer", "admin"))
    r = cli("undo", str(promoted.entry_id), "--yes")
    assert r.code == 6 and "has changed since entry" in r.err
    assert scim_team_role(live, "carol") == "viewer"


def test_undo_asks_first_and_refuses_a_non_tty_without_yes(live, promoted, monkeypatch,
                                                           cli) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    r = cli("undo", str(promoted.entry_id))
    assert r.code == 2
    assert r.err_lines[-1] == ("wbadmin: refusing to change anything without confirmation: "
                               "stdin is not a terminal; pass --yes to confirm")
    assert "admin → member" in r.out  # the plan was shown
    assert scim_team_role(live, "carol") == "admin"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_undo_on_a_terminal_declined_changes_nothing(live, promoted, monkeypatch, cli) -> None:
    monkeypatch.setattr("sys.stdin", _Tty(""))
    monkeypatch.setattr("builtins.input", lambda prompt="": "n")
    r = cli("undo", str(promoted.entry_id))
    assert r.code == 130 and "nothing changed" in r.err
    assert scim_team_role(live, "carol") == "admin"
    monkeypatch.setattr("builtins.input", lambda prompt="": "y")
    assert cli("undo", str(promoted.entry_id)).code == 0
    assert scim_team_role(live, "carol") == "member"


def test_undo_of_an_unknown_entry_is_not_found(live, cli) -> None:
    r = cli("undo", "42", "--yes")
    assert r.code == 5 and "there is no journal entry 42" in r.err


def test_undo_in_read_only_mode_is_refused(live, promoted, cli) -> None:
    r = cli("undo", str(promoted.entry_id), "--yes", "--read-only")
    assert r.code == 4 and "read-only" in r.err
    assert scim_team_role(live, "carol") == "admin"


def test_remove_from_team_is_journaled_as_irreversible(live, sandbox_db, cli) -> None:
    outcome = apply(live, RemoveFromTeam.make(TEAM, "carol", "member"))
    assert outcome.ok and outcome.verified, outcome.result
    assert scim_team_role(live, "carol") is None
    entries = json.loads(cli("journal", "--json").out)
    assert entries[-1]["kind"] == "team.remove_member" and entries[-1]["reversible"] is False
    r = cli("undo", str(outcome.entry_id), "--yes")
    assert r.code == 6 and "cannot be undone" in r.err


def test_a_role_change_without_permission_fails_and_is_journaled(live, cli) -> None:
    # bob administers data-science-nlp but is no org admin: SCIM refuses him.
    outcome = apply(live, SetTeamRole.make(TEAM, "carol", "admin", "member"), actor="bob")
    assert outcome.status == "failed" and "PermissionDenied" in outcome.result
    assert scim_team_role(live, "carol") == "member"
    entries = json.loads(cli("journal", "--json").out)
    assert entries[-1]["status"] == "failed" and entries[-1]["actor"] == "bob"


@pytest.mark.calendar
def test_journal_formats_and_since(live, promoted, cli) -> None:
    table = cli("journal")
    assert table.code == 0
    assert table.out.splitlines()[0].split()[:3] == ["ID", "WHEN", "(UTC)"]
    assert f"{TEAM}/carol" in table.out and "member → admin" in table.out
    lines = cli("journal", "--format", "jsonl").out.splitlines()
    assert [json.loads(line)["target"] for line in lines] == [f"{TEAM}/carol"]
    rows = list(csv.DictReader(io.StringIO(cli("journal", "--format", "csv").out)))
    assert rows[0]["kind"] == "team.set_role" and rows[0]["reversible"] == "true"
    assert json.loads(cli("journal", "--since", "1h", "--json").out)
    assert json.loads(cli("journal", "--since", "2999-01-01", "--json").out) == []


def test_journal_of_a_profile_without_entries_is_empty_not_an_error(cli) -> None:
    r = cli("journal", "--json")
    assert r.code == 0 and json.loads(r.out) == []
