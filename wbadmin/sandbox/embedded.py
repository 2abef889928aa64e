"""The embedded sandbox: the same server, on a background thread, for the TUI and the CLI.

wbadmin runs it when no W&B credentials are configured (or with `--sandbox`), signed in as
the demo org admin, and talks to it through the same client code path it uses for W&B.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .db import Database
from .server import SandboxServer
from .store import default_db_path, open_seeded

# The identity wbadmin signs in as on the embedded sandbox: the demo org admin.
DEMO_ADMIN = "alice"


@dataclass
class EmbeddedSandbox:
    server: SandboxServer
    db: Database
    username: str
    api_key: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        self.server.stop()
        self.db.close()


def start_embedded(db_path: str | Path | None = None, *, username: str = DEMO_ADMIN,
                   in_memory: bool = False, now: int | None = None) -> EmbeddedSandbox:
    """Open (seeding if new) the sandbox state and serve it on a free loopback port."""
    path = None if in_memory else (db_path or default_db_path())
    db = open_seeded(path, "demo", now=now)
    key = db.scalar("SELECT k.key FROM api_keys k JOIN users u ON u.id = k.user_id "
                    "WHERE u.username = ? ORDER BY k.id LIMIT 1", (username,))
    if key is None:
        db.close()
        raise LookupError(f"the sandbox has no identity named {username!r}")
    server = SandboxServer(db)
    server.start()
    return EmbeddedSandbox(server=server, db=db, username=username, api_key=key)
