"""Screen 2, Access: people across the org (roles, teams, registries, activity) beside the
access findings; marks for bulk changes; every change through a plan. `v` shows the service
accounts instead (their rows and detail: tui/access_sa_rows.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from ...core import humanize
from ...core.access import people as P
from ...core.access import service_accounts as sa
from .. import access_sa_rows as SA
from ..widgets.api_log import ApiLog
from ..widgets.fast_table import FastTable
from ..widgets.fit_columns import FitTable
from ..widgets.footer import WbFooter
from ..widgets.header import ShellHeader

if TYPE_CHECKING:
    from ...core.access.findings import Finding
    from ...core.cache import Cache
    from ..app import WbAdminApp

PAGE = 60  # rows loaded at once (more as the cursor reaches the end); the filter runs in SQL
# Changes W&B makes through SCIM only (roles, deactivation): greyed on a server without it.
SCIM_ACTIONS = ("team_role", "org_role", "toggle_active")
# Findings whose fix is rotating an account's key (`f` starts K's flow on the first).
ROTATE_FINDINGS = ("service-account-keys-old", "service-account-keys-unknown-age")
SEVERITY_STYLE = SA.SEVERITY_STYLE  # the findings table and the account detail agree
PEOPLE, SERVICE_ACCOUNTS = "people", "service accounts"  # the views of the left table
PEOPLE_HINT = "filter people by name, username or email…"


class AccessScreen(Screen):
    PANES = "#people-pane, #findings"  # Tab / Shift+Tab move between these
    BINDINGS = [
        Binding("slash", "filter", "filter", id="access.filter"),
        Binding("space", "mark", "mark", id="access.mark"),
        Binding("e", "team_role", "team role", id="access.team_role"),
        Binding("a", "add_to_team", "add to team", id="access.add"),
        Binding("x", "remove_from_team", "remove", id="access.remove"),
        Binding("g", "org_role", "org role", id="access.org_role"),
        Binding("d", "toggle_active", "(de)activate", id="access.deactivate"),
        Binding("f", "fix_finding", "fix finding", id="access.fix"),
        Binding("s", "sort", "sort", id="access.sort"),
        Binding("L", "load_csv", "load CSV", id="access.csv"),
        Binding("r", "refresh", "refresh", id="access.refresh"),
        Binding("v", "switch_view", "people/SAs", id="access.view"),
        Binding("K", "rotate_key", "rotate key", id="access.rotate"),
        Binding("escape", "clear_filter", "back", show=False),
    ]

    app: WbAdminApp

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[P.Person] = []
        self.marked: set[str] = set()
        self.found: list[Finding] = []
        self.sort = "username"
        self.limit = PAGE
        self.matching = 0
        self._shown_person: str | None = None
        self.view = PEOPLE
        self.accounts: list[sa.ServiceAccount] = []  # the service-account view's rows
        self.inventory: sa.Inventory | None = None

    def compose(self) -> ComposeResult:
        yield ShellHeader(id="header")
        with Horizontal(id="access"):
            with Vertical(id="people-pane"):
                yield Input(placeholder=PEOPLE_HINT, id="people-filter")
                yield Static(id="people-count")
                yield FastTable(id="people")
            with Vertical(id="access-side"):
                yield FitTable(id="findings", cursor_type="row")
                yield Static(id="person-detail")
        yield ApiLog(id="api-log")
        yield WbFooter()

    def on_mount(self) -> None:
        box = self.query_one("#people-filter", Input)
        box.display = False
        # Filter as the value changes, inside the keystroke: the echo and the list it selects
        # reach the screen in one frame (Input.Changed would arrive after the echo's frame).
        self.watch(box, "value", self._filtered, init=False)
        self.query_one("#findings").border_title = "Findings"
        self.query_one("#people-pane").border_title = "People"
        self.query_one(ApiLog).display = self.app.api_log_visible
        self.reload()
        self.query_one("#people", FastTable).focus()

    def on_screen_resume(self) -> None:
        self.reload()

    @property
    def table(self) -> FastTable:
        return self.query_one("#people", FastTable)

    # ---- data ----------------------------------------------------------------------------

    def reload(self) -> None:
        self._load_list()
        self._load_findings()

    def _load_list(self) -> None:
        if self.view == SERVICE_ACCOUNTS:
            self._load_service_accounts()
        else:
            self._load_people()

    def _load_people(self, limit: int = PAGE) -> None:
        """(Re)load the first `limit` matching people; rows already shown are not redrawn
        when the load only adds more of the same list."""
        text = self.query_one("#people-filter", Input).value.strip()
        self.limit = limit
        window = P.people_window(self.app.session.cache, text, limit=limit, sort=self.sort)
        table = self.table
        keep = table.cursor_row
        growing = limit > PAGE and [p.username for p in window.rows[:len(self.rows)]] == \
            [p.username for p in self.rows]
        if not growing:
            table.clear(columns=not table.columns)
            if not table.columns:
                table.add_columns(" ", "user", "org role", "seat", "last active", "teams",
                                  "registries")
        if not growing and table.columns[0] != " ":  # coming back from the other view
            table.clear(columns=True)
            table.add_columns(" ", "user", "org role", "seat", "last active", "teams",
                              "registries")
        new = window.rows[len(self.rows):] if growing else window.rows
        self.rows, self.matching = window.rows, window.matching
        self._add_rows(new)
        table.move_cursor(row=min(keep, max(0, len(self.rows) - 1)), announce=False)
        pane = self.query_one("#people-pane")
        shown = f"{len(window.rows):,} of {window.matching:,}"
        if window.matching != window.total:
            shown += f" (of {window.total:,})"
        # A one-line Static, not the border title: retitling the pane costs a full repaint.
        self.query_one("#people-count", Static).update(
            Text.assemble((shown, "bold"), (f" · by {self.sort.replace('_', ' ')}", "dim")),
            layout=False)  # one line of fixed height: no reflow of the screen
        pane.border_subtitle = f"{len(self.marked)} marked" if self.marked else ""
        # The list first; the person's reach (more queries) once the list is on screen.
        self._shown_person = None
        self.call_after_refresh(self._show_person)

    def _add_rows(self, people: list[P.Person]) -> None:
        now = self.app.clock()
        rows = []
        for p in people:
            mark = Text("◉", style="bold") if p.username in self.marked else Text(" ")
            name = Text(p.username)
            if p.service_account:
                name.append(" ⚙", style="dim")
            elif not p.active:
                name.append(" ✕", style="red")
            teams = Text(" ".join(f"{t}:{r}" for t, r in p.teams.items()) or "—")
            regs = Text(" ".join(f"{r}:{v}" for r, v in p.registries.items()) or "—")
            last = "—" if p.service_account else humanize.ago(p.last_active_at, now)
            rows.append((mark, name, p.org_role or "—", p.seat or "—", last, teams, regs))
        self.table.add_rows(rows, [p.username for p in people])

    def _load_service_accounts(self) -> None:
        """The service accounts the cache knows (a handful: loaded whole), the cursor kept on
        the account it was on."""
        table = self.table
        was = self.selected_service_account()
        self.inventory = found = sa.inventory(self.app.session.cache)
        text = self.query_one("#people-filter", Input).value.strip()
        self.accounts = SA.matching(found, text)
        table.clear(columns=True)
        table.add_columns(*SA.COLUMNS)
        now = self.app.clock()
        table.add_rows([SA.row(a, now) for a in self.accounts],
                       [a.username for a in self.accounts])
        names = [a.username for a in self.accounts]
        table.move_cursor(row=names.index(was) if was in names else 0, announce=False)
        shown = f"{len(self.accounts):,} of {len(found.accounts):,}"
        self.query_one("#people-count", Static).update(
            Text.assemble((shown, "bold"), (" · service accounts, by name", "dim")),
            layout=False)
        self.query_one("#people-pane").border_subtitle = ""
        self._shown_person = None
        self.call_after_refresh(self._show_person)

    def _load_findings(self) -> None:
        from ...core.access.findings import findings
        from ...core.access.plans import AccessService

        service = AccessService(self.app.session.cache)
        table = self.query_one("#findings", DataTable)
        table.clear(columns=True)
        table.add_columns("", "finding", "n")  # sized to the short titles
        try:
            self.found = findings(service, self.app.session.settings.access,
                                  now=self.app.clock(), journal=self.app.session.journal)
        except Exception as exc:  # a finding that cannot be computed is reported, not fatal
            self.found = []
            table.add_row(Text("—"), Text(f"findings unavailable: {exc}"), "")
            return
        for f in self.found:  # one the viewer cannot judge shows "?", never 0
            table.add_row(Text(f"● {f.severity}", style=SEVERITY_STYLE[f.severity]
                               if not f.hidden else "dim"),
                          Text(f.short, style="dim" if f.hidden else ""),
                          "?" if f.shown_count is None else str(f.count))
        if not self.found:
            table.add_row(Text("✓", style="green"), Text("nothing to report"), "")

    def crumbs(self) -> list[str]:
        """The header's breadcrumb: the screen, and the person (or account) its detail shows."""
        shown = [self._shown_person] if self._shown_person else []
        if self.view == SERVICE_ACCOUNTS:
            shown = ["service accounts", *shown]
        return [self.app.org or "organization", "access", *shown]

    def selected(self) -> P.Person | None:
        """The person under the cursor (none in the service-account view)."""
        row = self.table.cursor_row
        if self.view != PEOPLE:
            return None
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def selected_service_account(self) -> str | None:
        """The username of the service account under the cursor (the service-account view)."""
        row = self.table.cursor_row
        if self.view != SERVICE_ACCOUNTS or not 0 <= row < len(self.accounts):
            return None
        return self.accounts[row].username

    def action_switch_view(self) -> None:
        self.view = SERVICE_ACCOUNTS if self.view == PEOPLE else PEOPLE
        self.query_one("#people-pane").border_title = \
            "Service accounts" if self.view == SERVICE_ACCOUNTS else "People"
        self.query_one("#people-filter", Input).placeholder = \
            SA.FILTER_HINT if self.view == SERVICE_ACCOUNTS else PEOPLE_HINT
        self.rows = []  # the people list is built again, not grown
        self.table.move_cursor(row=0, announce=False)
        self._load_list()
        self.app.update_header()

    def _people_only(self, action: str) -> bool:
        """True (and said, in one line) when `action` is asked of a service account."""
        if self.view != SERVICE_ACCOUNTS:
            return False
        name = self.selected_service_account()
        what = f"{name} is a service account" if name else "this is the service-account view"
        self.notify(f"{what}: {SA.PEOPLE_ONLY[action]} is for people (v shows them)",
                    severity="warning", markup=False)
        return True

    def targets(self) -> list[str]:
        """The marked people, else the one under the cursor."""
        if self.marked:
            return sorted(self.marked)
        person = self.selected()
        return [person.username] if person else []

    @on(FastTable.RowHighlighted, "#people")
    def _near_the_end(self) -> None:
        rows = self.rows
        if self.view == PEOPLE and self.table.cursor_row >= len(rows) - 5 \
                and len(rows) < self.matching:
            self._load_people(self.limit + PAGE)

    @on(FastTable.RowHighlighted, "#people")
    def _show_person(self) -> None:
        if self.view == SERVICE_ACCOUNTS:
            self._show_account()
            return
        box = self.query_one("#person-detail", Static)
        person = self.selected()
        if person is not None and person.username == self._shown_person:
            return  # already shown (a reload re-highlights the same row)
        self._shown_person = person.username if person else None
        if person is None:
            self.app.update_header()
            identity = self.app.session.cached_identity()
            if identity is not None and not identity.scim:
                box.update(Text(
                    "People are listed through SCIM, which W&B opens to org admins (and org "
                    "service accounts) only. The members of your own teams are in the "
                    "Explorer (1).", style="yellow"))
            else:
                box.update(Text("No one matches.", style="dim"))
            return
        detail = P.detail(self.app.session.cache, person.username)
        text = Text()
        text.append(person.name or person.username, style="bold")
        text.append(f"  {person.email or ''}  {person.status}\n")
        if detail is not None:
            text.append("can reach (effective role ← why)\n", style="dim")
            for reach in detail.reach:
                why = ", ".join(f"{g.role} {g.why}" for g in reach.grants)
                text.append(f"  {reach.scope} {reach.resource}: ")
                text.append(reach.effective, style="bold")
                text.append(f"\n      ← {why}\n", style="dim")
        if not person.service_account:  # its keys are the service accounts' to show
            _append_keys(text, self.app.session.cache, person.username)
        box.update(text)
        self.app.visit_person(person.username)

    def _show_account(self) -> None:
        name = self.selected_service_account()
        if name is not None and name == self._shown_person:
            return
        self._shown_person = name
        box = self.query_one("#person-detail", Static)
        found = self.inventory or sa.inventory(self.app.session.cache)
        account = found.get(name) if name else None
        if account is None:
            box.update(SA.empty_text(found, bool(self.query_one("#people-filter",
                                                                Input).value.strip())))
            self.app.update_header()
            return
        box.update(SA.detail(account, found, self.found, self.app.clock()))
        self.app.visit_person(account.username)

    @on(DataTable.RowHighlighted, "#findings")
    def _show_finding(self) -> None:
        table = self.query_one("#findings", DataTable)
        row = table.cursor_row
        if not (0 <= row < len(self.found)) or table is not self.app.focused:
            return
        f = self.found[row]
        text = Text()
        text.append(f"{f.title}\n", style="bold")
        for item in f.items[:12]:
            text.append(f"  • {item}\n")
        if len(f.items) > 12:
            text.append(f"  … and {len(f.items) - 12} more\n", style="dim")
        if f.hidden:
            text.append(f"{f.hidden}\n", style="yellow")
            self.query_one("#person-detail", Static).update(text)
            return
        if f.note:
            text.append(f"{f.note}\n", style="dim italic")
        text.append(f"fix (f): {f.fix_note or 'needs a person’s judgement'}", style="dim")
        self.query_one("#person-detail", Static).update(text)

    # ---- filter and marks ----------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#people-filter", Input)
        box.display = True
        box.focus()

    def _filtered(self, _value: str) -> None:
        self._load_list()

    @on(Input.Submitted, "#people-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#people-filter", Input)
        if box.display:
            box.display = False
            if box.value:
                box.value = ""  # the value watch reloads the list
            else:
                self._load_list()
            self.table.focus()
        elif self.marked and self.view == PEOPLE:
            self.clear_marks()
        else:
            self.app.action_history_back()

    def clear_marks(self) -> None:
        self.marked.clear()
        self._load_people(self.limit)

    def action_mark(self) -> None:
        if self._people_only("mark"):
            return
        person = self.selected()
        if person is None:
            return
        self.marked.symmetric_difference_update({person.username})
        mark = Text("◉", style="bold") if person.username in self.marked else Text(" ")
        table = self.table
        table.update_cell_at(table.cursor_row, 0, mark)
        pane = self.query_one("#people-pane")
        pane.border_subtitle = f"{len(self.marked)} marked" if self.marked else ""
        table.move_cursor(row=min(table.cursor_row + 1, len(self.rows) - 1))

    # ---- actions -------------------------------------------------------------------------

    def action_team_role(self) -> None:
        self._run("team_role")

    def action_add_to_team(self) -> None:
        self._run("add_to_team")

    def action_remove_from_team(self) -> None:
        self._run("remove_from_team")

    def action_org_role(self) -> None:
        self._run("org_role")

    def action_toggle_active(self) -> None:
        self._run("toggle_active")

    def action_fix_finding(self) -> None:
        table = self.query_one("#findings", DataTable)
        row = table.cursor_row
        if 0 <= row < len(self.found):
            finding = self.found[row]
            if finding.id in ROTATE_FINDINGS and finding.people:
                # The fix is a rotation (a key must be handed over): K's flow, account by
                # account.
                from ..flows.key_rotation import start_rotation

                more = len(finding.people) - 1
                self.app.notify(f"rotating {finding.people[0]}'s key"
                                + (f" ({more} more listed)" if more else ""), timeout=5)
                start_rotation(self.app, finding.people[0])
                return
            from ..flows.access import start_fix_flow

            start_fix_flow(self.app, finding)

    def action_sort(self) -> None:
        if self._people_only("sort"):
            return
        order = list(P.SORTS)
        self.sort = order[(order.index(self.sort) + 1) % len(order)]
        self._load_people()

    def action_load_csv(self) -> None:
        if self._people_only("load_csv"):
            return
        from ..flows.access import start_csv_flow

        start_csv_flow(self.app)

    def action_refresh(self) -> None:
        self.app.refresh_scope(None)

    def action_rotate_key(self) -> None:
        name = self.selected_service_account()
        if name is None:
            self.app.notify("K rotates a service account's key: v shows the service accounts",
                            timeout=5)
            return
        from ..flows.key_rotation import start_rotation

        start_rotation(self.app, name)

    def _run(self, action: str) -> None:
        if self._people_only(action):
            return
        people = self.targets()
        if not people:
            return
        from ..flows.access import start_access_flow

        start_access_flow(self.app, action, people,
                          on_applied=self.clear_marks if self.marked else None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("team_role", "add_to_team", "remove_from_team", "org_role",
                      "toggle_active", "fix_finding", "load_csv"):
            facts = getattr(self.app, "facts", None)
            if action in SCIM_ACTIONS and facts is not None and facts.lacks("SCIM"):
                return None  # greyed for everyone: this server has no SCIM API (doctor)
            caps = self.app.capabilities
            return caps.can_change and caps.is_org_admin
        if action == "rotate_key":  # org admins, and team admins for their teams' accounts
            caps = self.app.capabilities
            return caps.can_change and (caps.is_org_admin or "admin" in caps.team_roles.values())
        return True


def _append_keys(text: Text, cache: Cache, username: str) -> None:
    """The person's API keys, by id (org admins; rotation is for service accounts)."""
    keys = sa.person_keys(cache, username)
    if keys is None:
        text.append(f"API keys: {sa.keys_unknown(cache, username)}\n", style="dim")
        return
    text.append(f"API keys: {len(keys)}\n", style="dim")
    for key in keys:
        text.append(f"  {key.id}  {key.description or ''}".rstrip() + "\n")
