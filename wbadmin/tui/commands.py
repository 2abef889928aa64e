"""The ctrl+p command palette: every action of the app, plus jumps to teams and projects."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from .app import WbAdminApp

ACTIONS = [
    ("Explorer: org, teams and projects", "switch_mode('explorer')"),
    ("Promotions: the registry approval queue", "switch_mode('promotions')"),
    ("Journal: changes made through wbadmin", "switch_mode('journal')"),
    ("Jump to…  (:team, :project, :user, :registry)", "jump"),
    ("Refresh everything from W&B", "refresh_all"),
    ("Toggle the API-call log", "toggle_api_log"),
    ("Help: keys that work here", "help"),
    ("Back", "history_back"),
    ("Forward", "history_forward"),
    ("Quit", "quit"),
]


class WbCommands(Provider):
    @property
    def wb(self) -> WbAdminApp:
        return self.app  # type: ignore[return-value]

    async def discover(self) -> Hits:
        for title, action in ACTIONS:
            yield DiscoveryHit(title, partial(self.wb.run_action, action))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action in ACTIONS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.wb.run_action, action))
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
