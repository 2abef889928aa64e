"""A full refresh judges its runs as they arrive (governance/full_judge.py): over real HTTP
against the sandbox, the verdicts and counts it writes beside the runs equal judging the
whole store afresh, the check after it finds them live, and a refresh that did not tell
the judge of every run leaves the judging to the check."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.conftest import SEED_NOW, key_of
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.governance import judge as J
from wbadmin.core.governance.full_judge import FullJudge
from wbadmin.core.governance.run_policy import parse_policy
from wbadmin.core.governance.verdict_store import LIVE_KEY, judge_store
from wbadmin.core.quotas import QuotaService
from wbadmin.core.quotas.policy import parse_policy as parse_quotas
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


def refresh(base_url: str, path, observer) -> None:
    async def main() -> None:
        async with Client(base_url, key_of("alice"), scim_username="alice") as client:
            cache = Cache(path)
            try:
                await QuotaService(cache, QUOTAS, client=client,
                                   clock=lambda: SEED_NOW).refresh(full=True, observer=observer)
            finally:
                cache.close()

    asyncio.run(main())


def test_a_full_refresh_leaves_verdicts_equal_to_judging_the_store_afresh(sandbox, tmp_path
                                                                          ) -> None:
    policy = parse_policy(RULES, tmp_path / "p.toml")
    path = tmp_path / "cache.sqlite3"
    judge = FullJudge(policy, SEED_NOW)
    refresh(sandbox.base_url, path, judge)
    assert judge.seen_runs > 100
    written = tables(path)
    stored = sqlite3.connect(path).execute("SELECT COUNT(*) FROM quota_runs").fetchone()[0]
    assert len(written["policy_verdicts"]) == stored  # judged in the refresh, not after
    assert any(v[8] for v in written["policy_verdicts"])  # some break a rule
    cache = Cache(path)
    try:
        assert cache.scalar("SELECT 1 FROM quota_state WHERE key = ?", (LIVE_KEY,))
        kept = judge_store(cache, policy, SEED_NOW)
        fresh = J.judge(policy, J.stored_runs(cache), SEED_NOW)
        with cache.transaction() as conn:  # void them: the next check judges every run
            conn.execute("DELETE FROM quota_state WHERE key = ?", (LIVE_KEY,))
        judge_store(cache, policy, SEED_NOW)
    finally:
        cache.close()
    assert tables(path) == written
    assert sorted((v.run.name, v.rule.id, v.why) for v in kept.violations) == \
        sorted((v.run.name, v.rule.id, v.why) for v in fresh.violations)
    assert {t: p.violating for t, p in kept.teams.items()} == \
        {t: p.violating for t, p in fresh.teams.items()}


def test_a_refresh_without_every_run_told_leaves_the_judging_to_the_check(sandbox, tmp_path
                                                                          ) -> None:
    policy = parse_policy(RULES, tmp_path / "p.toml")
    path = tmp_path / "cache.sqlite3"

    class Forgetful(FullJudge):
        def seen(self, runs: list[RunFact]) -> None:
            super().seen(runs[1:])  # one run of each page never told

    refresh(sandbox.base_url, path, Forgetful(policy, SEED_NOW))
    assert tables(path)["policy_verdicts"] == []
    cache = Cache(path)
    try:
        kept = judge_store(cache, policy, SEED_NOW)
        fresh = J.judge(policy, J.stored_runs(cache), SEED_NOW)
    finally:
        cache.close()
    assert kept.runs_judged == fresh.runs_judged > 0
    assert len(kept.violations) == len(fresh.violations)


def run(name: str, state: str, tags: tuple[str, ...]) -> RunFact:
    return RunFact("t", "p", name, None, "carol", state, SEED_NOW - 3600, SEED_NOW, 0,
                   tags=tags, config_keys=())


def test_a_run_on_two_pages_counts_once_as_last_read(tmp_path) -> None:
    policy = parse_policy(RULES.split("[[rules]]\nid = \"prompt\"")[0], tmp_path / "p.toml")
    judge = FullJudge(policy, SEED_NOW)
    judge.seen([run("a", "running", ()), run("b", "finished", ("X-1",))])
    judge.seen([run("a", "finished", ("Y-2",))])  # read again, re-tagged and ended
    assert +judge.tally.places == {("t", "p", ""): 2}
    assert +judge.tally.offenders == {}
    assert judge.verdicts[("t", "p", "a")][5] == 0  # no longer running
