"""Only attested operations, for the documents built at run time (issue 17): the batched
queries of a full sync of `large` (`core/queries.py::batched`: teams, projects, registry
members), a team refresh (projects with their newest run), full and incremental quota
refreshes (`core/quotas/wire.py::batched` as `quotas/refresh.py` calls it: projects,
changes, runs, storage, run files) and doctor's `__type` probes, each sent over HTTP to the
sandbox by a recording client and compared, field by field and argument by argument, with
the pinned wandb SDK's documents (tests/attested_graphql.py).

The session plugin (tests/attested_recording.py) checks whatever the whole run sends; this
test makes the check of these paths independent of which other tests run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.attested_graphql import EXCEPTIONS, RUNTIME_ONLY_EXCEPTIONS, deviations
from tests.attested_recording import shape
from tests.conftest import SEED, SEED_NOW, key_of
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client, operation_name
from wbadmin.core.doctor_schema import check_schema
from wbadmin.core.quotas import QuotaService
from wbadmin.core.quotas.policy import parse_policy
from wbadmin.core.sync import Syncer
from wbadmin.core.wire_documents import all_documents
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_preset
from wbadmin.sandbox.server import SandboxServer

NOW = SEED_NOW // 3600 * 3600 + 1800  # the quota tests' clock: half an hour past the seed
TEAM = "foundation-models"  # `large`'s biggest team: 1,000 projects, several pages
POLICY = parse_policy("[teams.foundation-models]\ngpu_hours = 500\n", Path("quotas.toml"))


class RecordingClient(Client):
    """A real client to the sandbox that also keeps every GraphQL document it sent."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.documents: list[str] = []

    async def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict:
        self.documents.append(query)
        return await super().graphql(query, variables)


def sent(base_url: str, cache_path: Path) -> dict[str, list[str]]:
    """{step: the documents it sent}, alice driving each step against `base_url`."""
    now = [float(NOW)]
    out: dict[str, list[str]] = {}

    async def go() -> None:
        async with RecordingClient(base_url, key_of("alice"), scim_username="alice") as client:
            cache = Cache(cache_path)
            try:
                syncer = Syncer(client, cache, clock=lambda: now[0], invite_max_age_days=30)
                quotas = QuotaService(cache, POLICY, client=client, clock=lambda: now[0])
                steps = {
                    "full sync": syncer.full,
                    "team refresh": lambda: syncer.refresh_team(TEAM),
                    "quota refresh, full": lambda: quotas.refresh(full=True),
                    "quota refresh, incremental": quotas.refresh,
                    "doctor's schema probes": lambda: check_schema(client, all_documents()),
                }
                for step, run in steps.items():
                    before = len(client.documents)
                    await run()
                    out[step] = client.documents[before:]
                    now[0] += 600  # ten minutes between steps, so the incremental has a since
            finally:
                cache.close()

    asyncio.run(go())
    return out


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[str]]]:
    db = Database()
    seed_preset(db, "large", seed=SEED, now=SEED_NOW)
    server = SandboxServer(db)
    server.start()
    try:
        yield sent(server.base_url, tmp_path_factory.mktemp("attested") / "cache.sqlite3")
    finally:
        server.stop()
        db.close()


def test_each_step_sends_its_runtime_built_documents(documents) -> None:
    """The check below means something: the batched documents are among those sent, with
    many aliases in one request."""
    names = {step: {operation_name(d) for d in docs} for step, docs in documents.items()}
    assert {"WbadminTeams", "WbadminProjects", "WbadminRegistryMembers"} <= names["full sync"]
    assert {"WbadminTeams", "WbadminProjects"} <= names["team refresh"]
    assert {"WbadminQuotaProjects", "WbadminQuotaRuns", "WbadminQuotaStorage"} \
        <= names["quota refresh, full"]
    assert "WbadminQuotaChanges" in names["quota refresh, incremental"]
    assert names["doctor's schema probes"] == {"WbadminTypeProbe"}
    assert any(" r1: " in d for d in documents["full sync"])
    assert any(" r1: " in d for d in documents["quota refresh, full"])


def distinct(documents: list[str]) -> list[str]:
    """One document per shape: `r0 … r39` batches of one selection are checked once."""
    return list({shape(d): d for d in dict.fromkeys(documents)}.values())


def test_every_document_sent_is_attested_or_a_listed_exception(documents) -> None:
    unlisted = {f"{step}: {operation_name(doc)}: {d}"
                for step, docs in documents.items() for doc in distinct(docs)
                for d in deviations(doc) if d not in EXCEPTIONS}
    assert not unlisted, ("sent, but never by the pinned wandb SDK (make it what the SDK "
                          f"sends, or add it to EXCEPTIONS with a reason): {sorted(unlisted)}")


def test_no_runtime_only_exception_outlives_what_sends_it(documents) -> None:
    found = {d for docs in documents.values() for doc in distinct(docs) for d in deviations(doc)}
    assert found >= RUNTIME_ONLY_EXCEPTIONS
