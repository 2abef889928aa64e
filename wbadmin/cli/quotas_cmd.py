"""`wbadmin quotas [check | report]`: GPU-hour, storage and concurrency quotas per team.

W&B has no per-team limits; the quota policy (TOML) declares them. The policy is --policy,
else $WBADMIN_QUOTA_POLICY, else quotas.toml in the config directory; on the sandbox without
one, a built-in demo policy. Usage is refreshed incrementally (finished runs are never read
again; --full recomputes everything); --offline reports from the cache.

  wbadmin quotas [--json]                 usage, limits and forecasts per team
  wbadmin quotas --metric storage_gb      one metric: gpu_hours, storage_gb, concurrent_runs
  wbadmin quotas check                    exit 0 fine, 1 warning, 2 over a hard limit
                                          (posts threshold alerts to the policy's webhooks)
  wbadmin quotas report --format csv      GPU-hours and cost per team and project

Policy example:

  [defaults]
  period = "month"            # month | week | custom (with start = 2026-01-05, days = 14)
  thresholds = [50, 80, 100]  # % of the hard limit that alert
  price_per_gpu_hour = 2.40

  [teams.llm-platform-eng]
  gpu_hours = { soft = 1600, hard = 2000 }
  storage_gb = 2000
  concurrent_runs = { soft = 8, hard = 12 }

  [[webhooks]]
  url = "https://hooks.slack.com/services/..."
"""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from ..core.quotas import QuotaService, UsageReport, policy_for, policy_notice
from ..core.quotas.policy import METRIC_LABELS, METRICS
from ..core.quotas.scale import bar_text
from ..core.quotas.text import amount, day, headroom_text, money, percent
from ..core.session import Session
from .common import add_command, note, open_session, run_online
from .errors import AUTH, BAD_DATA, PERMISSION, UNAVAILABLE, USAGE, CliError
from .output import emit_json, emit_table

CODES = (USAGE, AUTH, PERMISSION, UNAVAILABLE, BAD_DATA)
CHECK_EXIT = {"ok": 0, "warn": 1, "over": 2}
BAR = 16  # cells of the usage bar


def register(sub: argparse._SubParsersAction) -> None:
    quotas = add_command(sub, "quotas", cmd_show, codes=CODES, description=__doc__,
                         help="GPU-hour, storage and concurrency quotas per team")
    _flags(quotas)
    quotas.add_argument("--metric", choices=METRICS,
                        help="one metric only (default: the table shows gpu_hours, --json "
                             "every metric)")
    qsub = quotas.add_subparsers(dest="quotas_command", metavar="ACTION")
    check = add_command(qsub, "check", cmd_check, codes=CODES,
                        help="exit 0 when fine, 1 on a warning, 2 when over a hard limit")
    _flags(check)
    check.add_argument("--no-alerts", action="store_true",
                       help="do not post threshold alerts to the policy's webhooks")
    check.epilog = ("exit codes:\n  0   every team within its limits\n  1   a warning: past a "
                    "soft limit, or forecast past a hard limit by period end\n  2   over a hard "
                    "limit (argparse usage errors also exit 2)\n  3-8 as every command "
                    "(auth, permission, network, malformed policy)")
    report = add_command(qsub, "report", cmd_report, codes=CODES,
                         help="GPU-hours and cost per team and project (for FinOps)")
    _flags(report)
    report.add_argument("--format", choices=("csv", "table"), default="csv",
                        help="csv (default) or a table")


def _flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", metavar="FILE", help="the quota policy (TOML); default: "
                   "$WBADMIN_QUOTA_POLICY, else quotas.toml in the config dir")
    p.add_argument("--previous", action="store_true", help="the previous period")
    p.add_argument("--full", action="store_true",
                   help="recompute from every run instead of refreshing incrementally")


# ---- plumbing ------------------------------------------------------------------------------

def _report(args: argparse.Namespace, *, alerts: bool = False) -> tuple[UsageReport, list]:
    session = open_session(args)
    # A malformed policy fails before any network call.
    policy = policy_for(args.policy, sandbox=session.mode == "SANDBOX")
    if notice := policy_notice(policy):
        note(notice)
    offset = -1 if args.previous else 0
    if session.offline:
        service = QuotaService(session.cache, policy, clock=session.clock)
        if not service.has_data:
            raise CliError("offline and no usage cached yet: run `wbadmin quotas` online "
                           "once", UNAVAILABLE)
        return service.report(offset), []

    async def work(s: Session) -> tuple[UsageReport, list]:
        service = QuotaService(s.cache, policy, client=s.client, clock=s.clock,
                               alert_cache=s.server_cache())
        facts = await s.server_facts()  # a degraded read, said once, if the server lacks one
        for notice in facts.notices("Quotas"):
            note(f"note: {notice}")
        refreshed = await service.refresh(full=args.full, lacks=facts.lacks)
        for warning in refreshed.warnings:
            note(f"warning: {warning}")
        report = service.report(offset)
        sent = await service.alert(report) if alerts else []
        return report, sent

    return run_online(session, work)


def usage_report(args: argparse.Namespace) -> UsageReport:
    """The quota report `wbadmin quotas` shows, for other commands (`wbadmin report`) that must
    give the same numbers: `args` carries --policy, --previous and --full."""
    return _report(args)[0]


def _warn(report: UsageReport) -> None:
    for warning in report.warnings:
        note(f"warning: {warning}")


# ---- commands ------------------------------------------------------------------------------

def cmd_show(args: argparse.Namespace) -> int:
    report, _ = _report(args)
    _warn(report)
    if args.json:  # every metric, unless one was asked for
        emit_json(report.metric_json(args.metric) if args.metric else report.to_json())
        return 0
    metric = args.metric or "gpu_hours"
    first = report.teams[0] if report.teams else None
    if first is not None:
        p = first.period
        elapsed = min(p.days, int(p.elapsed_days(report.now)) + 1)
        print(f"{METRIC_LABELS[metric]} · {p.label} (day {elapsed} of {p.days})")
    scale = report.scale(metric)  # one scale for every team's bar: the TUI's too
    gpu = metric == "gpu_hours"  # forecasts and cost are GPU-hours' alone
    rows = []
    for t in report.teams:
        g = t.gauge(metric)
        row = [t.team, bar_text(g, scale, BAR), amount(metric, g.used),
               amount(metric, g.limit.soft), amount(metric, g.limit.hard), percent(g),
               _status(g.outlook_status)]
        if gpu:
            f = g.forecast
            row += ["" if f is None else amount(metric, f.at_end),
                    "" if f is None else day(f.over_since or f.hard_day),
                    money(t.cost, t.rules.currency)]
        else:
            row.append("—" if g.limit.reference is None else headroom_text(g))
        rows.append(row)
    headers = ["team", "usage", "used", "soft", "hard", "%", "status"]
    headers += ["forecast", "hard limit on", "cost"] if gpu else ["outlook"]
    emit_table(rows, headers)
    if gpu and report.missing:
        note(f"{report.missing} run(s) without GPU metadata counted as 0 GPUs "
             "(see --json: runs_without_gpu_metadata)")
    return 0


def _status(status: str) -> str:
    return {"over": "OVER", "warn": "warning", "ok": "ok", "none": "no limit"}[status]


def cmd_check(args: argparse.Namespace) -> int:
    report, sent = _report(args, alerts=not args.no_alerts)
    _warn(report)
    for result in sent:
        for delivery in result.deliveries:
            if not delivery.ok:
                note(f"warning: {delivery.line()}")
    problems = []
    for t in report.teams:
        for metric in METRICS:
            g = t.gauge(metric)
            if g.status in ("warn", "over"):
                problems.append((t.team, metric, g.status, g))
        if t.gpu_hours.forecast_over:
            problems.append((t.team, "gpu_hours", "forecast", t.gpu_hours))
    if args.json:
        emit_json({"status": report.status, "exit_code": CHECK_EXIT[report.status],
                   "problems": [_problem_json(*p) for p in problems],
                   "alerts_sent": [r.alert.event() for r in sent if r.sent],
                   "warnings": report.warnings})
    else:
        for team, metric, kind, g in problems:
            print(_problem_line(team, metric, kind, g))
        if not problems:
            print(f"all {len(report.teams)} teams within their limits")
        for result in sent:
            if result.sent:
                print(f"alert posted: {result.alert.text()}")
    return CHECK_EXIT[report.status]


def _problem_line(team: str, metric: str, kind: str, g: Any) -> str:
    label = METRIC_LABELS[metric]
    if kind == "forecast":
        return (f"WARNING {team}: {label} forecast {amount(metric, g.forecast.at_end)} by "
                f"period end, over the hard limit {amount(metric, g.limit.hard)}")
    word = "OVER" if kind == "over" else "WARNING"
    which = "hard" if kind == "over" else "soft"
    limit = g.limit.hard if kind == "over" else g.limit.soft
    return (f"{word} {team}: {label} {amount(metric, g.used)} ({percent(g)}), past the {which} "
            f"limit {amount(metric, limit)}")


def _problem_json(team: str, metric: str, kind: str, g: Any) -> dict[str, Any]:
    return {"team": team, "metric": metric, "kind": kind, **g.to_json()}


def cmd_report(args: argparse.Namespace) -> int:
    report, _ = _report(args)
    _warn(report)
    headers = ["period", "team", "project", "gpu_hours", "price_per_gpu_hour", "cost",
               "currency"]
    rows: list[list[Any]] = []
    for t in report.teams:
        cur = t.rules.currency
        for p in t.projects:
            price = report.policy.price(t.team, p.project)
            rows.append([t.period.key, t.team, p.project, f"{p.gpu_hours.used:.2f}",
                         "" if price is None else f"{price:.2f}",
                         "" if p.cost is None else f"{p.cost:.2f}", cur])
        rows.append([t.period.key, t.team, "", f"{t.gpu_hours.used:.2f}", "",
                     "" if t.cost is None else f"{t.cost:.2f}", cur])
    if args.json:
        emit_json([dict(zip(headers, r, strict=True)) for r in rows])
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
    else:
        emit_table(rows, headers)
    if not report.policy.exists or all(t.cost is None for t in report.teams):
        note("no price_per_gpu_hour in the policy: cost columns are empty")
    return 0
