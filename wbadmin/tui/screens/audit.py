"""Screen 7, Audit: W&B's audit log (every actor) and wbadmin's journal on one timeline,
newest first, each journal entry linked to the W&B events it caused (core/audit_timeline.py).

The log is read incrementally into the identity's cache in a worker (online only; offline
shows what the cache holds); the timeline is built from the cache in a thread, and the table
holds a page of it at a time (the `large` org logs 84k events in 90 days).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from ... import clock
from ...core import audit_store
from ...core import errors as E
from ...core.audit_timeline import WANDB, WBADMIN, Event, known_emails, timeline, unreadable
from .. import audit_rows as R
from ..widgets.api_log import ApiLog
from ..widgets.fit_columns import FitTable
from ..widgets.footer import WbFooter
from ..widgets.header import ShellHeader

if TYPE_CHECKING:
    from ..app import WbAdminApp

PAGE = 200  # rows in the table at once; more as the cursor reaches the end


class AuditScreen(Screen):
    PANES = "#audit-table, #audit-detail-pane"  # Tab / Shift+Tab move between these
    BINDINGS = [
        Binding("slash", "filter", "search", id="audit.search"),
        Binding("s", "source", "source", id="audit.source"),
        Binding("p", "period", "period", id="audit.period"),
        # Before the table's own enter, so the footer and `?` say what it does here.
        Binding("enter", "open", "open in Explorer", id="audit.open", priority=True),
        Binding("r", "refresh", "refresh", id="audit.refresh"),
        Binding("escape", "clear_filter", "back", show=False),
    ]

    app: WbAdminApp

    def __init__(self) -> None:
        super().__init__()
        self.period = R.PERIODS[0]
        self.source: str | None = None
        self.tl = R.Timeline()
        self.rows: list[Event] = []      # the matching events, newest first
        self.shown = 0                   # of them in the table
        self.loaded = False              # a timeline was built at least once
        self.refreshed = False           # the log was read from W&B on this visit
        self.reading = False
        self.refusal: str | None = None  # why this identity or server cannot read the log
        self.problem: str | None = None  # a read that failed otherwise (cached data kept)
        self.span: audit_store.LogRange | None = None  # the time the cache holds the log of

    def compose(self) -> ComposeResult:
        yield ShellHeader(id="header")
        with Vertical(id="audit"):
            yield Input(placeholder="search time, action, actor, team, project, person…",
                        id="audit-filter")
            yield Static(id="audit-note")
            yield Static(id="audit-count")
            yield FitTable(id="audit-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="audit-detail-pane"):  # a long entry scrolls
                yield Static(id="audit-detail")
        yield ApiLog(id="api-log")
        yield WbFooter()

    def on_mount(self) -> None:
        box = self.query_one("#audit-filter", Input)
        box.display = False
        self.watch(box, "value", lambda _: self._draw(), init=False)
        self.table.border_title = "Audit"
        self.table.add_columns(*R.HEADERS)
        self.query_one(ApiLog).display = self.app.api_log_visible
        self._draw()
        self.table.focus()

    def on_screen_resume(self) -> None:
        self.reload()

    @property
    def table(self) -> FitTable:
        return self.query_one("#audit-table", FitTable)

    # ---- data ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Rebuild from the cache and journal; read the log from W&B once per visit (and
        period) when connected."""
        self.load()
        session = self.app.session
        if not self.refreshed and session.client is not None and not session.offline:
            self.read_log()

    def since(self) -> float:
        return self.app.clock() - R.period_seconds(self.period)

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def load(self) -> None:
        """The timeline from the cache (a thread: 84k entries take a while to decode)."""
        session = self.app.session
        since = self.since()
        stored = [] if self.refusal else audit_store.stored(session.cache, since)
        journal = session.journal.query(since=since - 60, newest_first=False)  # links lag
        emails = known_emails(session.cache, session.cached_identity())
        built = R.Timeline.of(timeline(stored, journal, emails), emails)
        span = audit_store.load_range(session.cache)
        if not get_current_worker().is_cancelled:  # a newer load (period, refresh) wins
            self.app.call_from_thread(self._loaded, built, span)

    def _loaded(self, built: R.Timeline, span: audit_store.LogRange | None) -> None:
        self.tl, self.loaded, self.span = built, True, span
        self._draw()

    @work(exclusive=True, group="audit-read", exit_on_error=False)
    async def read_log(self) -> None:
        """Bring the cached log up to date for the period: only time not read yet."""
        session = self.app.session
        self.refreshed, self.reading, self.problem = True, True, None
        self._draw_count()
        me = session.cached_identity()
        username = "" if me is not None and me.is_service_account else session.username
        was, added = self.refusal, 0
        try:
            assert session.client is not None
            read = await audit_store.refresh(session.client, session.cache, username,
                                             self.since(), self.app.clock())
            added = read.added
        except (E.PermissionDenied, E.NotFound) as exc:
            self.refusal = unreadable(exc, str(session.profile.base_url))[0]
        except Exception as exc:  # the cached log stays on screen; say why it is not newer
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.problem = f"the audit log could not be read: {text} (showing the cache)"
        else:
            self.refusal = None
        finally:
            self.reading = False
        if added or self.refusal != was or not self.loaded:
            self.load()  # the timeline again only when the read changed what it shows
        else:
            self._draw_note()
            self._draw_count()

    # ---- drawing -------------------------------------------------------------------------

    def _search(self) -> str:
        return self.query_one("#audit-filter", Input).value.strip()

    def _draw(self) -> None:
        """The matching rows, a page of them in the table; the cursor stays on its event."""
        table = self.table
        keep = self.selected()
        self.rows = self.tl.matching(self.source, self._search())
        table.clear()
        self.shown = 0
        self._add_page()
        if keep is not None and keep in self.rows[:self.shown]:
            table.move_cursor(row=self.rows.index(keep), animate=False)
        self._draw_note()
        self._draw_count()
        self._show_detail()

    def _add_page(self) -> None:
        page = self.rows[self.shown:self.shown + PAGE]
        for event in page:
            self.table.add_row(*R.row(event))
        self.shown += len(page)

    def _draw_note(self) -> None:
        """One line above the table: why the log is not shown (or not current)."""
        note = self.query_one("#audit-note", Static)
        line = self.refusal and f"{self.refusal}; showing wbadmin's journal only"
        line = line or self.problem
        if line is None and self.app.session.offline:
            line = ("offline, and the audit log was never read for this identity: showing "
                    "wbadmin's journal only" if self.span is None else
                    f"offline: W&B's audit log as read up to {clock.iso(self.span.read_until)}")
        note.display = line is not None
        note.update(Text(line or "", style="yellow"))

    def _draw_count(self) -> None:
        text = Text()
        if not self.loaded:
            text.append("loading…", style="dim")
        else:
            text.append(f"{self.shown:,} of {len(self.rows):,}", style="bold")
            text.append(f" events · last {self.period} · {R.SOURCE_LABEL[self.source]}")
            text.append(f" · W&B {self.tl.count(WANDB):,} · wbadmin {self.tl.count(WBADMIN):,}",
                        style="dim")
            if search := self._search():
                text.append(f" · matching {search!r}")
        if self.reading:
            text.append(" · reading W&B's audit log…", style="dim italic")
        self.query_one("#audit-count", Static).update(text)

    def selected(self) -> Event | None:
        row = self.table.cursor_row
        return self.rows[row] if 0 <= row < self.shown else None

    @on(DataTable.RowHighlighted, "#audit-table")
    def _near_the_end(self) -> None:
        if self.table.cursor_row >= self.shown - 5 and self.shown < len(self.rows):
            self._add_page()
            self._draw_count()

    @on(DataTable.RowHighlighted, "#audit-table")
    def _show_detail(self) -> None:
        detail = self.query_one("#audit-detail", Static)
        event = self.selected()
        if event is None:
            text = ("reading…" if not self.loaded else
                    "No events in this period match." if self.tl.events else
                    f"No audit events and no wbadmin changes in the last {self.period}.")
            detail.update(Text(text, style="dim"))
            return
        detail.update(R.detail(event, self.tl))

    def crumbs(self) -> list[str]:
        return [self.app.org or "organization", "audit", f"last {self.period}"]

    # ---- actions -------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#audit-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#audit-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#audit-filter", Input)
        if box.display:
            box.display = False
            box.value = ""  # the value watch redraws
            self.table.focus()
        else:
            self.app.action_history_back()

    def action_source(self) -> None:
        order = list(R.SOURCES)
        self.source = order[(order.index(self.source) + 1) % len(order)]
        self._draw()

    def action_period(self) -> None:
        order = list(R.PERIODS)
        self.period = order[(order.index(self.period) + 1) % len(order)]
        self.refreshed = False  # a longer period may reach time not read yet
        self.app.update_header()
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":  # enter in the search box submits it
            return not isinstance(self.app.focused, Input)
        return True

    def action_open(self) -> None:
        event = self.selected()
        if event is None:
            return
        location = R.location_of(event, self.tl.emails, self.app.session.cache)
        if location is None:
            self.notify("this event names no team, project or person of the org",
                        severity="warning")
        elif not self.app.show_location(location):
            self.notify(f"{location.title()} is not in the org (or not cached yet)",
                        markup=False, severity="warning")

    def action_refresh(self) -> None:
        session = self.app.session
        if session.offline:
            self.notify("offline: showing the cached audit log only", severity="warning")
            self.load()
        elif session.client is None:
            self.notify("still connecting…", timeout=2)
        else:
            self.read_log()
