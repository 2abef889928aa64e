"""The Explorer's detail pane: what the selected org, team, project, registry, collection
or person is, who has access, and what is happening there. Reads the cache only."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from ...core import explorer as X
from ...core import humanize
from ...core.access import people as P
from ...core.cache import Cache
from ..locations import Location
from .fit_columns import FitTable

INACTIVE_DAYS = 30


class DetailPane(VerticalScroll):
    """A title, a summary, one table and notes; rewritten on every selection."""

    def __init__(self, cache: Cache, clock: Callable[[], float], **kwargs) -> None:
        super().__init__(**kwargs)
        self.cache = cache
        self.clock = clock
        self.location: Location | None = None
        self.row_keys: list[str] = []  # what each table row is (username, version, ...)

    def compose(self) -> ComposeResult:
        yield Static(id="detail-summary")
        yield FitTable(id="detail-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="detail-full")  # what the highlighted row's cut cells hold in full
        yield Static(id="detail-notes")

    @property
    def table(self) -> DataTable:
        return self.query_one("#detail-table", DataTable)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_full_row()

    def on_fit_table_refitted(self, event: FitTable.Refitted) -> None:
        self.show_full_row()

    def show_full_row(self) -> None:
        """A long value cut with an ellipsis in the table is shown whole under it."""
        table = self.query_one("#detail-table", FitTable)
        line = Text()
        for label, full in table.cut_cells(table.cursor_row):
            if line:
                line.append("  ")
            line.append(f"{label or 'status'} ", style="dim")
            line.append(full)
        full_row = self.query_one("#detail-full", Static)
        full_row.update(line)
        full_row.display = bool(line)

    def selected_key(self) -> str | None:
        row = self.table.cursor_row
        return self.row_keys[row] if 0 <= row < len(self.row_keys) else None

    def show(self, location: Location) -> None:
        self.location = location
        self.border_title = location.title()
        table = self.table
        table.clear(columns=True)
        self.row_keys = []
        render = {
            "org": self._org, "team": self._team, "project": self._project,
            "registries": self._registries, "registry": self._registry,
            "collection": self._collection, "user": self._user,
        }.get(location.kind)
        summary, notes = render(location) if render else (Text(""), Text(""))
        self.query_one("#detail-summary", Static).update(summary)
        self.query_one("#detail-notes", Static).update(notes)
        table.display = table.row_count > 0
        self.show_full_row()

    def _ago(self, ts: float | None) -> str:
        return humanize.ago(ts, self.clock())

    # ---- kinds ---------------------------------------------------------------------------

    def _org(self, _: Location) -> tuple[Text, Text]:
        s = X.org_summary(self.cache)
        summary = Text.assemble(
            (f"{s.teams} teams", "bold"), " · ", f"{s.users} people", " · ",
            f"{s.projects:,} projects", " · ", f"{s.registries} registries")
        t = self.table
        t.add_columns("team", "people", "svc accts", "projects", "storage", "last activity")
        for team in X.teams(self.cache):
            t.add_row(Text(team.name), str(team.people),
                      str(team.service_accounts),
                      humanize.count(team.projects), humanize.size(team.storage_bytes),
                      self._ago(team.last_activity_at))
            self.row_keys.append(team.name)
        return summary, Text("enter on a team in the tree opens it", style="dim")

    def _team(self, loc: Location) -> tuple[Text, Text]:
        detail = X.team_detail(self.cache, loc.team or "")
        if detail is None:
            return Text("This team is not in the cache: press r to refresh.",
                        style="yellow"), Text()
        team = detail.team
        if not team.readable:
            return Text("You may not read this team's members.", style="yellow"), Text()
        summary = Text.assemble(
            (humanize.plural(team.people, "member"), "bold"), " · ",
            humanize.plural(team.service_accounts, "service account"), " · ",
            humanize.plural(team.projects or 0, "project"), " · ",
            humanize.size(team.storage_bytes), "\n",
            ("last activity ", "dim"), self._ago(team.last_activity_at), " ago" if
            team.last_activity_at else "")
        if not detail.admins:
            summary.append("\n⚠ no admin: nobody can manage this team", style="bold red")
        elif len(detail.admins) == 1:
            summary.append(f"\n⚠ single admin ({detail.admins[0].username})", style="yellow")
        t = self.table
        t.add_columns("member", "role", "last active", "", "email")
        now = self.clock()
        for m in detail.members:
            note = Text()
            if m.service_account:
                note.append("⚙ service account", style="dim")
            elif not m.active:
                note.append("✕ deactivated", style="red")
            elif m.last_active_at and now - m.last_active_at > INACTIVE_DAYS * 86400:
                note.append("⚠ inactive", style="yellow")
            role = Text(m.role, style="bold" if m.role == "admin" else "")
            if m.custom:
                role.append(" (custom)", style="dim")
            t.add_row(Text(m.username), role,
                      "—" if m.service_account else self._ago(m.last_active_at), note,
                      Text(m.email or "—"))
            self.row_keys.append(m.username)
        notes = Text()
        if detail.invites:
            notes.append("Pending invites  ", style="bold")
            for inv in detail.invites:
                who = inv.email or inv.username or inv.id
                age = f" ({self._ago(inv.created_at)})" if inv.created_at else ""
                notes.append(f"{who}{age}  ")
        return summary, notes

    def _project(self, loc: Location) -> tuple[Text, Text]:
        detail = X.project_detail(self.cache, loc.team or "", loc.name or "")
        if detail is None:
            return Text("This project is not in the cache: press r to refresh.",
                        style="yellow"), Text()
        p = detail.project
        summary = Text.assemble(
            ("visibility ", "dim"), (p.access or "unknown", "bold"), f"  ({detail.access_note})\n",
            ("owner ", "dim"), p.owner or "—", ("   runs ", "dim"), humanize.count(p.run_count),
            *self._last_run(p),
            "\n", ("created ", "dim"), self._ago(p.created_at), " ago" if p.created_at else "",
            ("   storage ", "dim"),
            # W&B's API reports storage per team only (entity.storageBytes).
            humanize.size(p.storage_bytes) if p.storage_bytes is not None
            else Text("per team only", style="dim italic"))
        t = self.table
        t.add_columns("who has access", "role", "via")
        for m in detail.who:
            t.add_row(Text(m.username), m.role, f"team {p.team}")
            self.row_keys.append(m.username)
        return summary, Text()

    def _last_run(self, p: X.ProjectRow) -> tuple[tuple[str, str], str]:
        if p.last_run_at:
            return ("   last run ", "dim"), f"{self._ago(p.last_run_at)} ago"
        if p.updated_at:  # the full sync does not fetch runs; r on the team does
            return ("   updated ", "dim"), f"{self._ago(p.updated_at)} ago"
        return ("   last run ", "dim"), "—"

    def _registries(self, _: Location) -> tuple[Text, Text]:
        regs = X.registries(self.cache)
        t = self.table
        t.add_columns("registry", "collections")
        for name, n in regs:
            t.add_row(Text(name), str(n))
            self.row_keys.append(name)
        return Text(f"{len(regs)} registries", style="bold"), Text()

    def _registry(self, loc: Location) -> tuple[Text, Text]:
        name = loc.name or ""
        colls = X.collections(self.cache, name)
        pending = sum(1 for c in colls for v in X.versions(self.cache, name, c.name)
                      if any(tag.startswith("promote-to-") for tag in v.tags))
        summary = Text.assemble((f"{len(colls)} collections", "bold"),
                                f" · {pending} pending promotion requests")
        t = self.table
        t.add_columns("member", "kind", "registry role")
        for kind, who, role in X.registry_members(self.cache, name):
            t.add_row(Text(who), kind, role)
            self.row_keys.append(f"{kind}:{who}")
        return summary, Text()

    def _collection(self, loc: Location) -> tuple[Text, Text]:
        versions = X.versions(self.cache, loc.registry or "", loc.name or "")
        holders = {a: v.index for v in versions for a in v.aliases}
        summary = Text.assemble((f"{len(versions)} versions", "bold"))
        for alias in ("production", "staging"):
            if alias in holders:
                summary.append(f" · {alias} v{holders[alias]}")
        t = self.table
        t.add_columns("version", "aliases", "tags", "created", "promotion")
        for v in versions:
            request = (v.metadata.get("wbadmin") or {}).get("promotion") or {}
            promo = Text()
            if request.get("status") == "pending":
                promo.append(f"→ {request.get('target')} by {request.get('requested_by')}",
                             style="yellow")
            t.add_row(f"v{v.index}", Text(", ".join(v.aliases)), Text(", ".join(v.tags)),
                      self._ago(v.created_at), promo)
            self.row_keys.append(str(v.index))
        return summary, Text()

    def _user(self, loc: Location) -> tuple[Text, Text]:
        username = loc.name or ""
        # The same read model as the Access screen and `wbadmin access user`.
        person = P.find_person(self.cache, username)
        if person is None:
            return Text(f"{username} is not in the cache (SCIM lists people for org admins).",
                        style="yellow"), Text()
        # Without SCIM the person is known from team member lists only: no org role, seat or
        # activity, which is said rather than shown as "active".
        known = person.service_account or person.org_role is not None
        summary = Text.assemble(
            (person.name or username, "bold"), f"  {person.email or ''}\n",
            ("org role ", "dim"), (person.org_role or "—", "bold"), ("   seat ", "dim"),
            person.seat or "—", ("   status ", "dim"), person.status if known else "—",
            ("   last active ", "dim"), self._ago(person.last_active_at))
        if not known:
            summary.append("\norg role, seat and activity: SCIM lists people for org admins "
                           "only", style="yellow")
        t = self.table
        t.add_columns("team", "role")
        for team, role in sorted(person.teams.items()):
            t.add_row(Text(team), role)
            self.row_keys.append(team)
        regs = [f"{r}:{role}" for r, role in person.registries.items()]
        notes = Text.assemble(("registries ", "dim"), ", ".join(regs) or "—")
        return summary, notes
