"""`wbadmin policy check`: org-wide run policies (a Jira ticket on every run, config keys,
run names, no run left running for days), judged per team and project.

W&B has no run policies; the run policy (TOML) declares them: --policy, else
$WBADMIN_RUN_POLICY, else policies.toml in the config directory; on the sandbox without
one, a built-in demo policy (every run tagged with a Jira ticket, enforced). Runs come from
the run store the quota refresh keeps (incremental; --full reads every run again);
--offline judges the cache alone.

  wbadmin policy check [--json] [--team T] [--full]
      exit 0 compliant, 1 violations of `warn` rules only, 2 violations of `enforce` rules

Policy example:

  [[rules]]
  id = "jira-ticket"
  require_tag = "[A-Z]+-[0-9]+"       # or require_config = [...], name_pattern = "...",
  mode = "enforce"                    #    max_running_hours = 72
  except_accounts = ["ci-bot"]
  start = 2026-11-01
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..core.governance import judge as J
from ..core.governance.freshness import refresh_runs
from ..core.governance.run_policy import DEMO_POLICY, HOW_TO, RunPolicy, load_policy, policy_path
from ..core.governance.verdict_store import judge_store
from ..core.journal import iso
from ..core.quotas import policy_for
from ..core.session import Session
from .common import add_command, add_no_wait, note, note_settled, open_session, run_online
from .errors import (
    AUTH,
    BAD_DATA,
    CONFLICT,
    INTERRUPTED,
    NOT_FOUND,
    PERMISSION,
    UNAVAILABLE,
    USAGE,
    CliError,
)
from .output import emit_json, emit_table

CODES = (USAGE, AUTH, PERMISSION, NOT_FOUND, UNAVAILABLE, BAD_DATA)
CHECK_EXIT = {"ok": 0, "warn": 1, "enforce": 2}


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("policy", help="org-wide run policies", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    psub = group.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    check = add_command(psub, "check", cmd_check, codes=CODES,
                        help="exit 0 compliant, 1 warn-rule violations, 2 enforce-rule ones")
    check.add_argument("--policy", metavar="FILE", help="the run policy (TOML); default: "
                       "$WBADMIN_RUN_POLICY, else policies.toml in the config dir")
    check.add_argument("--team", metavar="TEAM", help="one team, per project")
    check.add_argument("--full", action="store_true",
                       help="read every run again instead of refreshing incrementally")
    check.add_argument("--quota-policy", metavar="FILE", help=argparse.SUPPRESS)
    fix = add_command(psub, "fix", cmd_fix, codes=CODES,
                      help="add a tag (e.g. the ticket key) to the runs breaking a tag rule")
    fix.add_argument("--add-tag", required=True, metavar="TAG",
                     help="the tag to add (it must satisfy the rule)")
    fix.add_argument("--rule", metavar="ID", help="the tag rule (default: the policy's only "
                     "require_tag rule)")
    fix.add_argument("--policy", metavar="FILE", help="the run policy (as for check)")
    fix.add_argument("--team", metavar="TEAM", help="only this team's runs")
    fix.add_argument("--project", metavar="PROJECT", help="only this project's runs "
                     "(with --team)")
    fix.add_argument("--run", action="append", default=[], metavar="RUN",
                     help="only this run id (repeatable)")
    fix.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    fix.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    fix.add_argument("--quota-policy", metavar="FILE", help=argparse.SUPPRESS)
    add_no_wait(fix)
    notify = add_command(psub, "notify", cmd_notify, codes=CODES,
                         help="tell the owners of runs breaking a rule, through the policy's "
                              "webhooks (once per run and rule)")
    notify.add_argument("--policy", metavar="FILE", help="the run policy (as for check)")
    notify.add_argument("--team", metavar="TEAM", help="only this team's runs")
    notify.add_argument("--rule", metavar="ID", help="only this rule's violations")
    notify.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    notify.add_argument("--quota-policy", metavar="FILE", help=argparse.SUPPRESS)
    check.epilog = ("exit codes:\n  0   every judged run complies\n  1   violations of "
                    "`warn` rules only\n  2   violations of `enforce` rules (usage errors "
                    "also exit 2, with a `usage:` line)\n  3-8 as every command (auth, "
                    "permission, not found, network, malformed policy: file:line)")


def _notice(policy: RunPolicy) -> str | None:
    if policy.source == DEMO_POLICY:
        return (f"no run policy configured: using the built-in demo policy (sandbox: every "
                f"run tagged with a Jira ticket, enforced); write your own to "
                f"{policy_path()}")
    if not policy.exists:
        return HOW_TO.format(path=policy_path())
    return None


def cmd_check(args: argparse.Namespace) -> int:
    session, _, judgement = _judged(args, every=args.json)  # the table lists no run
    if judgement is None:
        if args.json:
            emit_json({"worst": "ok", "runs_judged": 0, "rules": []})
        return 0
    accounts = {r[0] for r in session.cache.query(
        "SELECT DISTINCT username FROM team_members WHERE account_type = 'SERVICE'")}
    if args.json:
        emit_json(J.to_dict(judgement, accounts))
    else:
        _print(judgement, accounts, args.team)
    return CHECK_EXIT[judgement.worst]


def _judged(args: argparse.Namespace, *, every: bool = True
            ) -> tuple[Session, RunPolicy, J.Judgement | None]:
    """The session, the policy and its judgement of the run store brought up to date (None:
    no rule to judge); `every`: list every violation (else the figures only)."""
    session = open_session(args)
    sandbox = session.mode == "SANDBOX"
    policy = load_policy(args.policy, sandbox=sandbox)  # a bad file fails before any request
    quota_policy = policy_for(args.quota_policy, sandbox=sandbox)
    if notice := _notice(policy):
        note(notice)
    for warning in policy.warnings:
        note(f"warning: {warning}")
    for line in policy.not_in_force(session.clock()):
        note(f"note: {line}")
    if not policy.exists or not policy.rules:
        return session, policy, None
    if session.offline:
        if session.cache.scalar("SELECT value FROM quota_state WHERE key = 'watermark'") \
                is None:
            raise CliError("offline and no runs cached yet: run `wbadmin policy check` "
                           "online once", UNAVAILABLE)
    else:
        async def work(s: Session) -> None:
            facts = await s.server_facts()
            fresh = await refresh_runs(s, quota_policy, policy, full=args.full,
                                       lacks=facts.lacks)
            for line in fresh.warnings:
                note(f"warning: {line}")
            for line in fresh.notes:
                note(f"note: {line}")

        run_online(session, work)
    cache = session.cache
    teams = {r[0] for r in cache.query("SELECT name FROM teams")}
    projects = {(r[0], r[1]) for r in cache.query("SELECT team, name FROM projects")}
    if args.team and args.team not in teams:
        raise CliError(f"unknown team {args.team!r} (not among the teams you can see)",
                       NOT_FOUND)
    for warning in policy.unknown_scopes(teams, projects):
        note(f"warning: {warning} (in the policy, not in the org)")
    # Per-project figures only where they are shown (a team's table, --json, the runs).
    return session, policy, judge_store(cache, policy, session.clock(), args.team,
                                        limit=None if every else 0,
                                        projects=every or bool(args.team))


def cmd_notify(args: argparse.Namespace) -> int:
    session, policy, judgement = _judged(args)
    if not policy.webhooks:
        raise CliError("the run policy declares no [[webhooks]]: nothing to notify through",
                       USAGE)
    violations = [v for v in (judgement.violations if judgement else [])
                  if not args.rule or v.rule.id == args.rule]
    from ..core.governance.notices import NoticeSender

    sender = NoticeSender(session.server_cache(), clock=session.clock,
                          app_url=session.web_app_url)
    before = len(sender.sent_before(violations))
    results = run_online(session, lambda s: sender.send(violations, policy.webhooks))
    sent = [r for r in results if r.sent]
    failed = [d for r in results for d in r.deliveries if not d.ok]
    if args.json:
        emit_json({"violations": len(violations), "noticed_before": before,
                   "sent": len(sent), "failed": [d.to_json() for d in failed]})
    else:
        print(f"{len(sent)} notice(s) sent for {len(violations)} violation(s); {before} "
              "noticed before")
    for delivery in failed[:5]:
        note(delivery.line())
    return 0 if not failed else UNAVAILABLE


def cmd_fix(args: argparse.Namespace) -> int:
    if args.project and not args.team:
        raise CliError("--project needs --team", USAGE)
    session, policy, judgement = _judged(args)
    tag_rules = [r for r in policy.rules if r.kind == "require_tag"]
    rule = next((r for r in tag_rules if r.id == args.rule), None) if args.rule else (
        tag_rules[0] if len(tag_rules) == 1 else None)
    if rule is None:
        known = ", ".join(r.id for r in tag_rules) or "none"
        raise CliError(f"name the tag rule with --rule (the policy's tag rules: {known})",
                       USAGE)
    assert rule.pattern is not None
    if not rule.pattern.fullmatch(args.add_tag):
        raise CliError(f"the tag {args.add_tag!r} does not satisfy rule {rule.id} "
                       f"({rule.pattern.pattern}): it would fix nothing", USAGE)
    runs = [r for r in (judgement.runs_with({rule.id}) if judgement else [])
            if (not args.project or r.project == args.project)
            and (not args.run or r.name in args.run)]
    if not runs:
        print("no run breaks this rule: nothing to fix")
        return 0
    from ..core.change_path import ChangePath
    from ..core.governance.fix import add_tag
    from .access_cmd import change_callbacks, show_review

    stream = sys.stderr if args.json else sys.stdout

    def show(review: Any) -> None:
        show_review(review, stream)

    args.confirm = None
    confirm, progress = change_callbacks(args, stream, show)

    async def work(s: Session) -> Any:
        path = ChangePath(s, confirm, wait=not args.no_wait, on_wait=note,
                          on_progress=progress)
        return await add_tag(path, runs, args.add_tag)

    report = run_online(session, work)
    note_settled(report.reconciled, report.refresh_error)
    if args.json:
        emit_json([{"entry": o.entry_id, "status": o.status, "target": o.change.target,
                    "result": o.result} for o in report.outcomes])
    failed = report.failed
    if failed:
        raise CliError(f"{failed[0].change.target}: {failed[0].result}", CONFLICT)
    return INTERRUPTED if report.declined else 0


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _print(j: J.Judgement, accounts: set[str], team: str | None) -> None:
    emit_table([[r.id, r.mode, r.what(), r.scope_text,
                 "yes" if r.in_force(j.now) else f"from {iso(r.start)[:10]}"]
                for r in j.policy.rules], ["rule", "mode", "requires", "scope", "in force"])
    print()
    if team is None:
        rows: list[list[Any]] = [[t, p.judged, p.violating, p.unknown, _pct(p.compliance)]
                                 for t, p in sorted(j.teams.items())]
        emit_table(rows, ["team", "runs judged", "violating", "unknown", "compliant"])
    else:
        rows = [[p, v.judged, v.violating, v.unknown, _pct(v.compliance)]
                for (_, p), v in sorted(j.projects.items())]
        emit_table(rows, ["project", "runs judged", "violating", "unknown", "compliant"])
    if j.offenders:
        worst = ", ".join(f"{u}{' (service account)' if u in accounts else ''} {n}"
                          for u, n in j.offenders.most_common(5))
        print(f"\nworst offenders: {worst}")
    trend = J.weekly_trend(j)
    if trend:
        print("trend (violating of judged, per week): " + " · ".join(
            f"{iso(w)[:10]} {b}/{n}" for w, n, b in trend))
    bad = j.violating_runs
    print(f"\n{bad} of {j.runs_judged} runs judged break a rule"
          + (f" ({j.worst} rules)" if bad else ""))
