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
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from ... import clock
from ..batch_sizes import MAX_NODES
from ..cache import Cache, bulk_load
from ..client import Client
from ..wire_time import parse_time
from . import degraded, wire
from .gpu_files import fill_gpus
from .staged import StagedRuns
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

    A full computation tells each page of runs as it arrives (`seen`: a mark for each run,
    staged beside it, or None), then hands over its transaction to write what was made of
    them (`commit`: the staged read, just copied into the emptied store; `distinct`: no
    run was read twice); an incremental refresh's writer calls `written` on its own thread
    after each batch of runs is in the store."""

    def seen(self, runs: list[RunFact]) -> list[int] | None: ...

    def commit(self, conn: sqlite3.Connection, staged: StagedRuns, distinct: bool
               ) -> None: ...

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
        staged = StagedRuns(self.cache.conn, self.observer.seen if self.observer else None)
        try:
            await self._runs(jobs, staged.add, keep=False)
            staged.fill(await self._fill_gpus(staged.unfilled, lambda r: True, report))
            storage = await self._storage(teams)
            now = self.clock()
            with self.cache.transaction() as conn:
                UsageStore.clear(conn)
                with bulk_load(conn, "quota_runs"):
                    distinct = staged.write(conn)
                if self.observer is not None:
                    self.observer.commit(conn, staged, distinct)
                self._write_full(conn, teams, projects, storage, window_start, staged.newest,
                                 server_start, skew, now)
        finally:
            staged.close()
        report.projects_read, report.runs_read = len(jobs), staged.count
        report.requests = self.client.requests_sent - sent
        report.seconds = time.perf_counter() - started
        return report

    @staticmethod
    def _write_full(conn: sqlite3.Connection, teams: list[str],
                    projects: dict[str, list[tuple[str, float | None]]],
                    storage: dict[str, int | None], window_start: float, newest: float,
                    server_start: float | None, skew: float, now: float) -> None:
        """A full computation's projects, storage and state, beside its runs."""
        for team in teams:
            UsageStore.write_projects(conn, team, projects[team])
        UsageStore.write_storage(conn, storage, now)
        UsageStore.put(conn, "window_start", window_start)
        watermark = _watermark(newest, projects, window_start)
        UsageStore.put(conn, "watermark", watermark)
        UsageStore.put(conn, "server_start", server_start or watermark)
        UsageStore.put(conn, "skew", skew)
        UsageStore.put(conn, "full_at", now)
        UsageStore.put(conn, "refreshed_at", now)
        UsageStore.put(conn, "stale_checked_at", now)

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
            watermark = max(watermark, _watermark(_newest(runs), merged, 0))
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
                    on_page: Callable[[list[RunFact]], None] | None = None,
                    keep: bool = True) -> list[RunFact]:
        """The runs matching each (team, project, filter), page by page from the cursor
        given (None: the first page); `on_page` is told of each answer's runs (`keep`:
        they are returned too).

        A few workers (as many as the client sends at once) take the projects' first pages,
        many projects per request; a project with more pages is followed by the worker that
        read it, at once, with as many runs per page as a full request asks (the 60 pages of
        500 runs of a 30,000-run project would otherwise wait behind every first page, and
        then go one by one while the server idles between them)."""
        out: list[RunFact] = []
        texts = [json.dumps(job[2]) for job in jobs]
        sizes = self.client.batch_sizes
        per_request = self.page_size * max(1, self.project_batch)  # runs a request asks

        async def batch(chunk: list[tuple[int, str | None]], first: int) -> None:
            doc, variables = wire.batched(
                "WbadminQuotaRuns", "project", wire.RUNS_SELECTION,
                [{"name": jobs[j][1], "entityName": jobs[j][0], "FILTERS": texts[j],
                  "FIRST": first, "AFTER": c} for j, c in chunk],
                {"name": "String!", "entityName": "String!"},
                {"FILTERS": "JSONString", "FIRST": "Int", "AFTER": "String"})
            data = await self.client.graphql(doc, variables)
            more: list[tuple[int, str | None]] = []
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
                    more.append((j, edges[-1].get("cursor")))
            if keep:
                out.extend(page)
            if on_page is not None:
                on_page(page)
            if more:
                size = sizes.fields("quota.runs", self.project_batch)
                for k in range(0, len(more), size):
                    part = more[k:k + size]
                    await sizes.run("quota.runs", part, batch,
                                    (max(self.page_size, per_request // len(part)),))

        size = sizes.fields("quota.runs", self.project_batch)
        firsts = [(i, job[3]) for i, job in enumerate(jobs)]
        chunks = iter([firsts[k:k + size] for k in range(0, len(firsts), size)])

        async def worker() -> None:
            for chunk in chunks:  # shared: each worker takes the next chunk
                await sizes.run("quota.runs", chunk, batch, (self.page_size,))

        await _all(worker() for _ in range(self.client.max_in_flight))
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
        """`gpu_files.fill_gpus`, counted in `report`."""
        out, files, missing = await fill_gpus(self.client, all_runs, wanted,
                                              self.project_batch)
        report.metadata_files += files
        report.missing_metadata += missing
        return out


def _watermark(newest_run: float, projects: dict[str, list[tuple[str, float | None]]],
               floor: float) -> float:
    """The newest server timestamp seen (`newest_run`: the runs' created/heartbeat times,
    `_newest`; projects' updatedAt)."""
    best = max(floor, newest_run)
    for items in projects.values():
        for _, updated in items:
            if updated is not None:
                best = max(best, updated)
    return best


async def _all(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run them together; the first failure cancels the rest and is raised as it is."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _newest(runs: list[RunFact]) -> float:
    return max((max(r.created_at, r.heartbeat_at) for r in runs), default=0.0)
