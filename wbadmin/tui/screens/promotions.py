"""Screen 3, Promotions: pending promotion requests across the org's registries beside the
selected request's detail; approve, reject, cancel, roll back, history; marks for bulk.

The first frame comes from the cache (requests live in the versions' tags and metadata);
a worker then asks the promotion service for the live queue and the selection's detail
(lineage, the caller's registry role). Decisions run as flows (flows/promotions.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ...core import humanize
from ...core.promotions import load_policy
from ...core.promotions.policy import Policy
from ...core.promotions.views import Detail, QueueItem
from .. import promotion_data as D
from ..widgets.api_log import ApiLog
from ..widgets.fit_columns import FitTable
from ..widgets.footer import WbFooter
from ..widgets.header import ShellHeader
from ..widgets.promotion_detail import PromotionDetail

if TYPE_CHECKING:
    from ..app import WbAdminApp


def key_of(item: QueueItem) -> str:
    return str(item.version.ref)


class PromotionsScreen(Screen):
    PANES = "#promo-queue-pane, #promo-detail"  # Tab / Shift+Tab move between these
    BINDINGS = [
        Binding("A", "approve", "approve", id="promotions.approve"),
        Binding("R", "reject", "reject", id="promotions.reject"),
        Binding("C", "cancel_request", "cancel request", id="promotions.cancel"),
        Binding("B", "rollback", "rollback", id="promotions.rollback"),
        Binding("H", "history", "history", id="promotions.history"),
        Binding("space", "mark", "mark", id="promotions.mark"),
        Binding("s", "sort", "sort", id="promotions.sort"),
        Binding("r", "refresh", "refresh", id="promotions.refresh"),
    ]

    app: WbAdminApp

    def __init__(self) -> None:
        super().__init__()
        self.items: list[QueueItem] = []
        self.details: dict[str, Detail] = {}   # live details by version ref
        self.rights: dict[str, tuple[bool, bool]] = {}  # memo of _may_decide
        self.marked: set[str] = set()
        self.sort_key = "age"
        self.live = False
        self.live_error: str | None = None
        self.policy: Policy | None = None
        self.policy_error: str | None = None

    def compose(self) -> ComposeResult:
        yield ShellHeader(id="header")
        with Horizontal(id="promotions"):
            with Vertical(id="promo-queue-pane"):
                yield FitTable(id="promo-queue", cursor_type="row", zebra_stripes=True)
                yield Static(id="promo-hint")
            yield PromotionDetail(id="promo-detail")
        yield ApiLog(id="api-log")
        yield WbFooter()

    def on_mount(self) -> None:
        self.query_one(ApiLog).display = self.app.api_log_visible
        self.reload()
        self.table.focus()

    def on_screen_resume(self) -> None:
        self.reload()

    @property
    def table(self) -> DataTable:
        return self.query_one("#promo-queue", DataTable)

    # ---- data ----------------------------------------------------------------------------

    def _load_policy(self) -> None:
        try:
            self.policy, self.policy_error = load_policy(), None
        except Exception as exc:  # a malformed file: say so, decide nothing
            self.policy, self.policy_error = None, str(exc)

    def reload(self) -> None:
        """Redraw from the cache, then refresh from W&B in the background."""
        self._load_policy()
        self.details.clear()
        self.live = False
        self.items = D.cached_queue(self.app.session.cache, self.policy)
        self.marked &= {key_of(i) for i in self.items}
        self._draw()
        if self.app.session.client is not None and not self.app.session.offline \
                and self.policy is not None and self.app.org:
            self.load_live()

    @work(exclusive=True, group="promotions", exit_on_error=False)
    async def load_live(self) -> None:
        from ..flows.promotions import service_for

        service = service_for(self.app, self.policy)
        if service is None:
            return
        try:
            items = await service.queue(self.app.org or "", holders=True)
        except Exception as exc:
            self.live_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._draw_title()
            return
        self.live, self.live_error = True, None
        self.items = items
        self.marked &= {key_of(i) for i in self.items}
        self._draw()
        await self._load_detail(service)

    @work(exclusive=True, group="promotions-detail", exit_on_error=False)
    async def load_detail(self) -> None:
        from ..flows.promotions import service_for

        service = service_for(self.app, self.policy)
        if service is not None:
            await self._load_detail(service)

    async def _load_detail(self, service) -> None:
        item = self.selected()
        if item is None or key_of(item) in self.details:
            return
        try:
            detail = await service.show(item.version.ref)
        except Exception as exc:
            self.live_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._draw_title()
            return
        self.details[key_of(item)] = detail
        self.rights.pop(key_of(item), None)
        if self.selected() is item:
            self._show_detail()

    # ---- drawing -------------------------------------------------------------------------

    def _draw(self) -> None:
        self.rights.clear()
        self.items = D.sort_items(self.items, self.sort_key)
        table = self.table
        current = self.selected()
        keep = key_of(current) if current else None
        table.clear(columns=True)
        # The registry gets a column only when the queue spans more than one.
        several = len({i.version.ref.registry for i in self.items}) > 1
        table.add_columns(" ", *(["registry"] if several else []), "collection", "ver",
                          "target", "age", "by", "appr", "ok")
        now = self.app.clock()
        for item in self.items:
            r, ref = item.record, item.version.ref
            mark = Text("◉", style="bold") if key_of(item) in self.marked else Text(" ")
            need = f"{len(r.approvals)}/{item.policy.need}" if item.policy else \
                str(len(r.approvals))
            blocked = [b for b in item.blockers if "approvals" not in b]
            checks = Text("✗", style="bold red") if blocked else Text("✓", style="green")
            if item.regressions:  # no room for a column: a mark, the hint below says what
                checks.append("!", style="bold red")
            table.add_row(mark, *([ref.registry] if several else []), Text(ref.collection),
                          item.version.version, r.target,
                          humanize.ago(D.requested_ts(r), now), Text(r.requested_by), need,
                          checks, key=key_of(item))
        keys = [key_of(i) for i in self.items]
        if keep in keys:
            table.move_cursor(row=keys.index(keep))
        self._draw_title()
        self._show_detail()

    def _draw_title(self) -> None:
        pane = self.query_one("#promo-queue-pane")
        pane.border_title = f"Pending  {len(self.items)}"
        source = "live" if self.live else "cached"
        if self.live_error:
            source = f"cached · live refresh failed: {self.live_error}"
        marks = f"{len(self.marked)} marked · " if self.marked else ""
        pane.border_subtitle = f"{marks}sorted by {self.sort_key} · {source}"
        hint = Text()
        if self.policy_error:
            hint.append(f"✗ {self.policy_error}\n", style="red")
        if regressed := [i for i in self.items if i.regressions]:
            percent = regressed[0].metrics.regression_percent
            hint.append(f"! metrics worse than the current holder's by more than {percent:g}%: "
                        + ", ".join(f"{i.version.ref.collection}:{i.version.version} "
                                    f"({len(i.regressions)})" for i in regressed) + "\n",
                        style="red")
        if not self.items:
            hint.append("No pending promotion requests" + ("" if self.live else
                                                           " in the cache") + ".",
                        style="dim")
        self.query_one("#promo-hint", Static).update(hint)

    @on(DataTable.RowHighlighted, "#promo-queue")
    def _highlighted(self) -> None:
        self._show_detail()
        if self.live and self.selected() is not None and \
                key_of(self.selected()) not in self.details:
            self.load_detail()

    def _show_detail(self) -> None:
        item = self.selected()
        pane = self.query_one(PromotionDetail)
        now = self.app.clock()
        if item is None:
            pane.show(None, now, live=self.live)
        else:
            live = self.details.get(key_of(item))
            detail = live or D.cached_detail(self.app.session.cache, self.app.capabilities,
                                             self.policy, item)
            pane.show(detail, now, live=live is not None)
        self.refresh_bindings()

    # ---- selection -----------------------------------------------------------------------

    def selected(self) -> QueueItem | None:
        row = self.table.cursor_row
        return self.items[row] if 0 <= row < len(self.items) and self.table.row_count else None

    def detail_of(self, item: QueueItem) -> Detail:
        return self.details.get(key_of(item)) or D.cached_detail(
            self.app.session.cache, self.app.capabilities, self.policy, item)

    def chosen(self) -> list[QueueItem]:
        """The marked requests, else the selected one."""
        if self.marked:
            return [i for i in self.items if key_of(i) in self.marked]
        item = self.selected()
        return [item] if item else []

    # ---- actions -------------------------------------------------------------------------

    def action_mark(self) -> None:
        item = self.selected()
        if item is None:
            return
        self.marked ^= {key_of(item)}
        row = self.table.cursor_row
        self._draw()
        self.table.move_cursor(row=min(row + 1, len(self.items) - 1))

    def action_sort(self) -> None:
        self.sort_key = D.SORTS[(D.SORTS.index(self.sort_key) + 1) % len(D.SORTS)]
        self._draw()

    def action_refresh(self) -> None:
        if self.app.session.offline:
            self.notify("offline: showing cached requests only", severity="warning")
            return
        self.reload()

    def action_approve(self) -> None:
        from ..flows.promotions import start_approve

        start_approve(self.app, self.chosen())

    def action_reject(self) -> None:
        from ..flows.promotions import start_reject

        start_reject(self.app, self.chosen())

    def action_cancel_request(self) -> None:
        from ..flows.promotions import start_cancel

        item = self.selected()
        if item is not None:
            start_cancel(self.app, item)

    def action_rollback(self) -> None:
        from ..flows.promotions import start_rollback

        item = self.selected()
        start_rollback(self.app, item.version.ref.at(None) if item else None)

    @work(group="promotions-history", exit_on_error=False)
    async def action_history(self) -> None:
        from ..flows.promotions import service_for
        from .promotion_dialogs import HistoryScreen

        item = self.selected()
        if item is None:
            return
        ref = item.version.ref.at(None)
        service = service_for(self.app, self.policy) if self.live else None
        note = "" if service else "from the cache"
        try:
            entries = await service.history(ref) if service else \
                D.cached_history(self.app.session.cache, ref)
        except Exception as exc:
            entries, note = D.cached_history(self.app.session.cache, ref), \
                f"live history failed ({exc}); from the cache"
        self.app.push_screen(HistoryScreen(f"History of {ref.registry}/{ref.collection}",
                                           entries, note))

    # ---- what is offered -----------------------------------------------------------------

    def _may_decide(self, item: QueueItem) -> tuple[bool, bool]:
        """(may decide at all, may approve right now) for the signed-in identity."""
        if (known := self.rights.get(key_of(item))) is not None:
            return known
        self.rights[key_of(item)] = rights = self._rights_of(item)
        return rights

    def _rights_of(self, item: QueueItem) -> tuple[bool, bool]:
        detail = self.detail_of(item)
        actor, rules, r = detail.actor, detail.target, item.record
        if actor is None or rules is None or actor.username == r.requested_by:
            return False, False
        if not rules.may_approve(actor.username, actor.teams, actor.registry_admin):
            return False, False
        return True, not detail.why_not

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        caps = self.app.capabilities
        if action in ("approve", "reject"):
            if not caps.can_change or self.policy is None:
                return False
            chosen = self.chosen()
            rights = [self._may_decide(i) for i in chosen]
            if not any(decide for decide, _ in rights):
                # A on your own request runs, to say why not (a silent key is a puzzle).
                return action == "approve" and any(
                    i.record.requested_by == caps.username for i in chosen)
            if action == "approve" and not any(now for _, now in rights):
                return None  # shown, disabled: the detail says why
            return True
        if action == "cancel_request":
            item = self.selected()
            return bool(caps.can_change and self.policy is not None and item
                        and item.record.requested_by == caps.username)
        if action == "rollback":
            cache = self.app.session.cache
            if not caps.can_change or self.policy is None:
                return False
            registries = [r[0] for r in cache.query("SELECT name FROM registries")]
            if not any((a := D.cached_actor(cache, caps, reg)) and a.registry_admin
                       for reg in registries):
                return False
            return True if D.rollback_candidates(cache) else None  # shown, nothing to undo
        if action == "mark":  # marks are for bulk approve / reject
            return caps.can_change and self.policy is not None and any(
                self._may_decide(i)[0] for i in self.items)
        if action == "history":
            return self.selected() is not None
        return True
