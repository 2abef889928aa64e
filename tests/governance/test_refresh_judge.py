"""A full refresh judges its runs as they arrive (governance/refresh_judge.py): over real HTTP
against the sandbox, the verdicts and counts it writes beside the runs equal judging the
whole store afresh, the check after it finds them live, and a refresh that did not tell
the judge of every run leaves the judging to the check; an incremental refresh judges the
runs it writes on its writer's thread, unless the kept verdicts were judged under other
rules."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.conftest import SEED_NOW, key_of
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.governance import judge as J
from wbadmin.core.governance.refresh_judge import RefreshJudge
from wbadmin.core.governance.run_policy import parse_policy
from wbadmin.core.governance.verdict_store import LIVE_KEY, judge_store
from wbadmin.core.quotas import QuotaService
from wbadmin.core.quotas.policy import parse_policy as parse_quotas
from wbadmin.core.quotas.staged import StagedRuns
from wbadmin.core.quotas.store import RunFact

RULES = """
[[rules]]
id = "ticket"
require_tag = "[A-Z]+-[0-9]+"
mode = "enforce"

[[rules]]
id = "prompt"
require_config = ["prompt_template_version"]
teams = ["ml-infra"]

[[rules]]
id = "zombie"
max_running_hours = 24
"""
QUOTAS = parse_quotas("[teams.ml-infra]\ngpu_hours = 500\n", Path("quotas.toml"))
TABLES = ("policy_verdicts", "policy_place_counts", "policy_day_counts",
          "policy_offender_counts")


def tables(path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in TABLES}
    finally:
        conn.close()


def judged_afresh(path, policy) -> dict[str, list[tuple]]:
    """The kept verdicts and counts once voided and every run judged again."""
    cache = Cache(path)
    try:
        with cache.transaction() as conn:
            conn.execute("DELETE FROM quota_state WHERE key = ?", (LIVE_KEY,))
        judge_store(cache, policy, SEED_NOW)
    finally:
        cache.close()
    return tables(path)


def checked(path, policy) -> tuple[J.Judgement, J.Judgement]:
    """The check's judgement (from the kept verdicts) and judging the store in memory."""
    cache = Cache(path)
    try:
        return judge_store(cache, policy, SEED_NOW), \
            J.judge(policy, J.stored_runs(cache), SEED_NOW)
    finally:
        cache.close()


def violations(judgement) -> list[tuple]:
    return sorted((v.run.name, v.rule.id, v.why) for v in judgement.violations)


UPSERT = """mutation Upsert($input: UpsertBucketInput!) {
  upsertBucket(input: $input) { bucket { id name } inserted } }"""


def refresh(base_url: str, path, observer, full: bool = True, new_run: tuple | None = None
            ) -> str:
    """Refresh the store at `path` (after creating `new_run`, (team, project), through the
    SDK's upsertBucket); the refresh's kind."""
    async def main() -> str:
        async with Client(base_url, key_of("alice"), scim_username="alice") as client:
            if new_run is not None:
                await client.graphql(UPSERT, {"input": {
                    "name": "untagged-new", "entityName": new_run[0],
                    "modelName": new_run[1]}})
            cache = Cache(path)
            try:
                done = await QuotaService(cache, QUOTAS, client=client,
                                          clock=lambda: SEED_NOW).refresh(
                    full=full, observer=observer)
                return done.kind
            finally:
                cache.close()

    return asyncio.run(main())


def first_refresh(base_url: str, path, policy) -> tuple[str, str]:
    """A full refresh judged under `policy`; a place of ml-infra's to add a run to."""
    refresh(base_url, path, RefreshJudge(policy, SEED_NOW))
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT team, project FROM quota_runs WHERE team = 'ml-infra' "
                            "LIMIT 1").fetchone()
    finally:
        conn.close()


def test_a_full_refresh_leaves_verdicts_equal_to_judging_the_store_afresh(sandbox, tmp_path
                                                                          ) -> None:
    policy = parse_policy(RULES, tmp_path / "p.toml")
    path = tmp_path / "cache.sqlite3"
    judge = RefreshJudge(policy, SEED_NOW)
    refresh(sandbox.base_url, path, judge)
    assert judge.seen_runs > 100
    written = tables(path)
    stored = sqlite3.connect(path).execute("SELECT COUNT(*) FROM quota_runs").fetchone()[0]
    assert len(written["policy_verdicts"]) == stored  # judged in the refresh, not after
    assert any(v[8] for v in written["policy_verdicts"])  # some break a rule
    assert sqlite3.connect(path).execute("SELECT 1 FROM quota_state WHERE key = ?",
                                         (LIVE_KEY,)).fetchone()
    kept, fresh = checked(path, policy)
    assert judged_afresh(path, policy) == written
    assert violations(kept) == violations(fresh)
    assert {t: p.violating for t, p in kept.teams.items()} == \
        {t: p.violating for t, p in fresh.teams.items()}


def test_a_second_full_refresh_over_the_store_writes_each_run_its_own_verdict(sandbox, tmp_path
                                                                             ) -> None:
    """The verdicts are joined with the runs by where the refresh wrote them: over a store
    that held runs already (a `--full`), each run still gets its own."""
    policy = parse_policy(RULES, tmp_path / "p.toml")
    path = tmp_path / "cache.sqlite3"
    refresh(sandbox.base_url, path, RefreshJudge(policy, SEED_NOW))
    refresh(sandbox.base_url, path, RefreshJudge(policy, SEED_NOW))
    written = tables(path)
    assert len(written["policy_verdicts"]) == \
        sqlite3.connect(path).execute("SELECT COUNT(*) FROM quota_runs").fetchone()[0]
    assert judged_afresh(path, policy) == written


def test_a_refresh_without_every_run_told_leaves_the_judging_to_the_check(sandbox, tmp_path
                                                                          ) -> None:
    policy = parse_policy(RULES, tmp_path / "p.toml")
    path = tmp_path / "cache.sqlite3"

    class Forgetful(RefreshJudge):
        def seen(self, runs: list[RunFact]) -> None:
            super().seen(runs[1:])  # one run of each page never told

    refresh(sandbox.base_url, path, Forgetful(policy, SEED_NOW))
    assert tables(path)["policy_verdicts"] == []
    kept, fresh = checked(path, policy)
    assert kept.runs_judged == fresh.runs_judged > 0
    assert violations(kept) == violations(fresh)


def run(name: str, state: str, tags: tuple[str, ...]) -> RunFact:
    return RunFact("t", "p", name, None, "carol", state, SEED_NOW - 3600, SEED_NOW, 0,
                   tags=tags, config_keys=())


def test_a_run_on_two_pages_counts_once_as_last_read(tmp_path) -> None:
    policy = parse_policy(RULES.split("[[rules]]\nid = \"prompt\"")[0], tmp_path / "p.toml")
    judge = RefreshJudge(policy, SEED_NOW)
    pages = [[run("a", "running", ()), run("b", "finished", ("X-1",))],
             [run("a", "finished", ("Y-2",))]]  # read again, re-tagged and ended
    cache = Cache(tmp_path / "cache.sqlite3")
    try:
        staged = StagedRuns(cache.conn, judge.seen)  # as the refresh stages and writes them
        for page in pages:
            staged.add(page)
        with cache.transaction() as conn:
            distinct = staged.write(conn)
            judge.commit(conn, staged, distinct)
        assert not distinct
    finally:
        cache.close()
    written = tables(tmp_path / "cache.sqlite3")
    assert written["policy_place_counts"] == [("t", "p", "", 2, 0)]
    assert written["policy_offender_counts"] == []
    assert [(v[2], v[5], v[8]) for v in written["policy_verdicts"]] == \
        [("a", 0, None), ("b", 0, None)]  # a: its last read (ended, tagged)
    assert judged_afresh(tmp_path / "cache.sqlite3", policy) == written


def test_an_incremental_refresh_judges_its_runs_on_its_writer_thread(sandbox, tmp_path
                                                                    ) -> None:
    policy = parse_policy(RULES, tmp_path / "p.toml")
    path = tmp_path / "cache.sqlite3"
    place = first_refresh(sandbox.base_url, path, policy)
    assert refresh(sandbox.base_url, path, RefreshJudge(policy, SEED_NOW), full=False,
                   new_run=place) == "incremental"
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM policy_unjudged").fetchone()[0] == 0
    assert conn.execute("SELECT broken_ids FROM policy_verdicts WHERE name = 'untagged-new'"
                        ).fetchone() == ("ticket,prompt",)
    conn.close()
    written = tables(path)
    assert judged_afresh(path, policy) == written


def test_a_changed_policy_is_not_judged_on_the_writer_thread(sandbox, tmp_path) -> None:
    """Verdicts kept under other rules are void: the writer leaves them, and the check
    judges every run under the new rules."""
    path = tmp_path / "cache.sqlite3"
    before = parse_policy(RULES, tmp_path / "p.toml")
    place = first_refresh(sandbox.base_url, path, before)
    after = parse_policy(RULES.replace("[A-Z]+-[0-9]+", "baseline"), tmp_path / "q.toml")
    refresh(sandbox.base_url, path, RefreshJudge(after, SEED_NOW), full=False,
            new_run=place)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM policy_unjudged").fetchone()[0] > 0
    conn.close()
    kept, fresh = checked(path, after)
    assert violations(kept) == violations(fresh)
