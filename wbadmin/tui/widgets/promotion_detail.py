"""The detail pane of the Promotions screen: one request — who asked and why, the policy
status (approvals, gates, why an approval is not possible yet), the version now holding the
target alias, a side-by-side diff of metadata and metrics, lineage, and the record's history."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...core import humanize
from ...core.promotions.metrics import percent_text, regressions
from ...core.promotions.views import Detail
from ...core.wire_time import parse_time


class PromotionDetail(VerticalScroll):
    """Renders a `Detail` (from the cache first, then from the live service)."""

    def compose(self):
        yield Static(id="promo-body")

    def show(self, detail: Detail | None, now: float, *, live: bool,
             note: str = "") -> None:
        body = self.query_one("#promo-body", Static)
        if detail is None or detail.record is None:
            self.border_title = "Request"
            body.update(Text(note or "No pending promotion requests: nothing to decide.",
                             style="dim"))
            return
        v, r = detail.version, detail.record
        self.border_title = f"{v.ref.collection}:{v.version} → {r.target}"
        self.border_subtitle = f"{v.ref.registry} registry" + ("" if live else " · cached")
        body.update(Group(self._request(detail, now), Text(""), self._policy(detail, live),
                          Text(""), self._diff(detail), Text(""), self._lineage(detail, live),
                          Text(""), self._history(detail),
                          *([Text(note, style="dim")] if note else [])))

    # ---- sections ------------------------------------------------------------------------

    @staticmethod
    def _request(detail: Detail, now: float) -> Text:
        r, v = detail.record, detail.version
        assert r is not None
        text = Text()
        text.append("requested by ", style="dim")
        text.append(r.requested_by, style="bold")
        asked = parse_time(r.requested_at)
        text.append(f", {humanize.ago(asked, now)} ago", style="dim")
        text.append(f": “{r.comment}”" if r.comment else ": (no comment)")
        if r.ticket:
            text.append("  ticket ", style="dim")
            text.append(r.ticket)
        text.append("\n")
        text.append("aliases  ", style="dim")
        text.append(", ".join(v.aliases) or "—")
        text.append("\n")
        holder = detail.holder
        text.append(f"{r.target} now on  ", style="dim")
        if holder is None:
            text.append("no version (the alias is unset)")
        else:
            text.append(holder.version, style="bold")
            if holder.created_at:
                text.append(f"  (created {holder.created_at[:10]})", style="dim")
        return text

    @staticmethod
    def _policy(detail: Detail, live: bool) -> Text:
        text = Text()
        status, rules, r = detail.policy, detail.target, detail.record
        assert r is not None
        if status is None or rules is None:
            text.append(f"policy  ✗ {r.target} is not a promotion target in the policy",
                        style="yellow")
            return text
        gates_ok = sum(1 for g in status.gates if g.ok)
        text.append("policy  ", style="dim")
        text.append(f"{status.have} of {status.need} approvals", style="bold")
        text.append(f" ({rules.approvers_text()})", style="dim")
        if status.gates:
            mark = "✓" if gates_ok == len(status.gates) else "✗"
            text.append(f" · gates {gates_ok}/{len(status.gates)} {mark}",
                        style="green" if mark == "✓" else "red")
        for g in status.gates:
            text.append("\n  ")
            if g.ok:
                text.append(f"✓ {g.gate}", style="green")
                text.append(f"  ({g.actual})", style="dim")
            else:
                text.append(f"✗ {g.gate}", style="red")
                text.append(f"  {g.why}", style="dim")
        for problem in status.field_problems:
            text.append(f"\n  ✗ {problem}", style="red")
        for a in r.approvals:
            text.append(f"\n  ✓ approved by {a.by} at {a.at}", style="green")
            if a.comment:
                text.append(f": {a.comment}")
        text.append("\n")
        if detail.actor is None:
            text.append("you: unknown identity", style="dim")
        elif detail.why_not:
            text.append(f"{detail.actor.username} cannot approve: ", style="yellow")
            text.append(detail.why_not[0], style="yellow")
        else:
            after = status.have + (0 if r.approved_by(detail.actor.username) else 1)
            text.append(f"{detail.actor.username} can approve", style="green")
            if after >= status.need and status.checks_pass:
                text.append(f": that moves {r.target} to {detail.version.version}"
                            if detail.actor.registry_admin else
                            ": the move then waits for a registry admin", style="dim")
            else:
                text.append(f" ({after} of {status.need} after yours)", style="dim")
        if not live:
            text.append("  (from the cache)", style="dim")
        return text

    @staticmethod
    def _diff(detail: Detail) -> Table | Group:
        holder, v = detail.holder, detail.version
        table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False,
                      header_style="bold", expand=True)
        width = max([len(row["key"]) for row in detail.diff] + [8])
        table.add_column("metadata", style="dim", no_wrap=True, min_width=width)
        current = f"{holder.version} ({detail.record.target})" if holder and detail.record \
            else "no holder"
        table.add_column(current, no_wrap=True, overflow="ellipsis", ratio=1)
        table.add_column(f"{v.version} (candidate)", no_wrap=True, overflow="ellipsis",
                         ratio=1)
        diff = detail.diff
        for row in diff:
            cell = _cell(row["candidate"])
            marker, style = _marker(row)
            if marker:
                cell.append(" " + marker, style=style)
            table.add_row(row["key"], _cell(row["current"]), cell)
        if v.run or (holder and holder.run):
            table.add_row("run", _run(holder.run if holder else None), _run(v.run))
        regressed = regressions(diff)
        if not regressed:
            return table
        note = Text("✗ regressions ", style="bold red")
        note.append(f"(worse than {holder.version if holder else 'the holder'} by more than "
                    f"{detail.metrics.regression_percent:g}%): ", style="red")
        note.append(", ".join(regressed), style="bold red")
        return Group(table, note)

    @staticmethod
    def _lineage(detail: Detail, live: bool) -> Text:
        run = detail.version.run
        text = Text()
        text.append("lineage  ", style="dim")
        if run:
            text.append("run ")
            text.append(str(run.get("name")), style="bold")
            text.append(f" · team {run.get('entity')} · project {run.get('project')}")
        elif live:
            text.append("no producing run recorded")
        else:
            text.append("loading from W&B… (the cache keeps no lineage)", style="dim")
        return text

    @staticmethod
    def _history(detail: Detail) -> Text:
        r = detail.record
        assert r is not None
        text = Text()
        text.append("history", style="dim")
        if not r.history:
            text.append(f"\n  {r.requested_at}  request  {r.requested_by}", style="dim")
            if r.comment:
                text.append(f": {r.comment}", style="dim")
        for item in r.history[-8:]:
            why = item.get("reason") or item.get("comment") or ""
            text.append(f"\n  {item.get('at')}  {item.get('action')}  {item.get('by')}")
            if why:
                text.append(f": {why}", style="dim")
        return text


def _cell(value: Any) -> Text:
    if value is None:
        return Text("—", style="dim")
    return Text(str(value), overflow="ellipsis", no_wrap=True)


def _marker(row: dict[str, Any]) -> tuple[str, str]:
    """(marker, style) for a diff row: ▲ / ▼ where a number went up or down from the current
    holder, with the word for it (better green, worse red; a regression bold red with its
    relative size), since up is not better for a loss; ≠ for other changes."""
    candidate, current, change = row["candidate"], row["current"], row["change"]
    if change is None:
        return ("≠" if candidate != current and current is not None else "", "bold")
    if change == "same":
        return "", ""
    arrow = "▲" if candidate > current else "▼"
    if row["regression"]:  # the size says how far; the note under the table names it
        return f"{arrow} {percent_text(row['relative'])}", "bold red"
    return f"{arrow} {change}", "green" if change == "better" else "red"


def _run(run: dict[str, Any] | None) -> Text:
    if not run:
        return Text("—", style="dim")
    return Text(f"{run.get('name')} ({run.get('entity')})", overflow="ellipsis", no_wrap=True)
