"""The lazy org → teams → projects tree (plus registries → collections).

Children load when a node expands, projects in chunks of `CHUNK` with a "more" node, so a
team with thousands of projects expands at once. Labels carry counts; names from W&B are
always `Text`, never parsed as markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ...core import explorer as X
from ...core import humanize
from ...core.cache import Cache
from ..locations import Location

CHUNK = 200
FILTER_LINES = 60  # projects shown under a filter before further matching teams stay shut


@dataclass(frozen=True)
class More:
    """A "load more" node: the next chunk of a team's projects starts at `offset`."""

    team: str
    offset: int


NodeData = Location | More


class OrgTree(Tree[NodeData]):
    _building = False  # inside rebuild(): invalidation waits for the end
    _stale = False

    def __init__(self, cache: Cache, **kwargs) -> None:
        super().__init__("organization", data=Location("org"), **kwargs)
        self.cache = cache
        self.filter_text = ""
        self.user_expanded: set[str] = set()
        self.guide_depth = 3

    # ---- building ------------------------------------------------------------------------

    def process_label(self, label: str | Text) -> Text:
        # Our labels are one-line Text already; Tree's default splits (copies) every label.
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def _invalidate(self) -> None:
        # Tree invalidates its line cache and lays itself out after every node added or
        # expanded; a rebuild adds hundreds, so it invalidates once, at the end.
        if self._building:
            self._stale = True
            return
        super()._invalidate()

    def rebuild(self, filter_text: str | None = None) -> None:
        """Reload from the cache, keeping the user's expanded teams and the selection.

        Under a filter, matching teams open only until about two screens of projects show
        (the rest keep their match count and load their matches when opened), so one
        keystroke stays cheap on an org with thousands of projects."""
        if not self.filter_text:  # only expansions made without a filter are the user's
            self.user_expanded = {n.data.team for n in self._team_nodes() if n.is_expanded}
        if filter_text is not None:
            self.filter_text = filter_text
        selected = self.cursor_node.data if self.cursor_node is not None else None
        self._building = True
        try:
            self._fill()
        finally:
            self._building = False
            if self._stale:
                self._stale = False
                self._invalidate()
        self._select(selected)

    def _fill(self) -> None:
        summary = X.org_summary(self.cache)
        self.clear()
        root = self.root
        root.set_label(Text.assemble((summary.name or "organization", "bold"),
                                     (f"  {summary.teams} teams", "dim")))
        text = self.filter_text
        counts = X.project_counts(self.cache, text) if text else {}
        all_teams = X.teams(self.cache)
        budget = FILTER_LINES
        for team in all_teams:
            matches = counts.get(team.name, 0) if text else team.projects
            if text and text.lower() not in team.name.lower() and not matches:
                continue
            node = root.add(self._team_label(team, matches if text else None),
                            data=Location("team", team=team.name),
                            allow_expand=bool(matches))
            if not text and team.name in self.user_expanded:
                self._load_projects(node, 0)
                node.expand()
            elif text and matches and len(text) >= 2 and budget > 0:
                self._load_projects(node, 0, limit=min(CHUNK, budget))
                budget -= min(CHUNK, matches)
                node.expand()
        self._add_registries(root, text)
        root.expand()

    def _add_registries(self, root: TreeNode[NodeData], text: str) -> None:
        regs = X.registries(self.cache)
        if not regs:
            return
        reg_node = root.add(Text.assemble(("Registries", "bold"), (f"  {len(regs)}", "dim")),
                            data=Location("registries"))
        for name, n in regs:
            colls = X.collections(self.cache, name, text) if text else []
            if text and not colls and text.lower() not in name.lower():
                continue
            rnode = reg_node.add(Text.assemble((name, ""), (f"  {n} collections", "dim")),
                                 data=Location("registry", name=name), allow_expand=bool(n))
            if colls:  # under a filter, show the matches; otherwise load on expand
                self._add_collections(rnode, colls)
                rnode.expand()
        if text:
            reg_node.expand()

    @staticmethod
    def _add_collections(node: TreeNode[NodeData], colls: list[X.CollectionRow]) -> None:
        for c in colls:
            node.add_leaf(Text.assemble((c.name, ""), (f"  {c.versions} v", "dim")),
                          data=Location("collection", name=c.name, registry=c.registry))

    def _team_label(self, team: X.TeamRow, matches: int | None) -> Text:
        label = Text(team.name)
        if not team.readable:
            label.append("  (no access)", style="dim italic")
            return label
        projects = team.projects if matches is None else matches
        people = team.people
        label.append(f"  {people} · {humanize.count(projects)} prj", style="dim")
        return label

    def _team_nodes(self) -> list[TreeNode[NodeData]]:
        return [n for n in self.root.children
                if isinstance(n.data, Location) and n.data.kind == "team"]

    def _load_projects(self, node: TreeNode[NodeData], offset: int, limit: int = CHUNK) -> None:
        assert isinstance(node.data, Location) and node.data.team
        team = node.data.team
        rows = X.projects(self.cache, team, self.filter_text, offset=offset, limit=limit)
        for p in rows:
            runs = "—" if p.run_count is None else f"{p.run_count:,} r"
            node.add_leaf(Text.assemble((p.name, ""), (f"  {runs}", "dim")),
                          data=Location("project", team=team, name=p.name))
        total = X.count_projects(self.cache, team, self.filter_text)
        if offset + len(rows) < total:
            node.add_leaf(Text(f"… {total - offset - len(rows):,} more (enter to load)",
                               style="italic dim"), data=More(team, offset + len(rows)))

    # ---- events --------------------------------------------------------------------------

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        node = event.node
        if not isinstance(node.data, Location) or node.children:
            return
        if node.data.kind == "team":
            self._load_projects(node, 0)
        elif node.data.kind == "registry":
            self._add_collections(node, X.collections(self.cache, node.data.name or "",
                                                      self.filter_text))

    def load_more(self, node: TreeNode[NodeData]) -> None:
        data = node.data
        assert isinstance(data, More)
        parent = node.parent
        node.remove()
        if parent is not None:
            self._load_projects(parent, data.offset)

    # ---- selection -----------------------------------------------------------------------

    def _select(self, location: NodeData | None) -> None:
        if isinstance(location, Location) and location.kind != "org" and self.reveal(location):
            return
        self.call_after_refresh(self._cursor_to, self.root)

    def find(self, location: NodeData) -> TreeNode[NodeData] | None:
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.data == location:
                return node
            stack.extend(node.children)
        return None

    def reveal(self, location: Location) -> bool:
        """Expand the path to `location` and put the cursor on it; False if it is absent."""
        if location.kind == "project" and location.team:
            team_node = self.find(Location("team", team=location.team))
            if team_node is None:
                return False
            if not team_node.children:
                self._load_projects(team_node, 0)
            team_node.expand()
            node = self.find(location)
            while node is None:  # the project sits in a later chunk
                more = next((c for c in team_node.children if isinstance(c.data, More)), None)
                if more is None:
                    return False
                self.load_more(more)
                node = self.find(location)
        elif location.kind in ("registry", "collection"):
            regs = self.find(Location("registries"))
            if regs is not None:
                regs.expand()
            if location.kind == "collection":
                reg = self.find(Location("registry", name=location.registry))
                if reg is not None:
                    if not reg.children:
                        self._add_collections(reg, X.collections(
                            self.cache, location.registry or "", self.filter_text))
                    reg.expand()
            node = self.find(location)
        else:
            node = self.find(location)
        if node is None:
            return False
        # Lines of freshly expanded nodes are laid out on the next refresh.
        self.call_after_refresh(self._cursor_to, node)
        return True

    def _cursor_to(self, node: TreeNode[NodeData]) -> None:
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
