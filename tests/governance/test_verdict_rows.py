"""The store's judge (`verdict_rows.VerdictJudge`: per-place rules, per-fact memos, pages
judged one after another) gives each run the verdict the reference `judge.judge_one` gives,
for any mix of rule kinds, scopes, exceptions and start dates, from the store's JSON text
and from a refresh's parsed facts alike."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from wbadmin.core.governance.judge import StoredRun, judge_one, rules_in_force
from wbadmin.core.governance.run_policy import Rule, RunPolicy
from wbadmin.core.governance.verdict_rows import VerdictJudge
from wbadmin.core.governance.verdict_store import Tally
from wbadmin.core.quotas.store import RunFact

NOW = 1_795_000_000.0
TEAMS, PROJECTS, USERS = ("a", "b"), ("p", "q"), ("u", "v", None)
TAGS = ("ML-1", "ML-2", "nlp", "x", "OPS-77")
KEYS = ("lr", "prompt_template_version", "model")
PLACES = [(t, p) for t in TEAMS for p in PROJECTS]

rule_kinds = st.sampled_from([
    dict(kind="require_tag", pattern=re.compile(r"[A-Z]+-[0-9]+")),
    dict(kind="require_tag", pattern=re.compile(r"nlp")),
    dict(kind="require_config", keys=("prompt_template_version",)),
    dict(kind="require_config", keys=("lr", "model")),
    dict(kind="name_pattern", pattern=re.compile(r"run-[0-9]+")),
    dict(kind="max_running_hours", hours=24.0),
])
rules = st.builds(
    lambda n, kind, teams, projects, excepted, accounts, start: Rule(
        id=f"r{n}", **kind, teams=tuple(teams), projects=tuple(projects),
        except_projects=tuple(excepted), except_accounts=tuple(accounts), start=start),
    st.integers(0, 10**6), rule_kinds,
    st.lists(st.sampled_from(TEAMS), max_size=1, unique=True),
    st.lists(st.sampled_from(PLACES), max_size=1, unique=True),
    st.lists(st.sampled_from(PLACES), max_size=1, unique=True),
    st.lists(st.sampled_from(["u", "v"]), max_size=1, unique=True),
    st.sampled_from([None, NOW - 5 * 86400, NOW + 86400]))
facts = st.one_of(st.none(), st.lists(st.sampled_from(TAGS), max_size=3, unique=True))
config = st.one_of(st.none(), st.lists(st.sampled_from(KEYS), max_size=3, unique=True))
runs = st.builds(
    lambda i, place, user, state, age, title, tags, keys: StoredRun(
        place[0], place[1], f"id{i}", title, user, state, NOW - age, NOW,
        None if tags is None else tuple(tags), None if keys is None else tuple(keys)),
    st.integers(0, 10**9), st.sampled_from(PLACES), st.sampled_from(USERS),
    st.sampled_from(["running", "finished", "crashed"]),
    st.sampled_from([60.0, 3 * 86400.0, 30 * 86400.0]),
    st.sampled_from([None, "run-7", "Run 7"]), facts, config)


def reference(rules_: list[Rule], run: StoredRun) -> tuple:
    judged, unknown, broken = judge_one(rules_, run, NOW, {})
    return (run.team, run.project, run.name, run.username, run.created_at,
            int(run.state == "running"), int(judged), int(unknown and not broken),
            json.dumps([[r.id, why] for r, why in broken]) if broken else None,
            ",".join(r.id for r, _ in broken) if broken else None)


def text(values: tuple[str, ...] | None) -> str | None:
    return None if values is None else json.dumps(list(values))


@settings(max_examples=150, deadline=None)
@given(st.lists(rules, max_size=4, unique_by=lambda r: r.id),
       st.lists(runs, max_size=30), st.integers(1, 10))
def test_each_run_gets_the_reference_verdict(policy_rules, some_runs, page) -> None:
    policy = RunPolicy(None, tuple(policy_rules))
    expected = [reference(rules_in_force(policy, NOW), r) for r in some_runs]
    stored = [(r.team, r.project, r.name, r.display_name, r.username, r.state, r.created_at,
               r.heartbeat_at, text(r.tags), text(r.config_keys)) for r in some_runs]
    assert VerdictJudge(policy, NOW).rows(stored) == expected
    read = [RunFact(*s[:8], gpus=0, tags=r.tags, config_keys=r.config_keys)
            for s, r in zip(stored, some_runs, strict=True)]  # as a refresh reads them
    judge, parsed = VerdictJudge(policy, NOW), []
    for start in range(0, len(read), page):  # page by page, memos kept between
        parsed += judge.rows(read[start:start + page], facts=True)
    assert parsed == expected


def counts(tally: Tally) -> dict[str, dict]:
    return {name: {k: n for k, n in getattr(tally, name).items() if n}
            for name in ("places", "unknown", "days", "bad", "offenders")}


@settings(max_examples=150, deadline=None)
@given(st.lists(rules, max_size=4, unique_by=lambda r: r.id),
       st.lists(runs, max_size=30), st.integers(1, 10))
def test_a_refresh_counts_its_pages_as_their_verdicts_count(policy_rules, some_runs, page
                                                            ) -> None:
    """The counts a refresh makes of each page's figure ids are those of the verdicts."""
    policy = RunPolicy(None, tuple(policy_rules))
    expected = Tally()
    expected.add_rows([reference(rules_in_force(policy, NOW), r) for r in some_runs])
    read = [RunFact(r.team, r.project, r.name, r.display_name, r.username, r.state,
                    r.created_at, r.heartbeat_at, 0, tags=r.tags, config_keys=r.config_keys)
            for r in some_runs]
    judge, tally = VerdictJudge(policy, NOW), Tally()
    for start in range(0, len(read), page):
        chunk = read[start:start + page]
        tally.add_figures(chunk, judge.figure_ids(chunk, facts=True), judge.figures)
    assert counts(tally) == counts(expected)
