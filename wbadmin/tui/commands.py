"""The ctrl+p command palette: every action of the app, plus jumps to teams and projects."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from .app import WbAdminApp

ACTIONS = [
    ("Explorer: org, teams and projects", "switch_mode('explorer')"),
    ("Access: people, roles and findings", "switch_mode('access')"),
    ("Promotions: the registry approval queue", "switch_mode('promotions')"),
    ("Quotas: GPU-hours, storage and concurrency per team", "switch_mode('quotas')"),
    ("Onboarding: a new team or a new hire from a template", "switch_mode('onboarding')"),
    ("Journal: changes made through wbadmin", "switch_mode('journal')"),
    ("Audit: W&B's audit log and wbadmin's journal on one timeline", "switch_mode('audit')"),
    ("Governance: run policies, compliance per team, runs breaking a rule",
     "switch_mode('governance')"),
    ("Jump to…  (:team, :project, :user, :registry)", "jump"),
    ("Refresh everything from W&B", "refresh_all"),
    ("Toggle the API-call log", "toggle_api_log"),
    ("Doctor: what this server has and this key may do", "doctor"),
    ("Help: keys that work here", "help"),
    ("Back", "history_back"),
    ("Forward", "history_forward"),
    ("Quit", "quit"),
]


class WbCommands(Provider):
    @property
    def wb(self) -> WbAdminApp:
        return self.app  # type: ignore[return-value]

    def _actions(self) -> list[tuple[str, object]]:
        """The app's actions, then the keys of the screen the palette was opened on."""
        from .screens.help import _ours, key_label
        from .server_state import unavailable_reason

        out: list[tuple[str, object]] = []
        for title, action in ACTIONS:
            mode = action.partition("'")[2].rpartition("'")[0]
            why = unavailable_reason(self.wb.facts, mode) if mode else None
            if why is not None:  # greyed with the reason; choosing it says so again
                title = f"{title}  [not on this server: {why.split(': ', 1)[-1]}]"
            out.append((title, partial(self.wb.run_action, action)))
        screen = self.screen
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if (not active.enabled or not binding.description or active.node is self.app
                    or binding.action in seen or not _ours(active.node, binding.action)):
                continue
            seen.add(binding.action)
            title = f"{binding.description.capitalize()}  ({key_label(key)})"
            out.append((title, partial(active.node.run_action, binding.action)))
        return out

    async def discover(self) -> Hits:
        for title, run in self._actions():
            yield DiscoveryHit(title, run)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, run in self._actions():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run)
        if len(query) < 2:
            return
        cache = self.wb.session.cache
        kinds = ("team", "project", "user", "registry")
        first, _, rest = query.partition(" ")
        text = query
        if first in kinds and rest.strip():
            kinds, text = (first,), rest.strip()
        for kind in kinds:
            for name in _containing(cache, kind, text):
                title = f"{kind} {name}"
                score = matcher.match(title)
                if score > 0:
                    yield Hit(score, matcher.highlight(title),
                              partial(self.wb.run_jump, f"{kind} {name}"), help="jump")


def _containing(cache, kind: str, text: str, limit: int = 50) -> list[str]:
    table, column = {"team": ("teams", "name"), "project": ("projects", "name"),
                     "user": ("users", "username"), "registry": ("registries", "name")}[kind]
    like = "%" + text.replace("%", "").replace("_", "\\_") + "%"
    return [r[0] for r in cache.query(
        f"SELECT DISTINCT {column} FROM {table} WHERE {column} LIKE ? ESCAPE '\\' "
        f"ORDER BY {column} LIMIT ?", (like, limit))]
