"""Quota refresh on a server without `Entity.projects(filters:)` on team entities.

The SDK passes `filters` and `order` to `projects` only on the organization's entity, so an
older W&B may refuse them on a team's. Then a team's projects are read ordered by
`-updated_at` (when `order` is there) down to "since": paging stops once a page's oldest
project is older. Without `order` either, every project is read (`models(entityName:)`, the
SDK's GetProjects) and the changed ones kept here. Either way the projects — and so the runs
asked for after — are those the filtered request gives: `updatedAt` after `since`, compared
at the second, as the server compares the filter's timestamp.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..wire_time import parse_time
from . import wire

NEEDS = "Entity.projects(filters:)"
ORDER = "Entity.projects(order:)"

# Under `entity(name:)`: a team's projects, newest first, unfiltered.
ORDERED_PROJECTS_SELECTION = """
    projects(order: "-updated_at", first: $FIRST, after: $AFTER) {
      pageInfo { endCursor hasNextPage }
      edges { node { name updatedAt } }
    }
"""
# Under `models(entityName:, first:, after:)`: every project of a team, in no known order.
ALL_PROJECTS_SELECTION = """
      pageInfo { endCursor hasNextPage }
      edges { node { name updatedAt } }
"""

Projects = dict[str, list[tuple[str, float | None]]]


def needed(lacks: Callable[[str], bool] | None) -> bool:
    """Whether the filtered, ordered read of a team's projects cannot be sent here."""
    return lacks is not None and (lacks(NEEDS) or lacks(ORDER))


def _changed(updated: float | None, since: float | None) -> bool:
    return since is None or (updated is not None and updated > int(since))


async def projects(refresher: Any, teams: list[str], since: float | None,
                   lacks: Callable[[str], bool]) -> Projects:
    """Each team's projects (name, updatedAt); with `since`, those updated after it."""
    out: Projects = {t: [] for t in teams}
    client, page = refresher.client, refresher.page_size

    def take(team: str, nodes: list[dict]) -> None:
        for node in nodes:
            updated = parse_time(node.get("updatedAt"))
            if node.get("name") and _changed(updated, since):
                out[team].append((node["name"], updated))

    if lacks(ORDER):
        def listing(chunk: list[tuple[str, str | None]]) -> tuple[str, dict[str, Any]]:
            return wire.batched(
                "WbadminQuotaAllProjects", "models", ALL_PROJECTS_SELECTION,
                [{"entityName": t, "first": page, "after": c} for t, c in chunk],
                {"entityName": "String", "first": "Int", "after": "String"}, {})

        await client.paginate_many(teams, refresher.team_batch, listing, take)
        return out

    def ordered(chunk: list[tuple[str, str | None]]) -> tuple[str, dict[str, Any]]:
        return wire.batched(
            "WbadminQuotaOrderedProjects", "entity", ORDERED_PROJECTS_SELECTION,
            [{"name": t, "FIRST": page, "AFTER": c} for t, c in chunk], {"name": "String!"},
            {"FIRST": "Int", "AFTER": "String"})

    def down_to_since(entity: Any) -> Any:
        """The page, marked last once its oldest project is not after `since`."""
        conn = (entity or {}).get("projects")
        edges = (conn or {}).get("edges") or []
        if since is not None and edges and not _changed(
                parse_time((edges[-1].get("node") or {}).get("updatedAt")), since):
            return {**conn, "pageInfo": {"hasNextPage": False}}
        return conn

    await client.paginate_many(teams, refresher.team_batch, ordered, take, down_to_since)
    return out


async def changes(refresher: Any, teams: list[str], since: float, recent: Any,
                  on_runs: Callable[[list[Any]], None], lacks: Callable[[str], bool]
                  ) -> Projects:
    """As `QuotaRefresher._changes`: the projects updated after `since`, then their `recent`
    runs (many projects per request), which go to `on_runs`."""
    changed = await projects(refresher, teams, since, lacks)
    jobs = [(team, name, recent, None) for team in teams for name, _ in changed[team]]
    on_runs(await refresher._runs(jobs))
    return changed
