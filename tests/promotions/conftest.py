"""Fixtures for the promotion tests: a `world` that runs the promotion service as any demo
identity against the sandbox over real HTTP (one shared journal), policy files, a webhook
receiver on a free loopback port, and the CLI fixtures (isolated home, LIVE profile)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.cli.conftest import cli, live  # noqa: F401  (fixtures)
from tests.conftest import key_of
from tests.core.conftest import isolated_home, memory_keyring  # noqa: F401  (autouse)
from wbadmin.core.client import Client
from wbadmin.core.engine import Engine
from wbadmin.core.journal import Journal
from wbadmin.core.promotions import PromotionService, load_policy, parse_ref
from wbadmin.core.promotions.policy import Policy, parse_policy
from wbadmin.core.promotions.record import parse_record
from wbadmin.core.promotions.wire import Version, membership

T = TypeVar("T")
ORG = "inference-systems"
CHATBOT = f"{ORG}/model/support-chatbot-ft"
SDK_PATH = f"{ORG}/wandb-registry-model/support-chatbot-ft"

ONE_ADMIN = """
[registries.model.production]
approvals = 1
[registries.model.staging]
"""


@dataclass
class World:
    """The promotion service as any identity; `policy` is swapped by tests."""

    base_url: str
    journal_path: Path
    policy: Policy = field(default_factory=lambda: parse_policy(ONE_ADMIN, None))

    def use(self, text: str, path: Path | None = None) -> Policy:
        self.policy = parse_policy(text, path)
        return self.policy

    def client(self, user: str) -> Client:
        return Client(self.base_url, key_of(user), scim_username=user, backoff_base=0.05)

    def service(self, client: Client, journal: Journal) -> PromotionService:
        return PromotionService(client, self.policy, Engine(journal, profile="test"))

    def as_(self, user: str, fn: Callable[[PromotionService], Awaitable[T]]) -> T:
        """Run `fn(service)` as `user` in a fresh event loop."""

        async def go() -> T:
            async with self.client(user) as client:
                with Journal(self.journal_path) as journal:
                    return await fn(self.service(client, journal))

        return asyncio.run(go())

    def version(self, ref: str) -> Version:
        """A version as alice (org admin) reads it, for before/after comparisons."""

        async def go() -> Version:
            async with self.client("alice") as client:
                found = await membership(client, parse_ref(ref))
                assert found is not None, ref
                return found

        return asyncio.run(go())

    def record(self, ref: str):
        return parse_record(self.version(ref).metadata)

    def state(self, ref: str) -> tuple[Any, ...]:
        """Everything a decision could change on a version and on the production alias."""
        v = self.version(ref)
        holder = self.version(ref.rsplit(":", 1)[0] + ":production")
        return (json.dumps(v.metadata, sort_keys=True), sorted(v.tags), sorted(v.aliases),
                holder.version)

    def journal_entries(self) -> list[Any]:
        with Journal(self.journal_path) as journal:
            return journal.query(newest_first=False)


@pytest.fixture
def world(sandbox, tmp_path: Path) -> World:
    return World(sandbox.base_url, tmp_path / "journal.sqlite3")


def policy_from(path: Path) -> Policy:
    return load_policy(path)


@dataclass
class Receiver:
    """A tiny webhook receiver: /ok answers 200, /fail answers 500, all bodies are kept."""

    url: str
    hits: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.hits if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hits: list[tuple[str, dict[str, Any]]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                hits.append((self.path, body))
            self.send_response(500 if self.path.startswith("/fail") else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(f"http://127.0.0.1:{server.server_address[1]}", hits)
    server.shutdown()
    server.server_close()
