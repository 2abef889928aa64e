"""Judge the runs of the run store (the quota refresh's `quota_runs`, with each run's tags
and config keys) against the run policy — from the cache alone, so a changed policy is
judged again without a request to W&B.

A run is judged by a rule when the rule is in force, the run was created on or after the
rule's start, and the run is in the rule's scope and not excepted. A rule whose facts the
store lacks for a run (tags or config read before they were kept) counts it as unknown,
never as compliant.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..cache import Cache
from ..quotas.period import DAY, epoch_day
from .run_policy import Rule, RunPolicy


@dataclass(frozen=True)
class StoredRun:
    team: str
    project: str
    name: str                          # the run id
    display_name: str | None
    username: str | None
    state: str
    created_at: float
    heartbeat_at: float
    tags: tuple[str, ...] | None
    config_keys: tuple[str, ...] | None

    @property
    def title(self) -> str:
        return self.display_name or self.name


def list_parser() -> Callable[[str | None], tuple[str, ...] | None]:
    """A parser of JSON string lists that parses each distinct text once: runs share a
    few thousand tag lists and config-key lists among hundreds of thousands."""
    seen: dict[str | None, tuple[str, ...] | None] = {None: None}

    def parse(text: str | None) -> tuple[str, ...] | None:
        if text in seen:
            return seen[text]
        try:
            value = json.loads(text)  # type: ignore[arg-type]
        except ValueError:
            value = None
        seen[text] = out = tuple(str(v) for v in value) if isinstance(value, list) else None
        return out

    return parse


def stored_runs(cache: Cache, team: str | None = None, rows: list | None = None
                ) -> list[StoredRun]:
    """The run store's runs (a team's), oldest first; or `rows` already selected in this
    column order."""
    if rows is None:
        sql = ("SELECT team, project, name, display_name, username, state, created_at, "
               "heartbeat_at, tags, config_keys FROM quota_runs")
        rows = cache.conn.execute(sql + (" WHERE team = ?" if team else "") + " ORDER BY "
                                  "created_at", (team,) if team else ()).fetchall()
    tags, keys = list_parser(), list_parser()
    return [StoredRun(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tags(r[8]), keys(r[9]))
            for r in rows]


def verdict(rule: Rule, run: StoredRun, now: float) -> str | None:
    """Why `run` breaks `rule` ("" when unknown), or None when it complies."""
    if rule.kind == "max_running_hours":
        return running_verdict(rule, run.state, run.created_at, now)
    return fact_verdict(rule, fact_of(rule, run))


def fact_of(rule: Rule, run: StoredRun) -> Any:
    """What a rule other than a running-time limit looks at: tags, config keys or title."""
    return run.tags if rule.kind == "require_tag" else (
        run.config_keys if rule.kind == "require_config" else run.title)


def fact_verdict(rule: Rule, fact: Any) -> str | None:
    """`verdict` of a tag, config-key or name rule, from the one fact it looks at."""
    if rule.kind == "require_tag":
        if fact is None:
            return ""
        assert rule.pattern is not None
        if any(map(rule.pattern.fullmatch, fact)):
            return None
        return f"no tag matching {rule.pattern.pattern}"
    if rule.kind == "require_config":
        if fact is None:
            return ""
        missing = [k for k in rule.keys if k not in fact]
        return f"config lacks {', '.join(missing)}" if missing else None
    assert rule.kind == "name_pattern" and rule.pattern is not None
    return None if rule.pattern.fullmatch(fact) else \
        f"run name {fact!r} does not match {rule.pattern.pattern}"


def running_verdict(rule: Rule, state: str, created_at: float, now: float) -> str | None:
    assert rule.hours is not None
    if state == "running" and now - created_at > rule.hours * 3600:
        return f"running for {(now - created_at) / 3600:.0f} hours (at most " \
               f"{rule.hours:g})"
    return None


@dataclass(frozen=True)
class Violation:
    rule: Rule
    run: StoredRun
    why: str


@dataclass
class Place:
    """The judgement of one team or project."""

    judged: int = 0
    violating: int = 0
    unknown: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)

    @property
    def compliance(self) -> float | None:
        """Compliant share of the runs judged (None: none judged)."""
        known = self.judged - self.unknown
        return None if known <= 0 else (known - self.violating) / known


@dataclass
class Judgement:
    policy: RunPolicy
    now: float
    violations: list[Violation] = field(default_factory=list)
    teams: dict[str, Place] = field(default_factory=lambda: defaultdict(Place))
    projects: dict[tuple[str, str], Place] = field(default_factory=lambda: defaultdict(Place))
    offenders: Counter[str] = field(default_factory=Counter)   # username -> violating runs
    trend: dict[int, tuple[int, int]] = field(default_factory=dict)  # day -> (judged, bad)
    runs_judged: int = 0
    broken_rules: Counter[str] = field(default_factory=Counter)  # rule id -> runs breaking it

    @property
    def violating_runs(self) -> int:
        return sum(p.violating for p in self.teams.values())

    @property
    def worst(self) -> str:
        """"enforce", "warn" or "ok": the exit code's three cases."""
        modes = {r.mode for r in self.policy.rules if self.broken_rules[r.id]}
        return "enforce" if "enforce" in modes else ("warn" if modes else "ok")

    def runs_with(self, rule_ids: set[str] | None = None) -> list[StoredRun]:
        seen: dict[tuple[str, str, str], StoredRun] = {}
        for v in self.violations:
            if rule_ids is None or v.rule.id in rule_ids:
                seen.setdefault((v.run.team, v.run.project, v.run.name), v.run)
        return list(seen.values())


def rules_in_force(policy: RunPolicy, now: float) -> list[Rule]:
    return [r for r in policy.rules if r.in_force(now)]


def judge_one(rules: list[Rule], run: StoredRun, now: float,
              memo: dict[tuple[str, Any], str | None]) -> tuple[bool, bool, list[tuple[Rule, str]]]:
    """(judged, unknown, broken rules with why) of one run. `memo` keeps each verdict per
    rule and the fact it looks at (tags, config keys, name), which runs share."""
    applying = [r for r in rules if (r.start is None or run.created_at >= r.start)
                and r.applies_to(run.team, run.project, run.username)]
    if not applying:
        return False, False, []
    found = []
    for rule in applying:
        if rule.kind == "max_running_hours":
            found.append((rule, verdict(rule, run, now)))
            continue
        key = (rule.id, fact_of(rule, run))
        if key not in memo:
            memo[key] = fact_verdict(rule, key[1])
        found.append((rule, memo[key]))
    broken = [(r, why) for r, why in found if why]
    return True, any(why == "" for _, why in found), broken


def judge(policy: RunPolicy, runs: list[StoredRun], now: float,
          team: str | None = None) -> Judgement:
    """The judgement of `runs` in memory (the reference `verdict_store` equals)."""
    out = Judgement(policy, now)
    trend: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rules = rules_in_force(policy, now)
    memo: dict[tuple[str, Any], str | None] = {}
    for run in runs:
        if team is not None and run.team != team:
            continue
        judged, unknown, broken = judge_one(rules, run, now, memo)
        if not judged:
            continue
        places = (out.teams[run.team], out.projects[(run.team, run.project)])
        day = trend[epoch_day(run.created_at)]
        day[0] += 1
        out.runs_judged += 1
        for place in places:
            place.judged += 1
            place.unknown += int(unknown and not broken)
        if broken:
            day[1] += 1
            for place in places:
                place.violating += 1
                place.by_rule.update(r.id for r, _ in broken)
            out.broken_rules.update(r.id for r, _ in broken)
            if run.username:
                out.offenders[run.username] += 1
            out.violations += [Violation(r, run, why) for r, why in broken]
    out.trend = {d: (v[0], v[1]) for d, v in sorted(trend.items())}
    return out


def weekly_trend(judgement: Judgement) -> list[tuple[float, int, int]]:
    """(week start, runs judged, violating runs), oldest first: the period's trend."""
    weeks: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for day, (judged, bad) in judgement.trend.items():
        week = weeks[day - (day + 3) % 7]  # weeks from Monday (1970-01-01 was a Thursday)
        week[0] += judged
        week[1] += bad
    return [(w * DAY, v[0], v[1]) for w, v in sorted(weeks.items())]


def to_dict(j: Judgement, accounts: set[str]) -> dict[str, Any]:
    """The JSON of `wbadmin policy check`; `accounts`: the service accounts' usernames."""
    from ..journal import iso

    def place(p: Place) -> dict[str, Any]:
        return {"runs_judged": p.judged, "violating_runs": p.violating,
                "unknown_runs": p.unknown, "compliance": p.compliance,
                "by_rule": dict(sorted(p.by_rule.items()))}

    return {
        "worst": j.worst, "runs_judged": j.runs_judged,
        "rules": [{"id": r.id, "mode": r.mode, "requires": r.what(), "scope": r.scope_text,
                   "in_force": r.in_force(j.now), "start": iso(r.start)}
                  for r in j.policy.rules],
        "teams": {t: place(p) for t, p in sorted(j.teams.items())},
        "projects": {f"{t}/{p}": place(v) for (t, p), v in sorted(j.projects.items())},
        "worst_offenders": [{"username": u, "violating_runs": n,
                             "service_account": u in accounts}
                            for u, n in j.offenders.most_common(10)],
        "trend": [{"week": iso(w), "runs_judged": n, "violating_runs": b}
                  for w, n, b in weekly_trend(j)],
        "violations": [{"rule": v.rule.id, "mode": v.rule.mode, "team": v.run.team,
                        "project": v.run.project, "run": v.run.name,
                        "run_name": v.run.title, "owner": v.run.username,
                        "created_at": iso(v.run.created_at), "why": v.why}
                       for v in j.violations],
    }
