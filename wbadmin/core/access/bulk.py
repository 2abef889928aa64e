"""Bulk access changes: one change for many marked people, or a CSV of `email,team,role`.

Either way the result is one Plan with an outcome line per input row. Any bad row (reported by
line: malformed email, unknown user, team or role, a duplicate) makes the whole plan empty:
a file with a bad row applies nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..changes import Change, Outcome, Plan
from . import guards
from .people import EMAIL, AccessError
from .plans import AccessService

HEADER = ("email", "team", "role")


@dataclass
class Row:
    """One input row (a CSV line, or one marked person) and what became of it."""

    line: int
    who: str
    team: str = ""
    role: str = ""
    error: str | None = None
    changes: list[Change] = field(default_factory=list)
    outcome: str = ""   # after planning: the plan line(s); after applying: ✓/✗ results

    @property
    def action(self) -> str:
        if self.error:
            return f"error: {self.error}"
        if not self.changes:
            return "no change"
        return "; ".join(c.summary() for c in self.changes)


@dataclass
class BulkPlan:
    plan: Plan
    rows: list[Row]

    @property
    def errors(self) -> list[Row]:
        return [r for r in self.rows if r.error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_lines(self) -> list[str]:
        return [f"line {r.line}: {r.error}" for r in self.errors]

    def record(self, outcomes: Iterable[Outcome]) -> None:
        """Attach applied outcomes to the rows that asked for them."""
        by_change = {id(o.change): o for o in outcomes}
        for row in self.rows:
            results = [by_change[id(c)] for c in row.changes if id(c) in by_change]
            if results:
                row.outcome = "; ".join(("✓ " if o.ok and o.verified is not False else "✗ ")
                                        + (o.result if not o.ok else o.change.summary())
                                        for o in results)


def _finish(title: str, rows: list[Row]) -> BulkPlan:
    plan = Plan(title=title)
    if not any(r.error for r in rows):
        for row in rows:
            for change in row.changes:
                plan.add(change)
    return BulkPlan(plan, rows)


def _plan_row(service: AccessService, row: Row, make: Callable[[], Plan],
              seen: set[str]) -> None:
    try:
        plan = make()
        guards.check_rules(service.cache, plan)  # W&B's custom-role rule, per row
        changes = plan.changes
    except AccessError as exc:
        row.error = str(exc)
        return
    for change in changes:
        if change.target in seen:
            row.error = f"{change.target} appears twice"
            return
        seen.add(change.target)
    row.changes = changes


# ---- marked people --------------------------------------------------------------------------

ACTIONS = ("set_team_role", "add_to_team", "remove_from_team", "set_org_role", "deactivate",
           "reactivate")


def plan_marked(service: AccessService, people: list[str], action: str, *,
                team: str = "", role: str = "") -> BulkPlan:
    """One change (`action`, see ACTIONS) for each marked person."""
    if action not in ACTIONS:
        raise AccessError(f"unknown bulk action {action!r}; one of {', '.join(ACTIONS)}")
    calls: dict[str, Callable[[str], Plan]] = {
        "set_team_role": lambda u: service.set_team_role(team, u, role),
        "add_to_team": lambda u: service.add_to_team(team, u, role or "member"),
        "remove_from_team": lambda u: service.remove_from_team(team, u),
        "set_org_role": lambda u: service.set_org_role(u, role),
        "deactivate": service.deactivate,
        "reactivate": service.reactivate,
    }
    rows, seen = [], set()
    for i, username in enumerate(dict.fromkeys(people), 1):
        row = Row(i, username, team, role)
        _plan_row(service, row, lambda u=username: calls[action](u), seen)
        rows.append(row)
    what = action.replace("_", " ") + (f" {team}" if team else "") + (f" {role}" if role else "")
    return _finish(f"{what} for {len(rows)} people", rows)


# ---- CSV ------------------------------------------------------------------------------------

def parse_csv(text: str) -> list[Row]:
    """Rows of `email,team,role` (a header line is optional; blank and # lines are skipped)."""
    rows: list[Row] = []
    for number, cells in enumerate(csv.reader(io.StringIO(text)), 1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not rows and tuple(c.lower() for c in cells) == HEADER:
            continue
        if len(cells) != 3:
            rows.append(Row(number, ",".join(cells), error=f"expected 3 columns "
                            f"(email,team,role), got {len(cells)}"))
            continue
        email, team, role = cells
        row = Row(number, email, team, role)
        if not EMAIL.match(email):
            row.error = f"malformed email {email!r}"
        elif not team or not role:
            row.error = "team and role must not be empty"
        rows.append(row)
    return rows


def plan_csv(service: AccessService, text: str) -> BulkPlan:
    """Each row puts the user in the team with the role (adding them when not a member)."""
    rows = parse_csv(text)
    if not rows:
        raise AccessError("the CSV holds no rows (expected email,team,role)")
    seen: set[str] = set()
    first: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.error is not None:
            continue
        key = (row.who.lower(), row.team)
        if key in first:
            row.error = f"{row.who} in {row.team} is already on line {first[key]}"
            continue
        first[key] = row.line
        _plan_row(service, row, lambda r=row: service.add_to_team(r.team, r.who, r.role), seen)
    return _finish(f"Apply {len(rows)} CSV rows", rows)
