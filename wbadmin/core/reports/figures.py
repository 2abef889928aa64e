"""The period's figures a report carries, from the read model — the same numbers the other
commands give, never recomputed another way:

- GPU-hours and cost per team against their limits: the quota `UsageReport`
  (`wbadmin quotas --json`'s numbers: used, soft, hard, cost, the daily series);
- promotions decided in the period: the promotion records of the cached registry versions
  (what the Promotions screen reads), approved or rejected in the window (the quota
  period, or `--period`);
- open findings by severity: `access.findings` as this identity sees them (a finding hidden
  from it is counted as unjudged, never as none).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ... import clock
from ..access.findings import SEVERITIES, Finding
from ..cache import Cache
from ..promotions.record import parse_record
from ..quotas.text import money
from ..quotas.usage import UsageReport

DECIDED = {"approved": "approved", "rolled_back": "approved", "rejected": "rejected"}


@dataclass(frozen=True)
class TeamFigures:
    team: str
    gpu_hours: float
    soft: float | None
    hard: float | None
    status: str              # the quota status of GPU-hours: none | ok | warn | over
    cost: float | None
    currency: str
    daily: tuple[float, ...]  # GPU-hours per day of the quota period (every day of it)
    elapsed_days: int = 0     # the days of the period begun by now (the rest are to come)


@dataclass(frozen=True)
class PromotionDecision:
    version: str   # registry/collection:vN
    target: str    # the alias asked for
    outcome: str   # approved | rejected
    by: str
    at: str        # ISO 8601 UTC


@dataclass(frozen=True)
class FindingFigures:
    by_severity: tuple[tuple[str, int], ...]  # (severity, open items) for every severity
    unjudged: tuple[str, ...] = ()            # finding titles this identity cannot judge

    @property
    def total(self) -> int:
        return sum(n for _, n in self.by_severity)


@dataclass(frozen=True)
class Figures:
    period_label: str   # the quota period ("December 2026")
    since: float        # the window of the promotions decided: [since, until]
    until: float
    now: float          # when the figures were made (findings are as of now)
    teams: tuple[TeamFigures, ...]
    promotions: tuple[PromotionDecision, ...]
    findings: FindingFigures
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def approved(self) -> int:
        return sum(p.outcome == "approved" for p in self.promotions)

    @property
    def rejected(self) -> int:
        return sum(p.outcome == "rejected" for p in self.promotions)

    @property
    def window_text(self) -> str:
        """The window of the promotions counted, as days: "2026-11-01 – 2026-11-18"."""
        # A past period ends at the next one's first midnight: its last day is the one before.
        return f"{_day(self.since)} – {_day(max(self.since, self.until - 1))}"

    def to_json(self) -> dict[str, Any]:
        return {"period": self.period_label, "since": _iso(self.since),
                "until": _iso(self.until), "now": _iso(self.now),
                "teams": [{"team": t.team, "gpu_hours": round(t.gpu_hours, 3), "soft": t.soft,
                           "hard": t.hard, "status": t.status,
                           "cost": None if t.cost is None else round(t.cost, 2),
                           "currency": t.currency,
                           "daily_gpu_hours": [round(v, 2) for v in t.daily]}
                          for t in self.teams],
                "promotions": {"approved": self.approved, "rejected": self.rejected,
                               "decisions": [p.__dict__ for p in self.promotions]},
                "findings": {"by_severity": dict(self.findings.by_severity),
                             "unjudged": list(self.findings.unjudged)},
                "warnings": list(self.warnings)}

    def to_markdown(self, which: Sequence[str] = ("gpu_hours", "cost", "promotions",
                                                  "findings")) -> str:
        """The figures named (model.FIGURES) as markdown: what a governance template's
        figures block becomes in a W&B report, or in the offline Markdown file."""
        parts = []
        if "gpu_hours" in which or "cost" in which:
            parts.append(self._teams_markdown("gpu_hours" in which, "cost" in which))
        if "promotions" in which:
            parts.append(self._promotions_markdown())
        if "findings" in which:
            parts.append(self._findings_markdown())
        return "\n\n".join(parts)

    def _teams_markdown(self, gpu: bool, cost: bool) -> str:
        head = ["Team"] + (["GPU-hours", "Soft limit", "Hard limit", "Status"] if gpu else [])
        head += ["Cost"] if cost else []
        rows = []
        for t in self.teams:
            row = [t.team]
            if gpu:
                row += [f"{t.gpu_hours:,.1f}", _limit(t.soft), _limit(t.hard), t.status]
            if cost:
                row.append(money(t.cost, t.currency))
            rows.append(row)
        what = " and ".join(w for w, on in (("GPU-hours", gpu), ("cost", cost)) if on)
        title = f"**{what[0].upper()}{what[1:]} per team, {self.period_label}**"
        if not rows:
            return f"{title}\n\nNo teams."
        return f"{title}\n\n{_table(head, rows)}"

    def _promotions_markdown(self) -> str:
        title = (f"**Promotions decided {self.window_text}**: {self.approved} approved, "
                 f"{self.rejected} rejected")
        if not self.promotions:
            return title
        rows = [[p.version, p.target, p.outcome, p.by, p.at[:10]] for p in self.promotions]
        return f"{title}\n\n{_table(['Version', 'Alias', 'Decision', 'By', 'On'], rows)}"

    def _findings_markdown(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.findings.by_severity)
        text = f"**Open access findings**: {counts}"
        if self.findings.unjudged:
            text += ("\n\nNot judged with this identity's access: "
                     + "; ".join(md_escape(t) for t in self.findings.unjudged))
        return text


def team_figures(report: UsageReport, teams: Iterable[str] = ()) -> tuple[TeamFigures, ...]:
    """Each team's GPU-hours and cost as `wbadmin quotas` reports them (all teams, or the
    ones named, in the report's order)."""
    wanted = set(teams)
    return tuple(TeamFigures(t.team, t.gpu_hours.used, t.gpu_hours.limit.soft,
                             t.gpu_hours.limit.hard, t.gpu_hours.status, t.cost,
                             t.rules.currency, tuple(t.daily),
                             min(t.period.days, int(t.period.elapsed_days(report.now)) + 1))
                 for t in report.teams if not wanted or t.team in wanted)


def decided_promotions(cache: Cache, since: float, until: float
                       ) -> tuple[PromotionDecision, ...]:
    """Promotion requests decided (approved or rejected) in [since, until], newest first,
    from the cached versions' promotion records. A record is counted once even when its
    version is linked into more than one collection."""
    seen: set[str] = set()
    out = []
    rows = cache.query("SELECT registry, collection, version_index, metadata FROM versions "
                       "ORDER BY registry, collection, version_index")
    for row in rows:
        try:
            record = parse_record(json.loads(row["metadata"] or "{}"))
        except Exception:  # a malformed record: the Promotions screen reports it, not us
            continue
        if record is None or record.status not in DECIDED or not record.decided_at:
            continue
        key = record.id or f"{row['registry']}/{row['collection']}:{row['version_index']}"
        if key in seen:
            continue
        try:
            at = clock.parse_iso(record.decided_at)
        except ValueError:
            continue
        if since <= at <= until:
            seen.add(key)
            out.append(PromotionDecision(
                f"{row['registry']}/{row['collection']}:v{row['version_index']}",
                record.target, DECIDED[record.status], record.decided_by or "",
                record.decided_at))
    return tuple(sorted(out, key=lambda p: p.at, reverse=True))


def finding_figures(found: Iterable[Finding]) -> FindingFigures:
    """Open items per severity, as `wbadmin access findings` lists them for this identity."""
    counts = dict.fromkeys(SEVERITIES, 0)
    unjudged = []
    for f in found:
        if f.shown_count is None:
            unjudged.append(f.title)
        else:
            counts[f.severity] = counts.get(f.severity, 0) + f.count
    return FindingFigures(tuple(counts.items()), tuple(unjudged))


def gather(report: UsageReport, cache: Cache, found: Iterable[Finding], *, since: float,
           until: float, teams: Iterable[str] = ()) -> Figures:
    label = report.teams[0].period.label if report.teams else "this period"
    return Figures(label, since, until, report.now, team_figures(report, teams),
                   decided_promotions(cache, since, until), finding_figures(found),
                   tuple(report.warnings))


def period_window(report: UsageReport) -> tuple[float, float] | None:
    """The quota period the report is of, up to now (a past period: to its end): the default
    window of the promotions counted. None without teams (no period)."""
    if not report.teams:
        return None
    period = report.teams[0].period
    return period.start_ts, min(report.now, period.end_ts)


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(md_escape(h) for h in head) + " |",
             "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def md_escape(text: str) -> str:
    """Team names and titles are user data: keep them from breaking a table or adding
    markup (HTML in markdown would render in W&B's report)."""
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\n", " "))


def _limit(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
