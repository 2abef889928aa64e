"""Screen 1, Explorer: the org tree on the left, the selection's detail on the right."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static, Tree

from ...core import explorer as X
from ..locations import Location
from ..widgets.api_log import ApiLog
from ..widgets.detail import DetailPane
from ..widgets.footer import WbFooter
from ..widgets.header import ShellHeader
from ..widgets.org_tree import More, OrgTree

if TYPE_CHECKING:
    from ..app import WbAdminApp


class ExplorerScreen(Screen):
    mode_name = "explorer"
    PANES = "#tree-pane, #detail"
    BINDINGS = [
        Binding("slash", "filter", "filter", id="filter"),
        Binding("r", "refresh_node", "refresh", id="refresh"),
        Binding("y", "copy_path", "copy path", show=False, id="copy"),
        Binding("o", "open_in_wandb", "open in W&B", id="open"),
        Binding("e", "edit_role", "edit role", id="edit_role"),
        Binding("x", "team_action('remove')", "remove", id="remove_member"),
        Binding("i", "team_action('invite')", "invite", id="invite"),
        Binding("c", "team_action('cancel_invite')", "cancel invite", id="cancel_invite"),
        Binding("s", "team_action('service_account')", "service account",
                id="service_account"),
        Binding("p", "request_promotion", "request promotion", id="request_promotion"),
        Binding("escape", "back", "back", show=False, id="back"),
    ]

    app: WbAdminApp

    def compose(self) -> ComposeResult:
        yield ShellHeader(id="header")
        with Horizontal(id="explorer"):
            with Vertical(id="tree-pane"):
                yield Input(placeholder="filter teams, projects, collections…",
                            id="tree-filter")
                yield Static(id="filter-count")
                yield OrgTree(self.app.session.cache, id="tree")
            yield DetailPane(self.app.session.cache, self.app.clock, id="detail")
        yield ApiLog(id="api-log")
        yield WbFooter()

    @property
    def tree(self) -> OrgTree:
        return self.query_one(OrgTree)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    def crumbs(self) -> list[str]:
        """The header's breadcrumb: the place the detail pane shows."""
        panes = self.query(DetailPane)  # none while the screen mounts or unmounts
        shown = panes.first().location if panes else None
        return (shown or Location("org")).crumbs(self.app.org)

    def on_mount(self) -> None:
        box = self.query_one("#tree-filter", Input)
        box.display = False
        # Filter inside the keystroke: the echo and the tree it selects share one frame.
        self.watch(box, "value", self._filter_changed, init=False)
        self.query_one("#filter-count").display = False
        self.query_one("#tree-pane").border_title = "Organization"
        self.query_one(ApiLog).display = self.app.api_log_visible
        self.reload()
        self.tree.focus()

    shown_generation = -1

    def on_screen_resume(self) -> None:
        """Back from another screen: redraw if the data moved meanwhile (a change applied
        there, a refresh, another process)."""
        if self.shown_generation != self.app.generation:
            self.reload()

    def reload(self) -> None:
        """Redraw from the cache, keeping expansion and selection."""
        self.shown_generation = self.app.generation
        tree = self.tree
        current = self.detail.location
        tree.rebuild()
        self._update_count()
        if current is not None:
            self.detail.show(current)
        else:
            node = tree.cursor_node
            if node is not None and isinstance(node.data, Location):
                self.detail.show(node.data)

    # ---- tree events ---------------------------------------------------------------------

    @on(Tree.NodeHighlighted, "#tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        data = event.node.data
        if isinstance(data, Location):
            self.detail.show(data)
            self.app.visit(data)
        self.refresh_bindings()

    @on(Tree.NodeSelected, "#tree")
    def _selected(self, event: Tree.NodeSelected) -> None:
        if isinstance(event.node.data, More):
            self.tree.load_more(event.node)

    # ---- filter --------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#tree-filter", Input)
        box.display = True
        self.query_one("#filter-count").display = True
        box.focus()

    def _filter_changed(self, value: str) -> None:
        self.tree.rebuild(value)
        self._update_count()

    @on(Input.Submitted, "#tree-filter")
    def _filter_done(self) -> None:
        self.tree.focus()

    def _update_count(self) -> None:
        tree = self.tree
        text = Text()
        if tree.filter_text:
            matches = X.filter_matches(tree.cache, tree.filter_text)
            text.append(matches.headline(), style="bold")
            if matches.count:
                text.append(f": {matches.breakdown()}", style="dim")
        self.query_one("#filter-count", Static).update(text)

    def action_back(self) -> None:
        box = self.query_one("#tree-filter", Input)
        if box.display:
            box.display = False
            self.query_one("#filter-count").display = False
            if box.value:
                box.value = ""  # the value watch rebuilds the tree
            else:
                self.tree.rebuild("")
            self.tree.focus()
        else:
            self.app.action_history_back()

    # ---- actions -------------------------------------------------------------------------

    def current(self) -> Location | None:
        return self.detail.location

    def action_refresh_node(self) -> None:
        location = self.current()
        self.app.refresh_scope(location)

    def action_copy_path(self) -> None:
        location = self.current()
        if location is None:
            return
        path = location.path(self.app.org)
        self.app.copy_to_clipboard(path)
        self.notify(f"copied {path}", markup=False, timeout=2)

    def action_open_in_wandb(self) -> None:
        location = self.current()
        url = location.url(self.app.session.web_app_url, self.app.org) if location else None
        if url is None:
            self.notify("no W&B page for this (the sandbox has no web UI)", severity="warning")
            return
        self.app.open_url(url)
        self.notify(f"opening {url}", markup=False, timeout=3)

    def action_edit_role(self) -> None:
        from ..flows.team_actions import start_registry_role_flow, start_team_role_flow

        location = self.current()
        key = self.detail.selected_key()
        if location is None or key is None:
            self.notify("select a member in the list first", severity="warning")
            return
        if location.kind == "team":
            start_team_role_flow(self.app, location.team or "", key)
        elif location.kind == "registry":
            kind, _, name = key.partition(":")
            start_registry_role_flow(self.app, location.name or "", kind, name)

    def action_team_action(self, action: str) -> None:
        from ..flows.team_actions import start_team_flow

        location = self.current()
        if location is not None and location.kind == "team":
            start_team_flow(self.app, action, location.team or "", self.detail.selected_key())

    def action_request_promotion(self) -> None:
        from ..flows.promotions import start_request_flow

        location = self.current()
        key = self.detail.selected_key()
        if location is None or location.kind != "collection" or key is None:
            self.notify("select a version in a registry collection first", severity="warning")
            return
        start_request_flow(self.app, location.registry or "", location.name or "", int(key))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        caps = self.app.capabilities
        if action == "request_promotion":
            location = self.current()
            # Requests write a tag and metadata: registry members and admins may.
            return (location is not None and location.kind == "collection" and caps.can_change
                    and (caps.is_org_admin or caps.registry_roles.get(location.registry or "")
                         in ("admin", "member")))
        location = self.current()
        kind = location.kind if location else None
        if action == "edit_role":
            if kind == "team":
                return caps.can_set_roles(location.team or "")
            if kind == "registry":
                return caps.can_admin_registry(location.name or "")
            return False
        if action == "team_action":
            return kind == "team" and caps.can_admin_team(location.team or "")
        if action == "open_in_wandb":
            return self.app.session.mode == "LIVE"
        return True

    def show_location(self, location: Location) -> bool:
        if location.kind == "user":
            self.detail.show(location)
            self.app.visit(location)
            return True
        found = self.tree.reveal(location)
        if found:
            self.detail.show(location)
            self.app.visit(location)
        return found
