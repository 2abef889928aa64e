"""Bulk access changes: one change for many marked people, or a CSV of `email,team,role`.

Either way the result is one Plan with an outcome line per input row. Any bad row (reported by
line: malformed email, unknown user, team or role, a duplicate) makes the whole plan empty:
a file with a bad row applies nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .. import csvfile
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

MAX_CSV_BYTES = 20 * 1024 * 1024


class BadCsv(AccessError):
    """The file is not a CSV wbadmin can read: `line` (None: the file as a whole) and why."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason, "bad_data")
        self.line, self.reason = line, reason


def decode_csv(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (a BOM allowed), or UTF-16 with its BOM (as Excel saves
    "Unicode text"). Anything else is a BadCsv saying where it stops being text."""
    if len(data) > MAX_CSV_BYTES:
        raise BadCsv(None, f"the file is {len(data) // (1024 * 1024)} MB; the most a CSV may "
                           f"be is {MAX_CSV_BYTES // (1024 * 1024)} MB")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BadCsv(None, f"not UTF-16 text after its byte-order mark ({exc.reason})"
                         ) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise BadCsv(line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the "
                               "file as UTF-8 CSV") from None
    if "\x00" in text:
        raise BadCsv(text.count("\n", 0, text.index("\x00")) + 1,
                     "not a text file (it holds a NUL byte)")
    return text


def parse_csv(text: str) -> list[Row]:
    """Rows of `email,team,role`. The first row is the header `email,team,role` or already a
    row of data (an email first); blank and # lines are skipped. A quote left open or a
    field longer than the csv module allows ends the file with a row that says so."""
    rows: list[Row] = []
    first = True
    try:
        for number, cells in csvfile.rows(text):
            cells = [c.strip() for c in cells]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if first:
                first = False
                if tuple(c.lower() for c in cells) == HEADER:
                    continue
                if not EMAIL.match(cells[0]):
                    rows.append(Row(number, ",".join(cells), error=(
                        "the first row must be the header email,team,role or a row of data "
                        f"(an email first), not {','.join(cells)!r}")))
                    continue
            rows.append(_row(number, cells))
    except csvfile.CsvProblem as exc:
        rows.append(Row(exc.line, "", error=exc.reason))
    return rows


def _row(number: int, cells: list[str]) -> Row:
    if len(cells) != 3:
        return Row(number, ",".join(cells), error=f"expected 3 columns (email,team,role), "
                                                  f"got {len(cells)}")
    email, team, role = cells
    row = Row(number, email, team, role)
    if not EMAIL.match(email):
        row.error = f"malformed email {email!r}"
    elif not team or not role:
        row.error = "team and role must not be empty"
    return row


def plan_csv(service: AccessService, text: str) -> BulkPlan:
    """Each row puts the user in the team with the role (adding them when not a member)."""
    rows = parse_csv(text)
    if not rows:
        raise BadCsv(None, "the CSV holds no rows (expected email,team,role)")
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
