"""What an offline report is made of: the template, the period's figures and the teams'
projects — the panels that need W&B's own charts are links to those projects in the file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from ..cache import Cache
from .figures import Figures
from .model import ReportTemplate

MAX_LINKS = 60  # a huge org's teams hold thousands of projects: the file lists the first ones


@dataclass(frozen=True)
class ProjectLink:
    team: str
    project: str
    url: str | None  # None: the server has no web app to link to

    @property
    def path(self) -> str:
        return f"{self.team}/{self.project}"


@dataclass(frozen=True)
class OfflineReport:
    template: ReportTemplate
    figures: Figures
    teams: tuple[str, ...]
    viewer: str                      # whose access the figures are as seen with
    projects: tuple[ProjectLink, ...]
    more_projects: int = 0           # projects left out of `projects` (MAX_LINKS)

    @property
    def generated(self) -> str:
        return datetime.fromtimestamp(self.figures.now, UTC).strftime("%Y-%m-%d %H:%M UTC")


def project_links(cache: Cache, teams: Sequence[str], app_url: str | None
                  ) -> tuple[tuple[ProjectLink, ...], int]:
    """The cached projects of `teams` with their W&B URLs (first MAX_LINKS), and how many
    more there are."""
    if not teams:
        return (), 0
    marks = ",".join("?" * len(teams))
    rows = cache.query(f"SELECT team, name FROM projects WHERE team IN ({marks}) "
                       "ORDER BY team, name", tuple(teams))
    base = app_url.rstrip("/") if app_url else None
    links = tuple(ProjectLink(r["team"], r["name"],
                              f"{base}/{quote(r['team'])}/{quote(r['name'])}" if base else None)
                  for r in rows[:MAX_LINKS])
    return links, max(0, len(rows) - MAX_LINKS)
