"""Walkthrough state: saved after every step and every applied change, resumed after a
restart — including after an apply killed half-way — without applying anything twice. Applied
over real HTTP against the sandbox; W&B's side is read back from the sandbox's database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.access.conftest import db_team_roles, synced_cache
from tests.cli import conftest as cli_fixtures
from tests.conftest import key_of
from wbadmin.core.changes import ApplyResult
from wbadmin.core.client import Client
from wbadmin.core.engine import Engine
from wbadmin.core.journal import Journal
from wbadmin.core.onboarding import walkthrough as W
from wbadmin.core.onboarding.library import load_template
from wbadmin.core.onboarding.template_plan import Inputs, fill_template
from wbadmin.core.permissions import Capabilities

from .orgfixtures import project_row, team_exists

# The CLI fixtures (cli, live and what they need), without a conftest in this shared folder.
globals().update({name: getattr(cli_fixtures, name) for name in (
    "cli", "home", "isolated_home", "live", "memory_keyring")})

PEOPLE = {"admins": ["bob"], "members": ["carol", "dana@example.com"], "viewers": ["victor"]}


def frozen(base_url: str, folder: Path, team: str = "vision-nlp") -> tuple[W.Store, W.Walkthrough]:
    cache = synced_cache(base_url)
    filled = fill_template(load_template("research-team"), Inputs(team=team, people=PEOPLE),
                           cache)
    assert filled.ok, filled.problems
    store = W.Store(folder / "state")
    wt = W.new("research-team", "team", "test")
    wt.step = "review"
    wt.freeze(filled)
    store.save(wt)
    return store, wt


async def run(base_url: str, journal: Path, store: W.Store, wid: str, *, crash_at: int = 0,
              quota_dir: Path | None = None, profile: str = "test") -> tuple[list[str], list]:
    """A fresh "process": load the walkthrough, work out what remains, apply it. With
    `crash_at`, change number `crash_at` of this run reaches W&B and then the process dies
    (KeyboardInterrupt) before its outcome is journaled."""
    async with Client(base_url, key_of("alice"), scim_username="alice") as client:
        with Journal(journal) as j:
            engine = Engine(j, profile=profile)
            wt = store.load(wid)
            plan, skipped = await W.remaining(wt, engine, client)
            if crash_at:
                change = plan.changes[crash_at - 1]
                real = change.apply

                async def dies_after_wandb_took_it(ctx) -> ApplyResult:
                    await real(ctx)
                    raise KeyboardInterrupt

                change.apply = dies_after_wandb_took_it
            outcomes = await W.apply(wt, store, engine, plan, client, "alice",
                                     quota_dir=quota_dir)
            return skipped, outcomes


def test_state_is_saved_atomically_and_found_by_id_prefix(tmp_path: Path) -> None:
    store = W.Store(tmp_path / "s", clock=lambda: 100.0)
    a = W.new("research-team", "team", "p", clock=lambda: 1.0)
    a.set_inputs(Inputs(team="vision-nlp", people={"admins": ["bob"]}))
    a.step = "people"
    store.save(a)
    b = W.new("auditor", "hire", "p")
    b.status, b.step = "applied", "done"
    store.save(b)
    assert store.load(a.id[:4]).get_inputs().people == {"admins": ["bob"]}
    assert [w.id for w in store.unfinished()] == [a.id]
    assert store.load(a.id).state_text() == "paused at step 2 Names & people"
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(
        [f"{a.id}.json", f"{b.id}.json"])  # no temp files left behind
    with pytest.raises(KeyError, match="no paused walkthrough"):
        store.load("zzzz")


def test_each_step_explains_what_it_does_in_w_and_b() -> None:
    assert [s.title for s in W.STEPS] == ["Template", "Names & people", "Review plan", "Apply",
                                          "Done"]
    assert "Nothing changes in W&B yet" in W.explain("template", None)
    assert "Creates the team" in W.explain("apply", "team")
    assert "Adds the person" in W.explain("apply", "hire")
    lines = [W.explain(s.key, k) for s in W.STEPS for k in ("team", "hire")]
    assert all("\n" not in line and len(line) <= 116 for line in lines)  # one line at 120


def test_a_walkthrough_applies_and_then_nothing_remains(sandbox, sandbox_db,
                                                        tmp_path: Path) -> None:
    store, wt = frozen(sandbox.base_url, tmp_path)
    skipped, outcomes = asyncio.run(run(sandbox.base_url, tmp_path / "j.db", store, wt.id,
                                        quota_dir=tmp_path / "quota"))
    assert skipped == [] and all(o.ok and o.verified for o in outcomes), \
        [o.line() for o in outcomes]
    done = store.load(wt.id)
    assert (done.status, done.step) == ("applied", "done")
    assert len(done.results) == len(done.plan) == 9
    assert team_exists(sandbox_db, "vision-nlp")
    assert db_team_roles(sandbox_db, "vision-nlp") == {
        "bob": "admin", "carol": "member", "victor": "viewer", "vision-nlp-ci": "member"}
    assert project_row(sandbox_db, "vision-nlp", "vision-nlp-sandbox")["access"] == "RESTRICTED"
    assert Path(done.quota_path).read_text().count("[teams.vision-nlp]") == 1
    # Resumed again: everything is in the journal, nothing is planned.
    skipped, outcomes = asyncio.run(run(sandbox.base_url, tmp_path / "j.db", store, wt.id))
    assert outcomes == [] and len(skipped) == 9
    assert all("applied earlier (journal entry" in line for line in skipped)
    # And filling the template again from a fresh cache plans nothing either.
    again = fill_template(load_template("research-team"),
                          Inputs(team="vision-nlp", people=PEOPLE), synced_cache(sandbox.base_url))
    assert again.plan.is_empty


def test_resume_after_an_interrupted_apply_never_applies_twice(sandbox, sandbox_db,
                                                               tmp_path: Path) -> None:
    store, wt = frozen(sandbox.base_url, tmp_path)
    journal = tmp_path / "j.db"
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(run(sandbox.base_url, journal, store, wt.id, crash_at=5))  # carol's add
    killed = store.load(wt.id)
    assert killed.status == "applying" and killed.state_text() == "interrupted while applying"
    assert len(killed.results) == 4  # the state file kept up with the engine
    with Journal(journal) as j:
        assert [e.status for e in j.query(newest_first=False)] == ["applied"] * 4 + ["pending"]
    assert db_team_roles(sandbox_db, "vision-nlp")["carol"] == "member"  # W&B did take it

    skipped, outcomes = asyncio.run(run(sandbox.base_url, journal, store, wt.id))
    assert len(skipped) == 5 and "applied earlier (journal entry 5)" in skipped[4]
    assert [o.change.target for o in outcomes] == [
        "vision-nlp/dana@example.com", "vision-nlp/victor", "vision-nlp/vision-nlp-ci",
        "registry:model/team:vision-nlp"]
    assert all(o.ok for o in outcomes)
    with Journal(journal) as j:
        entries = j.query(newest_first=False)
    targets = [e.target for e in entries]
    assert len(targets) == len(set(targets)) == 9  # one journal entry per change: none twice
    assert entries[4].status == "applied" and entries[4].result.startswith("reconciled")
    assert store.load(wt.id).status == "applied"
    service_accounts = sandbox_db.query(
        "SELECT COUNT(*) FROM users u JOIN team_members m ON m.user_id = u.id JOIN entities e "
        "ON e.id = m.team_id WHERE e.name = 'vision-nlp' AND u.account_type = 'SERVICE'")
    assert service_accounts[0][0] == 1


def test_a_crash_before_the_api_call_leaves_the_change_to_do(sandbox, sandbox_db,
                                                             tmp_path: Path) -> None:
    store, wt = frozen(sandbox.base_url, tmp_path)
    journal = tmp_path / "j.db"

    async def first_two_then_stop() -> None:
        async with Client(sandbox.base_url, key_of("alice"), scim_username="alice") as client:
            with Journal(journal) as j:
                engine = Engine(j, profile="test")
                plan, _ = await W.remaining(wt, engine, client)

                def stop(p) -> None:
                    if p.outcome is None and p.index == 3:
                        raise KeyboardInterrupt  # before change 3 is even journaled

                await W.apply(wt, store, engine, plan, client, "alice", on_progress=stop)

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(first_two_then_stop())
    assert project_row(sandbox_db, "vision-nlp", "vision-nlp-evals") is None
    skipped, outcomes = asyncio.run(run(sandbox.base_url, journal, store, wt.id))
    assert len(skipped) == 2 and len(outcomes) == 7 and all(o.ok for o in outcomes)
    assert project_row(sandbox_db, "vision-nlp", "vision-nlp-evals") is not None


def test_applying_is_not_offered_to_who_cannot(sandbox, tmp_path: Path) -> None:
    _, wt = frozen(sandbox.base_url, tmp_path)
    changes = wt.changes()
    admin = Capabilities("alice", "admin", {}, read_only=False, offline=False)
    assert W.blocker(changes, admin) is None
    assert "read-only" in W.blocker(changes, Capabilities("alice", "admin", {}, True, False))
    bob = Capabilities("bob", "member", {"data-science-nlp": "admin"}, False, False)
    assert W.blocker(changes, bob) == ("creating a team needs an org admin (W&B's createTeam); "
                                       "bob is org member")


# ---- the CLI -------------------------------------------------------------------------------------

def test_cli_team_dry_run_then_apply_then_nothing_left(cli, live, sandbox_db) -> None:
    dry = cli("onboard", "team", "research-team", "--name", "vision-nlp", "--admin", "bob",
              "--member", "carol,dana@example.com", "--dry-run")
    assert dry.code == 0, dry.err
    assert "+ vision-nlp" in dry.out and "create team (admin: bob)" in dry.out
    assert "[teams.vision-nlp]" in dry.out and "dry run: nothing changed" in dry.err
    assert not team_exists(sandbox_db, "vision-nlp")
    done = cli("onboard", "team", "research-team", "--name", "vision-nlp", "--admin", "bob",
               "--member", "carol,dana@example.com", "--yes", "--json")
    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert all(o["status"] == "applied" for o in report["outcomes"])
    assert report["quota_file"].endswith("vision-nlp-quota.toml")
    assert db_team_roles(sandbox_db, "vision-nlp") == {
        "bob": "admin", "carol": "member", "vision-nlp-ci": "member"}
    again = cli("onboard", "team", "research-team", "--name", "vision-nlp", "--admin", "bob",
                "--member", "carol,dana@example.com", "--yes")
    assert again.code == 0 and "nothing left to change" in again.out, again.out
    assert "data from the cache" not in again.err  # planned from W&B, not the cache


def test_cli_done_links_go_to_the_web_app_of_a_real_server(cli, live, sandbox_db) -> None:
    """A server that is not the sandbox (here LIVE at its base URL, as a self-hosted W&B, whose
    web app is the host itself) gets a link to each thing made."""
    done = cli("onboard", "team", "research-team", "--name", "vision-nlp", "--admin", "bob",
               "--yes")
    assert done.code == 0, done.err
    assert f"project vision-nlp/vision-nlp-evals  {live}/vision-nlp/vision-nlp-evals" \
        in done.out
    assert "no web UI" not in done.out


def test_cli_done_on_the_sandbox_links_nowhere_and_names_a_command(cli, monkeypatch) -> None:
    """The sandbox speaks W&B's API only: a link to its port would open nothing."""
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    done = cli("onboard", "team", "research-team", "--name", "vision-nlp", "--admin", "bob",
               "--sandbox", "--yes")
    assert done.code == 0, done.err
    assert "project vision-nlp/vision-nlp-evals" in done.out
    assert "http" not in done.out
    assert ("the sandbox has no web UI: `wbadmin members vision-nlp --profile sandbox` "
            "lists the team") in done.out
    members = cli("members", "vision-nlp", "--profile", "sandbox")
    assert members.code == 0 and "bob" in members.out, members.err


def test_cli_bad_input_is_one_line_per_problem_and_nothing_applied(cli, live, sandbox_db,
                                                                  tmp_path: Path) -> None:
    bad = cli("onboard", "team", "research-team", "--name", "Vision NLP", "--member",
              "nobody-here", "--yes")
    assert bad.code == 2
    assert bad.err_lines[-3:] == [
        "wbadmin: team name 'Vision NLP': use lowercase letters, digits, '-' and "
        "'_', starting with a letter or digit",
        "wbadmin: members: nobody-here: unknown user 'nobody-here' (not in the org as cached; "
        "give an email address to invite someone new)",
        "wbadmin: 2 problem(s) with research-team: nothing applied"]
    broken = tmp_path / "broken.toml"
    broken.write_text('[template]\nkind = "team"\n[groups]\nadmins = "admin"\n[quota]\n'
                      'gpu_hours = "lots"\n')
    result = cli("onboard", "team", str(broken), "--name", "x", "--yes")
    assert result.code == 8
    assert result.err_lines == [f"wbadmin: template {broken}, line 6: quota.gpu_hours: the hard "
                                "limit must be a number >= 0 (got 'lots')"]
    wrong = cli("onboard", "hire", "research-team", "--user", "carol")
    assert wrong.code == 2 and "is a team template" in wrong.err


def test_cli_hire_and_resume(cli, live, sandbox_db, monkeypatch) -> None:
    hired = cli("onboard", "hire", "ml-researcher", "--user", "carol", "--team",
                "search-relevance", "--yes")
    assert hired.code == 0, hired.err
    assert db_team_roles(sandbox_db, "search-relevance")["carol"] == "member"
    listed = cli("onboard", "resume", "--json")
    assert listed.code == 0 and json.loads(listed.out) == []
    templates = cli("onboard", "templates", "--json")
    assert {"auditor", "research-team"} <= {t["name"] for t in json.loads(templates.out)}
    # bob is not an org admin: the plan is shown, and applying is refused before any call.
    monkeypatch.setenv("WANDB_API_KEY", key_of("bob"))
    refused = cli("onboard", "team", "research-team", "--name", "bobs-team", "--yes",
                  "--refresh")
    assert refused.code == 4 and "creating a team needs an org admin" in refused.err
    assert not team_exists(sandbox_db, "bobs-team")


def test_cli_resume_finishes_an_interrupted_walkthrough(cli, live, sandbox_db,
                                                       tmp_path: Path) -> None:
    from wbadmin.core import paths

    journal = paths.journal_path("default")
    journal.parent.mkdir(parents=True, exist_ok=True)
    store, wt = frozen(live, tmp_path)
    store = W.Store(W.state_dir(journal))
    store.save(wt)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(run(live, journal, store, wt.id, crash_at=2, profile="default"))
    listed = cli("onboard", "resume")
    assert listed.code == 0 and wt.id in listed.out
    assert "interrupted while applying" in listed.out
    resumed = cli("onboard", "resume", wt.id[:5], "--yes")
    assert resumed.code == 0, resumed.err
    assert "applied earlier (journal entry 2)" in resumed.out
    assert "[1/7]" in resumed.out and "[7/7]" in resumed.out
    assert project_row(sandbox_db, "vision-nlp", "vision-nlp-evals") is not None
    with Journal(journal) as j:
        targets = [e.target for e in j.query()]
    assert len(targets) == len(set(targets)) == 9
    assert json.loads(cli("onboard", "resume", "--json").out) == []


def test_a_failure_stops_the_apply_and_the_walkthrough_resumes_from_it(
        sandbox, sandbox_db, tmp_path: Path) -> None:
    from wbadmin.core import errors as E

    store, wt = frozen(sandbox.base_url, tmp_path)
    journal = tmp_path / "j.db"

    async def refused_once() -> list:
        async with Client(sandbox.base_url, key_of("alice"), scim_username="alice") as client:
            with Journal(journal) as j:
                engine = Engine(j, profile="test")
                plan, _ = await W.remaining(wt, engine, client)

                async def refuse(ctx) -> ApplyResult:
                    raise E.Conflict("W&B said no this time")

                plan.changes[4].apply = refuse  # carol's add
                return await W.apply(wt, store, engine, plan, client, "alice")

    outcomes = asyncio.run(refused_once())
    assert [o.status for o in outcomes] == ["applied"] * 4 + ["failed"] + ["skipped"] * 4
    stopped = store.load(wt.id)
    assert (stopped.status, stopped.state_text()) == ("failed", "apply stopped on a failure")
    assert "carol" not in db_team_roles(sandbox_db, "vision-nlp")
    skipped, outcomes = asyncio.run(run(sandbox.base_url, journal, store, wt.id))
    assert len(skipped) == 4
    assert outcomes[0].change.target == "vision-nlp/carol"
    assert all(o.ok for o in outcomes) and store.load(wt.id).status == "applied"
    assert db_team_roles(sandbox_db, "vision-nlp")["carol"] == "member"
