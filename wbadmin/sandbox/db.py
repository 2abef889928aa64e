"""The sandbox's state: one SQLite file (or memory) holding a W&B organization.

Times are integer epoch seconds (UTC); JSON-shaped values are TEXT holding JSON.
Integer primary keys become W&B-style GraphQL ids (`base64("Type:<int>")`) in `ids.py`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..private_files import private_file

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One organization per sandbox (a Dedicated instance is exactly one org; a Multi-tenant
-- sandbox models the one org the admin works in).
CREATE TABLE IF NOT EXISTS orgs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    entity_id   INTEGER NOT NULL,               -- the org entity (registries live under it)
    deployment  TEXT NOT NULL DEFAULT 'dedicated'
                CHECK (deployment IN ('dedicated', 'multi_tenant')),
    seats       INTEGER NOT NULL DEFAULT 100,   -- Models seats (Dedicated)
    created_at  INTEGER NOT NULL
);

-- Entities: personal (one per user), team, and the org entity.
CREATE TABLE IF NOT EXISTS entities (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    kind                 TEXT NOT NULL CHECK (kind IN ('user', 'team', 'organization')),
    org_id               INTEGER,
    storage_bytes        INTEGER NOT NULL DEFAULT 0,
    private_only         INTEGER NOT NULL DEFAULT 0,
    default_access       TEXT NOT NULL DEFAULT 'USER_READ',
    code_saving_enabled  INTEGER NOT NULL DEFAULT 1,
    read_only            INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    email           TEXT UNIQUE,                -- NULL for service accounts
    entity_id       INTEGER,                    -- personal entity; NULL for service accounts
    org_id          INTEGER,                    -- NULL: not (or no longer) in the org
    org_role        TEXT CHECK (org_role IN ('admin', 'member', 'viewer')),
    account_type    TEXT NOT NULL DEFAULT 'USER' CHECK (account_type IN ('USER', 'SERVICE')),
    sa_scope        TEXT CHECK (sa_scope IN ('org', 'team')),  -- service accounts only
    sa_team_id      INTEGER,                    -- team of a team-scoped service account
    active          INTEGER NOT NULL DEFAULT 1,
    instance_admin  INTEGER NOT NULL DEFAULT 0, -- `admin` on User: global instance admin
    models_seat     TEXT NOT NULL DEFAULT 'full' CHECK (models_seat IN ('full', 'viewer', 'none')),
    weave_role      TEXT NOT NULL DEFAULT 'full' CHECK (weave_role IN ('full', 'viewer', 'none')),
    created_at      INTEGER NOT NULL,
    last_active_at  INTEGER,                    -- NULL: never active
    days_active     INTEGER NOT NULL DEFAULT 0,
    deleted_at      INTEGER,
    version         INTEGER NOT NULL DEFAULT 1  -- SCIM ETag
);

CREATE TABLE IF NOT EXISTS api_keys (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key          TEXT NOT NULL UNIQUE,          -- the secret (>= 40 chars)
    name         TEXT NOT NULL,                 -- what `apiKeys { name }` shows
    description  TEXT,
    created_at   INTEGER NOT NULL
);

-- Custom roles of the org (SCIM /Roles): inherit from member or viewer, add permissions.
CREATE TABLE IF NOT EXISTS custom_roles (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    inherited_from  TEXT NOT NULL CHECK (inherited_from IN ('member', 'viewer')),
    permissions     TEXT NOT NULL DEFAULT '[]', -- JSON list of permission names
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    UNIQUE (org_id, name)
);

-- Team membership. `role` is admin | member | viewer, or 'custom' with custom_role_id set.
CREATE TABLE IF NOT EXISTS team_members (
    team_id         INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer', 'custom')),
    custom_role_id  INTEGER REFERENCES custom_roles(id),
    joined_at       INTEGER NOT NULL,
    seq             INTEGER NOT NULL,           -- listing order: a new member sorts last
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX IF NOT EXISTS team_members_user ON team_members(user_id);

-- Pending team invites (by email, or by username of an existing user).
CREATE TABLE IF NOT EXISTS invites (
    id            INTEGER PRIMARY KEY,
    team_id       INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    email         TEXT,
    to_user_id    INTEGER REFERENCES users(id),
    from_user_id  INTEGER REFERENCES users(id),
    admin         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    seq           INTEGER NOT NULL
);

-- Projects ("models" in W&B's GraphQL). Registries are projects named `wandb-registry-<name>`
-- under the org entity.
CREATE TABLE IF NOT EXISTS projects (
    id                  INTEGER PRIMARY KEY,
    entity_id           INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    description         TEXT,
    access              TEXT NOT NULL DEFAULT 'PRIVATE', -- PRIVATE | RESTRICTED | USER_READ ...
    owner_id            INTEGER REFERENCES users(id),
    storage_bytes       INTEGER NOT NULL DEFAULT 0,
    is_registry         INTEGER NOT NULL DEFAULT 0,
    allow_all_types     INTEGER NOT NULL DEFAULT 1,
    artifact_types      TEXT NOT NULL DEFAULT '[]',   -- JSON list (registries)
    protected_aliases   TEXT NOT NULL DEFAULT '[]',   -- JSON list (registries)
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (entity_id, name)
);

-- Per-project user roles (registry roles: admin | member | viewer | restricted_viewer).
CREATE TABLE IF NOT EXISTS project_members (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE TABLE IF NOT EXISTS project_team_members (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    team_id     INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    PRIMARY KEY (project_id, team_id)
);

CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,                -- the run id, e.g. "ab12cd34"
    display_name  TEXT NOT NULL,
    state         TEXT NOT NULL,                -- running | finished | failed | crashed | killed
    user_id       INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL,
    runtime_s     INTEGER NOT NULL DEFAULT 0,
    gpu_count     INTEGER NOT NULL DEFAULT 0,
    gpu_type      TEXT,
    group_name    TEXT,
    job_type      TEXT,
    tags          TEXT NOT NULL DEFAULT '[]',   -- JSON list
    config        TEXT NOT NULL DEFAULT '{}',   -- JSON object
    summary       TEXT NOT NULL DEFAULT '{}',   -- JSON object
    notes         TEXT,
    UNIQUE (project_id, name)
);
CREATE INDEX IF NOT EXISTS runs_project_created ON runs(project_id, created_at);
-- "Runs created or heart-beating since" (quota refreshes) is answered from the index alone.
CREATE INDEX IF NOT EXISTS runs_project_activity ON runs(project_id, created_at, heartbeat_at);

-- Artifact collections: sequences (in team projects) and portfolios (registry collections).
CREATE TABLE IF NOT EXISTS artifact_collections (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    type_name    TEXT NOT NULL,                 -- "model", "dataset", ...
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('SEQUENCE', 'PORTFOLIO')),
    description  TEXT,
    tags         TEXT NOT NULL DEFAULT '[]',    -- JSON list of collection tags
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (project_id, name)
);

-- Artifact versions. Each belongs to exactly one sequence (where it was logged).
CREATE TABLE IF NOT EXISTS artifacts (
    id                 INTEGER PRIMARY KEY,
    sequence_id        INTEGER NOT NULL REFERENCES artifact_collections(id) ON DELETE CASCADE,
    version_index      INTEGER NOT NULL,
    digest             TEXT NOT NULL,
    description        TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}', -- JSON object (promotion records live here)
    state              TEXT NOT NULL DEFAULT 'COMMITTED',
    size               INTEGER NOT NULL DEFAULT 0,
    file_count         INTEGER NOT NULL DEFAULT 0,
    commit_hash        TEXT,
    created_by_run_id  INTEGER REFERENCES runs(id),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (sequence_id, version_index)
);

-- Membership of an artifact in a collection: every artifact is a member of its sequence;
-- linking it into a registry collection (portfolio) adds a membership with its own index.
CREATE TABLE IF NOT EXISTS memberships (
    id             INTEGER PRIMARY KEY,
    collection_id  INTEGER NOT NULL REFERENCES artifact_collections(id) ON DELETE CASCADE,
    artifact_id    INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    version_index  INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (collection_id, artifact_id),
    UNIQUE (collection_id, version_index)
);

-- An alias names one artifact within one collection (adding it elsewhere moves it).
CREATE TABLE IF NOT EXISTS aliases (
    id             INTEGER PRIMARY KEY,
    collection_id  INTEGER NOT NULL REFERENCES artifact_collections(id) ON DELETE CASCADE,
    artifact_id    INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    alias          TEXT NOT NULL,
    UNIQUE (collection_id, alias)
);

CREATE TABLE IF NOT EXISTS artifact_tags (
    id           INTEGER PRIMARY KEY,
    artifact_id  INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    UNIQUE (artifact_id, name)
);

-- Run files (wandb-metadata.json and friends), served at /files/<run id>/<name>.
CREATE TABLE IF NOT EXISTS run_files (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    content     BLOB NOT NULL,
    mimetype    TEXT NOT NULL DEFAULT 'application/json',
    created_at  INTEGER NOT NULL,
    UNIQUE (run_id, name)
);

-- W&B-style audit log entries written by the sandbox for the actions it performs.
-- Views of a project: reports (`runs`; their drafts `runs/draft`, under `parent_id`) and saved
-- workspaces (`project-view`). `spec` is the JSON text exactly as the client sent it.
CREATE TABLE IF NOT EXISTS views (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    display_name  TEXT,
    description   TEXT,
    spec          TEXT NOT NULL,
    parent_id     INTEGER REFERENCES views(id) ON DELETE CASCADE,
    created_by    INTEGER REFERENCES users(id),
    created_using TEXT,                         -- WANDB_SDK | WANDB_UI
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS views_by_project ON views (project_id, type, name);

CREATE TABLE IF NOT EXISTS audit_log (
    id         INTEGER PRIMARY KEY,
    timestamp  INTEGER NOT NULL,
    action     TEXT NOT NULL,
    actor_id   INTEGER,
    detail     TEXT NOT NULL DEFAULT '{}'       -- JSON object of the entry's other fields
);
"""


class Database:
    """A handle on the sandbox's SQLite state, safe to use from several threads.

    The server executes requests on its event-loop thread, while tests and the embedded
    sandbox read from others; one connection guarded by a re-entrant lock keeps that simple
    and correct (SQLite connections must not be used by two threads at once).
    File databases use WAL so another process (`wbadmin sandbox keys`) can read meanwhile.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None or str(path) == ":memory:" else Path(path)
        if self.path is not None:
            private_file(self.path)  # it holds the demo identities' API keys
        self.lock = threading.RLock()
        self._conn = sqlite3.connect(
            ":memory:" if self.path is None else str(self.path),
            check_same_thread=False,
            timeout=30,
            isolation_level=None,  # explicit BEGIN/COMMIT in transaction()
            cached_statements=512,  # batched requests and IN (...) lists vary the SQL text
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        if self.path is not None:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        with self.lock:
            self._conn.executescript(SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    @property
    def conn(self) -> sqlite3.Connection:
        """The raw connection; hold `self.lock` while using it."""
        return self._conn

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        with self.lock:
            return self._conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: tuple | dict = ()) -> Any:
        with self.lock:
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """`with db.transaction() as conn:` — one writer at a time, all or nothing."""
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        return self.scalar("SELECT value FROM meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def is_empty(self) -> bool:
        return self.scalar("SELECT COUNT(*) FROM orgs") == 0

    def close(self) -> None:
        with self.lock:
            self._conn.close()
