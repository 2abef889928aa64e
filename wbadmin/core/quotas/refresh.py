"""Fill the usage store from W&B: a full computation, then cheap incremental refreshes.

Full: every project of every team, each project's runs active since the window start
(heartbeatAt >= start, or still running), many projects per request (aliases).

Incremental: a run that has ended never changes, so a refresh asks only for what moved
since the last one. "Since" is the *server's* time when the last refresh began (its HTTP
`Date` header) minus a margin — never our own clock, so a server clock ahead of or behind
ours changes nothing (the skew is measured and kept for counting running runs); without a
`Date` header, the newest server timestamp seen so far stands in. It asks
1. each team's projects whose updatedAt is after "since" (W&B moves a project's updatedAt
   as its runs log), and
2. in those projects, runs created after "since", and runs that heart-beat after it and
   are no longer running (they ended) — both in one request per few teams (the projects'
   runs nested in the projects list). A running run heart-beats every few seconds, so
   asking for those too would read every running run of the org on every refresh (an org
   with 35,000 of them would send them all each time); their heartbeats are read by a
   *sweep* instead: at most every STALE_RECHECK_S, step 2 asks for every run that
   heart-beat since, and then
3. by name, runs we hold as running whose heartbeat stopped in the STALE_WINDOW_S before
   "since" (a crashed run may change state without a heartbeat).
A held running run's heartbeat is thus at most STALE_RECHECK_S (plus its own interval)
old after a refresh, well inside usage's SILENT_S, so it is still counted up to now.
Runs deleted on W&B are only dropped by a full computation (`--full`).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from ... import clock
from ..batch_sizes import MAX_NODES
from ..cache import Cache, bulk_load
from ..client import Client
from ..sync import parse_time
from . import degraded, wire
from .store import RunFact, UsageStore
from .writer import RunWriter

SKEW_MARGIN_S = 120.0     # late commits and the Date header's 1-second resolution
STALE_RECHECK_S = 600.0
SKEW_IGNORED_S = 60.0
TEAMS_MAX_AGE_S = 86_400.0
STALE_WINDOW_S = 6 * 3600.0
# Stale runs asked for by name per alias: a project of thousands of silent running runs
# otherwise sends one filter of thousands of names (the sandbox refuses it as too deep).
STALE_NAMES = 100
# A changed project's runs in the changes request; more come after. Few, so that a page
# holds many projects: most changed projects have none or one run to send, and a team of
# thousands of changed projects is then a few pages, not a chain of dozens.
NESTED_RUNS = 5
QUOTA_BATCH = MAX_NODES // 500  # 20 teams' or projects' pages of 500 per request


@dataclass
class RefreshReport:
    kind: str  # full | incremental
    seconds: float = 0.0
    requests: int = 0
    projects_read: int = 0
    runs_read: int = 0
    metadata_files: int = 0
    missing_metadata: int = 0  # new runs without GPU facts (counted as 0 GPUs)
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.kind} refresh: {self.runs_read:,} runs from {self.projects_read:,} "
                f"projects in {self.requests:,} requests, {self.seconds:.2f} s")


class RunObserver(Protocol):
    """Told of a refresh's runs while later answers are still coming (run policies judge
    them so: `governance.refresh_judge`).

    A full computation tells each page of runs as it arrives (`seen`), then hands over its
    transaction to write what was made of them (`commit`); an incremental refresh's writer
    calls `written` on its own thread after each batch of runs is in the store."""

    def seen(self, runs: list[RunFact]) -> None: ...

    def commit(self, conn: sqlite3.Connection, runs: list[RunFact]) -> None: ...

    def written(self, cache: Cache) -> None: ...


class QuotaRefresher:
    def __init__(self, client: Client, cache: Cache, *, clock: Callable[[], float] = clock.now,
                 team_batch: int = QUOTA_BATCH, project_batch: int = QUOTA_BATCH,
                 page_size: int = 500,
                 changes_batch: int = 10, nested_runs: int | None = None,
                 skew_margin: float = SKEW_MARGIN_S,
                 lacks: Callable[[str], bool] | None = None,
                 observer: RunObserver | None = None) -> None:
        self.client, self.cache, self.clock = client, cache, clock
        self.observer = observer
        self.lacks = lacks  # what the server lacks (ServerFacts.lacks): degraded reads
        self.store = UsageStore(cache)
        self.team_batch, self.project_batch = team_batch, project_batch
        self.page_size, self.skew_margin = page_size, skew_margin
        # Incremental: teams per request, and each changed project's runs in that request
        # (more are asked for project by project after).
        self.changes_batch, self.nested_runs = changes_batch, nested_runs or NESTED_RUNS

    async def refresh(self, window_start: float, *, full: bool = False) -> RefreshReport:
        """Incremental when the store already covers `window_start`, else full."""
        covered = self.store.get("window_start")
        if full or self.store.get("watermark") is None or covered is None \
                or window_start < covered:
            return await self.full(window_start)
        if window_start > covered:  # a new period began: forget what no period needs
            with self.cache.transaction() as conn:
                UsageStore.prune(conn, window_start)
        return await self.incremental()

    # ---- full ------------------------------------------------------------------------------

    async def full(self, window_start: float) -> RefreshReport:
        started, sent = time.perf_counter(), self.client.requests_sent
        report = RefreshReport("full")
        server_start, skew = await self._server_time()
        teams = await self._team_names()
        projects = await self._projects(teams, None)
        active = {"$or": [{"heartbeatAt": {"$gte": wire.iso(window_start)}},
                          {"state": "running"}]}
        # A project untouched since the window began holds no run active in it.
        jobs = [(t, p, active, None) for t in teams for p, updated in projects[t]
                if updated is None or updated >= window_start]
        runs = await self._runs(jobs, self.observer.seen if self.observer else None)
        runs = await self._fill_gpus(runs, lambda r: not r.gpu_known, report)
        storage = await self._storage(teams)
        now = self.clock()
        with self.cache.transaction() as conn:
            UsageStore.clear(conn)
            with bulk_load(conn, "quota_runs"):
                self.store.write_runs(conn, runs, fresh=True)
            if self.observer is not None:
                self.observer.commit(conn, runs)
            for team in teams:
                UsageStore.write_projects(conn, team, projects[team])
            UsageStore.write_storage(conn, storage, now)
            UsageStore.put(conn, "window_start", window_start)
            watermark = _watermark(runs, projects, window_start)
            UsageStore.put(conn, "watermark", watermark)
            UsageStore.put(conn, "server_start", server_start or watermark)
            UsageStore.put(conn, "skew", skew)
            UsageStore.put(conn, "full_at", now)
            UsageStore.put(conn, "refreshed_at", now)
            UsageStore.put(conn, "stale_checked_at", now)
        report.projects_read, report.runs_read = len(jobs), len(runs)
        report.requests = self.client.requests_sent - sent
        report.seconds = time.perf_counter() - started
        return report

    # ---- incremental -----------------------------------------------------------------------

    async def incremental(self) -> RefreshReport:
        started, sent = time.perf_counter(), self.client.requests_sent
        report = RefreshReport("incremental")
        server_start, skew = await self._server_time()
        watermark = float(self.store.get("watermark"))
        window_start = float(self.store.get("window_start"))
        since = float(self.store.get("server_start") or watermark) - self.skew_margin
        teams = await self._team_names()
        known_teams = set(self.store.teams())
        new_teams = [t for t in teams if t not in known_teams]
        old_teams = [t for t in teams if t in known_teams]
        sweep = self.clock() - float(self.store.get("stale_checked_at") or 0) \
            >= STALE_RECHECK_S
        recent = wire.changes_filter(since, sweep)
        writer = RunWriter(self, report)
        try:
            changed, all_new, storage = await asyncio.gather(
                self._changes(old_teams, since, recent, writer.add),
                self._projects(new_teams, None), self._storage(teams))
            stale: dict[tuple[str, str], list[str]] = defaultdict(list)
            now = self.clock()
            if sweep:  # the heartbeats just read are in the store before it is asked
                await writer.flush()
                for row in self.store.stale_running(since - STALE_WINDOW_S, since):
                    stale[(row["team"], row["project"])].append(row["name"])
            # Then, many projects per request (aliases): stale running runs by name, every
            # active run of a team not seen before.
            jobs = [(t, p, {"name": {"$in": names[i:i + STALE_NAMES]}}, None)
                    for (t, p), names in stale.items()
                    for i in range(0, len(names), STALE_NAMES)]
            active = {"$or": [{"heartbeatAt": {"$gte": wire.iso(window_start)}},
                              {"state": "running"}]}
            jobs += [(t, p, active, None) for t in new_teams for p, _ in all_new[t]]
            writer.add(await self._runs(jobs))
            runs = await writer.finish()
        finally:
            writer.cancel()
        with self.cache.transaction() as conn:
            for team in teams:
                UsageStore.write_projects(conn, team, changed.get(team) or all_new.get(team)
                                          or [])
            UsageStore.write_storage(conn, storage, now)
            merged = {**changed, **all_new}
            watermark = max(watermark, _watermark(runs, merged, 0))
            UsageStore.put(conn, "watermark", watermark)
            UsageStore.put(conn, "server_start", server_start or watermark)
            UsageStore.put(conn, "skew", skew)
            UsageStore.put(conn, "refreshed_at", now)
            if sweep:
                UsageStore.put(conn, "stale_checked_at", now)
        asked = {(t, p) for t in old_teams for p, _ in changed[t]} | {(t, p) for t, p, _, _ in jobs}
        report.projects_read, report.runs_read = len(asked), len(runs)
        report.requests = self.client.requests_sent - sent
        report.seconds = time.perf_counter() - started
        return report

    # ---- W&B requests ----------------------------------------------------------------------

    async def reread(self, projects: list[tuple[str, str]]) -> int:
        """Every run of these (team, project)s active in the window, read again: run
        policies ask for it where the audit log names a project whose runs were updated
        (a re-tag moves no `heartbeatAt`, so the incremental reads miss it). GPU facts a
        run's answer lacks are kept from the store. How many runs were read."""
        window = self.store.get("window_start")
        if window is None or not projects:
            return 0
        active = {"$or": [{"heartbeatAt": {"$gte": wire.iso(float(window))}},
                          {"state": "running"}]}
        runs = await self._runs([(t, p, active, None) for t, p in projects])
        with self.cache.transaction() as conn:
            held = self.store.held(conn, runs)
            kept = []
            for run in runs:
                old = held.get((run.team, run.project, run.name))
                if not run.gpu_known and old is not None and old["gpu_known"]:
                    run = run.with_gpus(int(old["gpus"]), True)
                kept.append(run)
            self.store.write_runs(conn, kept, held=held)
        return len(runs)

    async def _server_time(self) -> tuple[float | None, float]:
        """(the server's clock now, server minus ours) from an HTTP `Date` header; an
        unauthenticated request, so no key goes anywhere. (None, 0) when there is none."""
        ours = self.clock()
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.head(f"{self.client.base_url}/graphql")
            server = parsedate_to_datetime(response.headers["date"]).timestamp()
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            return None, 0.0
        skew = server - ours
        # Sub-minute differences are request latency and the header's 1-second resolution,
        # not a clock problem; ignoring them keeps two refreshes' counts identical.
        return server, 0.0 if abs(skew) < SKEW_IGNORED_S else skew

    async def _team_names(self) -> list[str]:
        """The org's teams from the cache, synced first when it has none or is a day old
        (a team created since would be missing)."""
        names = [r[0] for r in self.cache.query(
            "SELECT name FROM teams WHERE readable = 1 ORDER BY name")]
        age = self.cache.age("org", self.clock())
        if names and age is not None and age < TEAMS_MAX_AGE_S:
            return names
        from ..sync import Syncer

        await Syncer(self.client, self.cache, clock=self.clock).full(invites=False)
        return [r[0] for r in self.cache.query(
            "SELECT name FROM teams WHERE readable = 1 ORDER BY name")]

    async def _projects(self, teams: list[str], since: float | None
                        ) -> dict[str, list[tuple[str, float | None]]]:
        """Each team's projects (name, updatedAt); with `since`, only those updated after."""
        if degraded.needed(self.lacks):
            return await degraded.projects(self, teams, since, self.lacks)
        out: dict[str, list[tuple[str, float | None]]] = {t: [] for t in teams}
        filters = json.dumps({} if since is None else
                             {"updated_at": {"$gt": wire.iso(since)}})

        def request(chunk: list[tuple[str, str | None]], first: int
                    ) -> tuple[str, dict[str, Any]]:
            return wire.batched(
                "WbadminQuotaProjects", "entity", wire.PROJECTS_SELECTION,
                [{"name": t, "FILTERS": filters, "FIRST": first, "AFTER": c}
                 for t, c in chunk], {"name": "String!"},
                {"FILTERS": "JSONString", "FIRST": "Int", "AFTER": "String"})

        def take(team: str, nodes: list[dict]) -> None:
            out[team].extend((n["name"], parse_time(n.get("updatedAt")))
                             for n in nodes if n.get("name"))

        await self.client.paginate_many(teams, self.team_batch, request, take,
                                        lambda entity: (entity or {}).get("projects"),
                                        kind="quota.projects", firsts=(self.page_size,))
        return out

    async def _changes(self, teams: list[str], since: float, recent: Any,
                       on_runs: Callable[[list[RunFact]], None]
                       ) -> dict[str, list[tuple[str, float | None]]]:
        """Each team's projects updated after `since`, each with its `recent` runs, in one
        request per few teams (`Entity.projects` and each project's `runs`, nested): the
        cost of a refresh follows the projects that changed, and asking for each by name
        as well cost as much again. Runs go to `on_runs` as their answers arrive. Projects
        with more recent runs than one nested page have the rest asked for as soon as a
        request's worth of them is known, while the other teams' answers are still coming."""
        if degraded.needed(self.lacks):
            return await degraded.changes(self, teams, since, recent, on_runs, self.lacks)
        projects: dict[str, list[tuple[str, float | None]]] = {t: [] for t in teams}
        follow_ups: list[asyncio.Task[list[RunFact]]] = []
        waiting: list[tuple[str, str, Any, str | None]] = []  # not yet asked for

        def follow_up(jobs: list[tuple[str, str, Any, str | None]]) -> None:
            follow_ups.append(asyncio.ensure_future(self._runs(jobs)))

        pfilters = json.dumps({"updated_at": {"$gt": wire.iso(since)}})
        rfilters = json.dumps(recent)

        def request(chunk: list[tuple[str, str | None]], first: int, runs_first: int
                    ) -> tuple[str, dict[str, Any]]:
            return wire.batched(
                "WbadminQuotaChanges", "entity", wire.CHANGES_SELECTION,
                [{"name": t, "PFILTERS": pfilters, "RFILTERS": rfilters,
                  "FIRST": first, "RUNS_FIRST": runs_first, "AFTER": c}
                 for t, c in chunk], {"name": "String!"},
                {"PFILTERS": "JSONString", "RFILTERS": "JSONString", "FIRST": "Int",
                 "RUNS_FIRST": "Int", "AFTER": "String"})

        def take(team: str, nodes: list[dict]) -> None:
            runs: list[RunFact] = []
            more: list[tuple[str, str, Any, str | None]] = []
            for node in nodes:
                name = node.get("name")
                if not name:
                    continue
                projects[team].append((name, parse_time(node.get("updatedAt"))))
                conn = node.get("runs") or {}
                edges = conn.get("edges") or []
                for edge in edges:
                    if (fact := wire.run_fact(team, name, edge.get("node") or {})) is not None:
                        runs.append(fact)
                if (conn.get("pageInfo") or {}).get("hasNextPage") and edges:
                    more.append((team, name, recent, edges[-1].get("cursor")))
            on_runs(runs)
            waiting.extend(more)
            if len(waiting) >= self.project_batch:
                follow_up(waiting[:])
                waiting.clear()

        try:
            await self.client.paginate_many(
                teams, self.changes_batch, request, take,
                lambda entity: (entity or {}).get("projects"),
                kind="quota.changes", firsts=(self.page_size, self.nested_runs))
            if waiting:
                follow_up(waiting)
            for task in follow_ups:
                on_runs(await task)
        finally:  # on failure, no follow-up is left running or unheard
            for task in follow_ups:
                task.cancel()
            await asyncio.gather(*follow_ups, return_exceptions=True)
        return projects

    async def _runs(self, jobs: list[tuple[str, str, Any, str | None]],
                    on_page: Callable[[list[RunFact]], None] | None = None) -> list[RunFact]:
        """The runs matching each (team, project, filter), page by page from the cursor
        given (None: the first page); `on_page` is told of each answer's runs."""
        out: list[RunFact] = []
        pending: dict[int, str | None] = {i: job[3] for i, job in enumerate(jobs)}
        texts = [json.dumps(job[2]) for job in jobs]

        async def batch(chunk: list[tuple[int, str | None]], first: int
                        ) -> dict[int, str | None]:
            doc, variables = wire.batched(
                "WbadminQuotaRuns", "project", wire.RUNS_SELECTION,
                [{"name": jobs[j][1], "entityName": jobs[j][0], "FILTERS": texts[j],
                  "FIRST": first, "AFTER": c} for j, c in chunk],
                {"name": "String!", "entityName": "String!"},
                {"FILTERS": "JSONString", "FIRST": "Int", "AFTER": "String"})
            data = await self.client.graphql(doc, variables)
            more: dict[int, str | None] = {}
            page: list[RunFact] = []
            for i, (j, _) in enumerate(chunk):
                team, project = jobs[j][0], jobs[j][1]
                conn = ((data.get(f"r{i}") or {}).get("runs")) or {}
                edges = conn.get("edges") or []
                for edge in edges:
                    fact = wire.run_fact(team, project, edge.get("node") or {})
                    if fact is not None:
                        page.append(fact)
                # The SDK pages runs from the last edge's cursor; so do we.
                if (conn.get("pageInfo") or {}).get("hasNextPage") and edges:
                    more[j] = edges[-1].get("cursor")
            out.extend(page)
            if on_page is not None:
                on_page(page)
            return more

        while pending:
            items = list(pending.items())
            results = await self.client.batch_sizes.run_all(
                "quota.runs", items, self.project_batch, batch, (self.page_size,))
            pending = {j: c for r in results for j, c in r.items()}
        return out

    async def _storage(self, teams: list[str]) -> dict[str, int | None]:
        out: dict[str, int | None] = {}

        async def batch(chunk: list[str]) -> None:
            doc, variables = wire.batched("WbadminQuotaStorage", "entity",
                                          wire.STORAGE_SELECTION, [{"name": t} for t in chunk],
                                          {"name": "String!"}, {})
            data = await self.client.graphql(doc, variables)
            for i, team in enumerate(chunk):
                node = data.get(f"r{i}") or {}
                value = node.get("storageBytes")
                out[team] = int(value) if isinstance(value, int | float | str) and \
                    str(value).isdigit() else None

        await self.client.batch_sizes.run_all("quota.storage", teams, self.team_batch, batch)
        return out

    async def _fill_gpus(self, all_runs: list[RunFact], wanted: Callable[[RunFact], bool],
                         report: RefreshReport) -> list[RunFact]:
        """Runs without `system.*` samples: read `gpu_count` from their wandb-metadata.json.
        Returns `all_runs` with those found filled in."""
        at = [i for i, r in enumerate(all_runs) if wanted(r)]
        runs = [all_runs[i] for i in at]
        if not runs:
            return all_runs
        urls: dict[int, str] = {}

        async def batch(chunk: list[int]) -> None:
            doc, variables = wire.batched(
                "WbadminQuotaRunFiles", "project", wire.FILES_SELECTION,
                [{"name": runs[k].project, "entityName": runs[k].team, "RUN": runs[k].name}
                 for k in chunk],
                {"name": "String!", "entityName": "String!"}, {"RUN": "String!"})
            data = await self.client.graphql(doc, variables)
            for i, k in enumerate(chunk):
                files = (((data.get(f"r{i}") or {}).get("run") or {}).get("files") or {})
                for edge in files.get("edges") or []:
                    if (edge.get("node") or {}).get("url"):
                        urls[k] = edge["node"]["url"]

        await self.client.batch_sizes.run_all("quota.files", list(range(len(runs))),
                                              self.project_batch, batch)
        metas = await asyncio.gather(*(self._metadata(u) for u in urls.values()))
        report.metadata_files += len(urls)
        for index, meta in zip(urls, metas, strict=True):
            gpus = wire.gpus_from_metadata(meta)
            if gpus is not None:
                runs[index] = runs[index].with_gpus(gpus, True)
        report.missing_metadata += sum(1 for r in runs if not r.gpu_known)
        out = list(all_runs)
        for i, run in zip(at, runs, strict=True):
            out[i] = run
        return out

    async def _metadata(self, url: str) -> Any:
        """A run file's JSON. Our API key goes only to the W&B host itself (file URLs on
        other hosts are pre-signed and must not receive it)."""
        try:
            base = urlsplit(self.client.base_url)
            target = urlsplit(url)
            if (target.scheme, target.netloc) == (base.scheme, base.netloc):
                response = await self.client.get_raw(target.path, auth="graphql", api="files")
            else:
                async with httpx.AsyncClient(timeout=30) as http:
                    response = await http.get(url)
                    response.raise_for_status()
            return response.json()
        except Exception:  # an unreadable file is "no metadata", reported as such
            return None


def _watermark(runs: list[RunFact], projects: dict[str, list[tuple[str, float | None]]],
               floor: float) -> float:
    """The newest server timestamp seen (runs' created/heartbeat, projects' updatedAt)."""
    best = floor
    for r in runs:
        best = max(best, r.created_at, r.heartbeat_at)
    for items in projects.values():
        for _, updated in items:
            if updated is not None:
                best = max(best, updated)
    return best
