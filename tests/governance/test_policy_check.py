"""`wbadmin policy check` over real HTTP against the demo sandbox: every rule kind, scope,
exception and start date judged as the sandbox's own runs say; exit codes; a re-tag caught
incrementally (the audit log) and equal to a full read; a changed policy judged again from
the cache alone; bad policy files; each identity."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import cache_file
from tests.conftest import SEED_NOW, key_of
from wbadmin.sandbox import ids

TICKET = re.compile(r"[A-Z]+-[0-9]+")


def write(tmp_path: Path, text: str, name: str = "policies.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def check(cli, policy: str, *more: str) -> tuple[int, dict]:
    result = cli("policy", "check", "--policy", policy, "--json", *more)
    assert result.code in (0, 1, 2), result.err
    return result.code, json.loads(result.out)


def truth(db, names: set[str]) -> dict[str, dict]:
    """The sandbox's own facts of these runs (by run id): tags, config keys, team, owner."""
    out = {}
    for r in db.query(
            "SELECT r.name, r.tags, r.config, r.display_name, r.state, r.created_at, "
            "p.name AS project, e.name AS team, u.username FROM runs r "
            "JOIN projects p ON p.id = r.project_id JOIN entities e ON e.id = p.entity_id "
            "LEFT JOIN users u ON u.id = r.user_id"):
        if r["name"] in names:
            out[r["name"]] = {"tags": json.loads(r["tags"]), "team": r["team"],
                              "config": json.loads(r["config"]), "project": r["project"],
                              "owner": r["username"], "title": r["display_name"] or r["name"],
                              "state": r["state"], "created_at": r["created_at"]}
    return out


def stored_names(team: str | None = None) -> set[str]:
    import sqlite3

    conn = sqlite3.connect(cache_file())
    sql = "SELECT name FROM quota_runs" + (" WHERE team = ?" if team else "")
    return {r[0] for r in conn.execute(sql, (team,) if team else ())}


TAG_RULE = """
[[rules]]
id = "jira-ticket"
require_tag = "[A-Z]+-[0-9]+"
mode = "enforce"
"""


def test_the_tag_rule_judges_every_stored_run_as_the_sandbox_says(live, cli, home,
                                                                   sandbox_db,
                                                                   tmp_path) -> None:
    code, shown = check(cli, write(tmp_path, TAG_RULE))
    names = stored_names()
    facts = truth(sandbox_db, names)
    bad = {n for n, f in facts.items() if not any(TICKET.fullmatch(t) for t in f["tags"])}
    assert bad and len(bad) < len(names)  # the demo has runs with and without tickets
    assert {v["run"] for v in shown["violations"]} == bad
    assert shown["runs_judged"] == len(names)
    assert code == 2 and shown["worst"] == "enforce"
    for team, place in shown["teams"].items():
        in_team = {n for n, f in facts.items() if f["team"] == team}
        assert place["runs_judged"] == len(in_team)
        assert place["violating_runs"] == len(in_team & bad)
    owners: dict[str, int] = {}
    for name in bad:
        if facts[name]["owner"]:
            owners[facts[name]["owner"]] = owners.get(facts[name]["owner"], 0) + 1
    top = shown["worst_offenders"][0]
    assert top["violating_runs"] == max(owners.values())
    assert sum(w["violating_runs"] for w in shown["trend"]) == len(bad)


def test_config_name_and_running_time_rules_with_scope_exceptions_and_start(
        live, cli, home, sandbox_db, tmp_path) -> None:
    start_day = "2026-11-20"
    policy = write(tmp_path, f"""
[[rules]]
id = "prompt-version"
require_config = ["prompt_template_version"]
teams = ["llm-platform-eng"]
except_projects = ["llm-platform-eng/tokenizer-audit"]
mode = "warn"

[[rules]]
id = "names"
name_pattern = "[a-z]+-[a-z0-9-]+"
projects = ["data-science-nlp/rag-pipeline-v2"]
except_accounts = ["bob"]
start = {start_day}

[[rules]]
id = "zombies"
max_running_hours = 24
""")
    code, shown = check(cli, policy)
    facts = truth(sandbox_db, stored_names())
    by_rule: dict[str, set[str]] = {}
    for v in shown["violations"]:
        by_rule.setdefault(v["rule"], set()).add(v["run"])
    start = 1795651200.0  # 2026-11-20T00:00Z
    assert by_rule.get("prompt-version", set()) == {
        n for n, f in facts.items() if f["team"] == "llm-platform-eng"
        and f["project"] != "tokenizer-audit" and "prompt_template_version" not in f["config"]}
    assert by_rule.get("names", set()) == {
        n for n, f in facts.items() if f["team"] == "data-science-nlp"
        and f["project"] == "rag-pipeline-v2" and f["owner"] != "bob"
        and f["created_at"] >= start and not re.fullmatch(r"[a-z]+-[a-z0-9-]+", f["title"])}
    now = SEED_NOW
    zombies = {n for n, f in facts.items()
               if f["state"] == "running" and now - f["created_at"] > 24 * 3600}
    assert by_rule.get("zombies", set()) <= zombies  # the clock runs on a little in the test
    assert by_rule.get("prompt-version")  # the seed has runs without it
    assert code == 1  # every rule here warns


def test_exit_codes_compliant_warn_enforce(live, cli, home, tmp_path) -> None:
    ok = write(tmp_path, '[[rules]]\nid = "long"\nmax_running_hours = 100000\nmode = '
               '"enforce"\n[[rules]]\nid = "none-yet"\nrequire_tag = "X-1"\nmode = '
               '"enforce"\nstart = 2099-01-01\n', "ok.toml")
    result = cli("policy", "check", "--policy", ok)
    assert result.code == 0, result.err
    assert "rule none-yet is not yet in force (from 2099-01-01)" in result.err
    assert "0 of " in result.out and "runs judged break a rule" in result.out
    warn = write(tmp_path, TAG_RULE.replace("enforce", "warn"), "warn.toml")
    assert check(cli, warn)[0] == 1
    assert check(cli, write(tmp_path, TAG_RULE, "enforce.toml"))[0] == 2


def retag(base_url: str, run_pk: int, tags: list[str]) -> None:
    """A re-tag as the SDK's upsertBucket sends it: the id and the whole tag list."""
    token = base64.b64encode(f"api:{key_of('alice')}".encode()).decode()
    doc = ("mutation UpsertBucket($id: String, $tags: [String!]) { upsertBucket(input: "
           "{id: $id, tags: $tags}) { bucket { id tags } } }")
    answer = httpx.post(f"{base_url}/graphql", json={
        "query": doc, "variables": {"id": ids.encode("Run", run_pk), "tags": tags}},
        headers={"Authorization": f"Basic {token}"}, timeout=10)
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text


def test_a_retag_is_caught_incrementally_through_the_audit_log(live, cli, home, sandbox_db,
                                                             tmp_path) -> None:
    policy = write(tmp_path, TAG_RULE)
    _, first = check(cli, policy)
    victim = first["violations"][0]
    pk = sandbox_db.scalar("SELECT id FROM runs WHERE name = ?", (victim["run"],))
    retag(live, pk, ["baseline", "NLP-999"])
    _, second = check(cli, policy)
    assert victim["run"] not in {v["run"] for v in second["violations"]}
    assert len(second["violations"]) == len(first["violations"]) - 1
    _, full = check(cli, policy, "--full")
    assert full["violations"] == second["violations"]
    assert full["teams"] == second["teams"]


def upsert(base_url: str, variables: dict) -> dict:
    """upsertBucket as the SDK sends it (a new run by name, or a run's state by id)."""
    token = base64.b64encode(f"api:{key_of('alice')}".encode()).decode()
    doc = ("mutation UpsertBucket($id: String, $name: String, $project: String, $entity: "
           "String, $state: String) { upsertBucket(input: {id: $id, name: $name, modelName: "
           "$project, entityName: $entity, state: $state}) { bucket { id name } } }")
    answer = httpx.post(f"{base_url}/graphql", json={"query": doc, "variables": variables},
                        headers={"Authorization": f"Basic {token}"}, timeout=10)
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    return answer.json()["data"]["upsertBucket"]["bucket"]


def test_new_and_finished_runs_judged_incrementally_equal_a_full_read(
        live, cli, home, sandbox_db, tmp_path) -> None:
    policy = write(tmp_path, TAG_RULE + '\n[[rules]]\nid = "z"\nmax_running_hours = 1\n')
    _, first = check(cli, policy)
    new = upsert(live, {"name": "untagged-new-run", "project": "rag-pipeline-v2",
                        "entity": "data-science-nlp"})
    running = next(v for v in first["violations"] if v["rule"] == "z")
    pk = sandbox_db.scalar("SELECT id FROM runs WHERE name = ?", (running["run"],))
    upsert(live, {"id": ids.encode("Run", pk), "state": "finished"})
    _, second = check(cli, policy)
    broken = {(v["run"], v["rule"]) for v in second["violations"]}
    assert (new["name"], "jira-ticket") in broken  # a new run without a ticket
    assert (running["run"], "z") not in broken      # finished: no longer running too long
    _, full = check(cli, policy, "--full")
    assert {(v["run"], v["rule"]) for v in full["violations"]} == broken
    assert full["teams"] == second["teams"]


def test_a_changed_policy_is_judged_again_from_the_cache_alone(live, cli, home,
                                                               tmp_path) -> None:
    assert check(cli, write(tmp_path, TAG_RULE))[0] == 2
    loose = write(tmp_path, TAG_RULE.replace("[A-Z]+-[0-9]+", "[a-zA-Z0-9-]+"), "loose.toml")
    offline = cli("policy", "check", "--policy", loose, "--json", "--offline")
    assert offline.code in (0, 2), offline.err
    shown = json.loads(offline.out)
    assert shown["runs_judged"] > 0
    # "baseline" and every other seeded tag match the looser rule: only untagged runs break.
    assert all(v["why"].startswith("no tag") for v in shown["violations"])


@pytest.mark.parametrize("text, line, says", [
    ('[[rules]]\nid = "x"\nrequire_tag = "[A-Z+"\n', 3, "not a valid regular expression"),
    ('[[rules]]\nid = "x"\nrequire_tag = "A"\ncolour = "red"\n', 4, "unknown rule key 'colour'"),
    ('[[rules]]\nid = "x"\n', 2, "give exactly one of"),
    ('[[rules]]\nid = "x"\nrequire_tag = "A"\nmode = "block"\n', 4, "mode 'block'"),
    ('[defaults]\nrecheck_days = 0\n', 2, "recheck_days"),
])
def test_bad_policy_files_name_file_and_line(live, cli, home, tmp_path, text, line,
                                             says) -> None:
    path = write(tmp_path, text)
    result = cli("policy", "check", "--policy", path)
    assert result.code == 8, result.err
    assert f"{path}, line {line}: " in result.err_lines[-1] and says in result.err_lines[-1]
    assert "Traceback" not in result.err


def test_unknown_scopes_are_warnings_and_an_unknown_team_is_exit_5(live, cli, home,
                                                                     tmp_path) -> None:
    policy = write(tmp_path, TAG_RULE + 'teams = ["no-such-team"]\n')
    result = cli("policy", "check", "--policy", policy)
    assert "rule jira-ticket: no team 'no-such-team'" in result.err
    missing = cli("policy", "check", "--policy", policy, "--team", "no-such-team")
    assert missing.code == 5 and "unknown team 'no-such-team'" in missing.err_lines[-1]


def test_the_embedded_sandbox_uses_the_demo_policy_and_says_so(cli, home) -> None:
    result = cli("policy", "check", "--json")
    assert result.code == 2, result.err  # the demo policy's ticket rule is enforced
    assert "using the built-in demo policy" in result.err
    shown = json.loads(result.out)
    assert [r["id"] for r in shown["rules"]] == ["jira-ticket"]
    assert shown["violations"] and shown["runs_judged"] > len(shown["violations"])


def test_a_team_admin_is_judged_on_his_teams_and_told_how_retags_are_found(
        live, cli, home, as_user, tmp_path) -> None:
    as_user("bob")
    result = cli("policy", "check", "--policy", write(tmp_path, TAG_RULE), "--json")
    assert result.code == 2, result.err
    shown = json.loads(result.out)
    assert set(shown["teams"]) <= {"data-science-nlp", "product-ai-agents"}
    second = cli("policy", "check", "--policy", write(tmp_path, TAG_RULE), "--json")
    assert "full re-check every 7 days" in second.err


def tags_of(db, run: str) -> list[str]:
    return json.loads(db.scalar("SELECT tags FROM runs WHERE name = ?", (run,)))


def test_fix_adds_the_ticket_through_the_change_path_and_undo_takes_it_off(
        live, cli, home, sandbox_db, tmp_path) -> None:
    policy = write(tmp_path, TAG_RULE)
    _, before = check(cli, policy, "--team", "data-science-nlp")
    bad = [v for v in before["violations"] if v["project"] == "rag-pipeline-v2"]
    assert bad, "the demo seed has untagged runs in rag-pipeline-v2"
    old = {v["run"]: tags_of(sandbox_db, v["run"]) for v in bad}
    fixed = cli("policy", "fix", "--policy", policy, "--add-tag", "NLP-777", "--team",
                "data-science-nlp", "--project", "rag-pipeline-v2", "--yes", "--json")
    assert fixed.code == 0, fixed.err
    entries = json.loads(fixed.out)
    assert len(entries) == len(bad) and all(e["status"] == "applied" for e in entries)
    for run, tags in old.items():
        assert tags_of(sandbox_db, run) == [*tags, "NLP-777"]  # merged, nothing else lost
    # Judged again from the store the fix updated: none of them breaks the rule now.
    offline = cli("policy", "check", "--policy", policy, "--json", "--offline", "--team",
                  "data-science-nlp")
    assert not {v["run"] for v in json.loads(offline.out)["violations"]} & set(old)
    undone = cli("undo", str(entries[0]["entry"]), "--yes")
    assert undone.code == 0, undone.err
    first = next(r for r in old if entries[0]["target"].endswith(r))
    assert tags_of(sandbox_db, first) == old[first]


def test_fix_refuses_runs_you_may_not_change_and_a_tag_that_fixes_nothing(
        live, cli, home, sandbox_db, as_user, tmp_path) -> None:
    policy = write(tmp_path, TAG_RULE)
    untouched = sandbox_db.query("SELECT name, tags FROM runs")
    bad_tag = cli("policy", "fix", "--policy", policy, "--add-tag", "not a ticket", "--yes")
    assert bad_tag.code == 2 and "does not satisfy rule jira-ticket" in bad_tag.err_lines[-1]
    as_user("carol")  # a member: her own runs only
    refused = cli("policy", "fix", "--policy", policy, "--add-tag", "NLP-1", "--team",
                  "data-science-nlp", "--yes")
    assert refused.code == 4, refused.err
    assert "carol may not change" in refused.err_lines[-1]
    assert sandbox_db.query("SELECT name, tags FROM runs") == untouched
    assert "Traceback" not in refused.err


def test_notify_tells_each_owner_once_per_run_and_rule(live, cli, home, tmp_path,
                                                       receiver) -> None:
    policy = write(tmp_path, TAG_RULE + f'''
[[webhooks]]
url = "{receiver.url}/ok"
format = "json"

[[webhooks]]
url = "{receiver.url}/ok-slack"
''')
    _, judged = check(cli, policy, "--team", "ml-infra")
    bad = judged["violations"]
    assert bad
    first = cli("policy", "notify", "--policy", policy, "--team", "ml-infra", "--json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["sent"] == len(bad)
    events = receiver.bodies("/ok")
    assert sorted(e["run"] for e in events) == sorted(v["run"] for v in bad)
    assert all(e["owner"] == next(v["owner"] for v in bad if v["run"] == e["run"])
               for e in events)
    slack = receiver.bodies("/ok-slack")
    assert len(slack) == len(bad) and all("owned by" in b["text"] for b in slack)
    again = cli("policy", "notify", "--policy", policy, "--team", "ml-infra", "--json")
    assert json.loads(again.out) == {"violations": len(bad), "noticed_before": len(bad),
                                     "sent": 0, "failed": []}
    assert len(receiver.bodies("/ok")) == len(bad)  # nothing posted twice


def test_a_notice_no_webhook_took_is_sent_again_next_time(live, cli, home, tmp_path,
                                                          receiver) -> None:
    failing = write(tmp_path, TAG_RULE + f'[[webhooks]]\nurl = "{receiver.url}/fail"\n',
                    "fail.toml")
    result = cli("policy", "notify", "--policy", failing, "--team", "ml-infra")
    assert result.code == 7 and "FAILED" in result.err
    working = write(tmp_path, TAG_RULE + f'[[webhooks]]\nurl = "{receiver.url}/ok"\n',
                    "ok.toml")
    retried = cli("policy", "notify", "--policy", working, "--team", "ml-infra", "--json")
    assert json.loads(retried.out)["sent"] == json.loads(retried.out)["violations"] > 0


def test_kept_verdicts_equal_judging_every_run_again(live, cli, home, sandbox_db,
                                                     tmp_path) -> None:
    """The verdicts kept per run (only changed runs judged again) give what judging the
    whole store in memory gives: after a check, a re-tag, a policy change and a later
    clock for a running-time rule."""
    from wbadmin.core.cache import Cache
    from wbadmin.core.governance import judge as J
    from wbadmin.core.governance.run_policy import parse_policy
    from wbadmin.core.governance.verdict_store import judge_store

    def same(policy_text: str, now: float) -> int:
        policy = parse_policy(policy_text, tmp_path / "p.toml")
        cache = Cache(cache_file())
        try:
            kept = judge_store(cache, policy, now)
            lean = judge_store(cache, policy, now, projects=False)  # as the team table asks
            fresh = J.judge(policy, J.stored_runs(cache), now)
        finally:
            cache.close()
        key = lambda j: sorted((v.run.name, v.rule.id, v.why) for v in j.violations)  # noqa: E731
        assert key(kept) == key(fresh)

        def figures(places: dict) -> dict:
            return {k: (p.judged, p.violating, p.unknown, dict(p.by_rule))
                    for k, p in places.items()}

        assert figures(kept.teams) == figures(fresh.teams) == figures(lean.teams)
        assert figures(kept.projects) == figures(fresh.projects) and not lean.projects
        assert kept.broken_rules == fresh.broken_rules == lean.broken_rules
        assert kept.trend == fresh.trend and kept.offenders == fresh.offenders
        return len(kept.violations)

    _, first = check(cli, write(tmp_path, TAG_RULE))
    assert same(TAG_RULE, SEED_NOW) == len(first["violations"])
    pk = sandbox_db.scalar("SELECT id FROM runs WHERE name = ?",
                           (first["violations"][0]["run"],))
    retag(live, pk, ["NLP-5"])
    check(cli, write(tmp_path, TAG_RULE))
    assert same(TAG_RULE, SEED_NOW) == len(first["violations"]) - 1
    other = TAG_RULE.replace("[A-Z]+-[0-9]+", "baseline") + 'except_accounts = ["bob"]\n'
    same(other, SEED_NOW)
    zombies = '[[rules]]\nid = "z"\nmax_running_hours = 48\n'
    early, late = same(zombies, SEED_NOW), same(zombies, SEED_NOW + 30 * 86400)
    assert late > early  # running runs are judged again as the clock moves
    # A run leaving the store (a new period prunes ended runs) leaves the figures with it.
    cache = Cache(cache_file())
    try:
        with cache.transaction() as conn:
            gone = conn.execute("DELETE FROM quota_runs WHERE name = ? RETURNING team",
                                (first["violations"][1]["run"],)).fetchone()[0]
    finally:
        cache.close()
    assert same(TAG_RULE, SEED_NOW) == len(first["violations"]) - 2
    cache = Cache(cache_file())
    try:
        kept = judge_store(cache, parse_policy(TAG_RULE, tmp_path / "p.toml"), SEED_NOW)
        counted = cache.conn.execute("SELECT SUM(n) FROM policy_place_counts WHERE team = ?",
                                     (gone,)).fetchone()[0]
    finally:
        cache.close()
    assert counted == kept.teams[gone].judged
