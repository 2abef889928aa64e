"""The cache's tables and their migrations.

One row per resource, each with `fetched_at` (epoch seconds). Migrations are append-only:
migration N turns schema version N-1 into N; `PRAGMA user_version` holds the version.
"""

from __future__ import annotations

# "WBAD" — marks a file as wbadmin's cache, so a foreign SQLite file is never misread.
APPLICATION_ID = 0x57424144

MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sync_state (
        scope       TEXT PRIMARY KEY,      -- 'org', 'team:<name>', 'project:<team>/<name>', ...
        fetched_at  REAL,                  -- last successful refresh
        tried_at    REAL,                  -- last attempt
        error       TEXT                   -- last failure, one line; NULL when the last try worked
    );
    CREATE TABLE users (
        username        TEXT PRIMARY KEY,
        scim_id         TEXT,              -- SCIM's opaque id (NULL for service accounts)
        gql_id          TEXT,              -- GraphQL id, base64("User:<n>"); may differ
        name            TEXT,
        email           TEXT,
        org_role        TEXT,              -- admin | member | viewer; NULL when unknown
        active          INTEGER NOT NULL DEFAULT 1,
        account_type    TEXT NOT NULL DEFAULT 'USER',   -- USER | SERVICE
        seat            TEXT,              -- modelsSeat (Dedicated), NULL when not reported
        last_active_at  REAL,
        created_at      REAL,
        fetched_at      REAL NOT NULL
    );
    CREATE INDEX users_email ON users(email);
    CREATE TABLE teams (
        name                TEXT PRIMARY KEY,
        id                  TEXT,
        storage_bytes       INTEGER,
        member_count        INTEGER NOT NULL DEFAULT 0,
        service_accounts    INTEGER NOT NULL DEFAULT 0,
        project_count       INTEGER,       -- NULL until the team's projects are fetched
        last_activity_at    REAL,
        readable            INTEGER NOT NULL DEFAULT 1,  -- 0: the identity may not read it
        fetched_at          REAL NOT NULL
    );
    CREATE TABLE team_members (
        team            TEXT NOT NULL,
        username        TEXT NOT NULL,
        user_id         TEXT,
        email           TEXT,
        name            TEXT,
        role            TEXT NOT NULL,     -- admin | member | viewer | <custom role name>
        custom          INTEGER NOT NULL DEFAULT 0,
        account_type    TEXT NOT NULL DEFAULT 'USER',
        seq             INTEGER NOT NULL,  -- W&B's listing order
        fetched_at      REAL NOT NULL,
        PRIMARY KEY (team, username)
    );
    CREATE INDEX team_members_user ON team_members(username);
    CREATE TABLE invites (
        team        TEXT NOT NULL,
        id          TEXT NOT NULL,
        email       TEXT,
        username    TEXT,
        created_at  REAL,
        fetched_at  REAL NOT NULL,
        PRIMARY KEY (team, id)
    );
    CREATE TABLE projects (
        team            TEXT NOT NULL,
        name            TEXT NOT NULL,
        id              TEXT,
        access          TEXT,
        owner           TEXT,
        run_count       INTEGER,
        last_run_at     REAL,
        storage_bytes   INTEGER,
        created_at      REAL,
        updated_at      REAL,
        fetched_at      REAL NOT NULL,
        PRIMARY KEY (team, name)
    );
    CREATE INDEX projects_name ON projects(name);
    CREATE TABLE custom_roles (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        description     TEXT,
        inherited_from  TEXT,
        permissions     TEXT NOT NULL DEFAULT '[]',
        fetched_at      REAL NOT NULL
    );
    CREATE TABLE registries (
        name        TEXT PRIMARY KEY,      -- without the wandb-registry- prefix
        id          TEXT,
        description TEXT,
        access      TEXT,
        fetched_at  REAL NOT NULL
    );
    CREATE TABLE registry_members (
        registry    TEXT NOT NULL,
        kind        TEXT NOT NULL,         -- user | team
        name        TEXT NOT NULL,
        role        TEXT NOT NULL,
        fetched_at  REAL NOT NULL,
        PRIMARY KEY (registry, kind, name)
    );
    CREATE TABLE collections (
        registry        TEXT NOT NULL,
        name            TEXT NOT NULL,
        id              TEXT,
        type            TEXT,
        description     TEXT,
        tags            TEXT NOT NULL DEFAULT '[]',
        version_count   INTEGER,
        fetched_at      REAL NOT NULL,
        PRIMARY KEY (registry, name)
    );
    CREATE TABLE versions (
        registry        TEXT NOT NULL,
        collection      TEXT NOT NULL,
        version_index   INTEGER NOT NULL,
        id              TEXT,
        aliases         TEXT NOT NULL DEFAULT '[]',
        tags            TEXT NOT NULL DEFAULT '[]',
        metadata        TEXT NOT NULL DEFAULT '{}',
        created_at      REAL,
        fetched_at      REAL NOT NULL,
        PRIMARY KEY (registry, collection, version_index)
    );
    """,
    # 2: quotas — the incremental run-usage store and webhook alert delivery state.
    """
    CREATE TABLE quota_runs (
        team          TEXT NOT NULL,
        project       TEXT NOT NULL,
        name          TEXT NOT NULL,       -- the run id
        display_name  TEXT,
        username      TEXT,
        state         TEXT NOT NULL,
        created_at    REAL NOT NULL,       -- server time
        heartbeat_at  REAL NOT NULL,       -- server time; the end of a run that is not running
        gpus          INTEGER NOT NULL DEFAULT 0,
        gpu_known     INTEGER NOT NULL DEFAULT 1,  -- 0: no GPU facts (counted as 0 GPUs)
        PRIMARY KEY (team, project, name)
    );
    CREATE INDEX quota_runs_heartbeat ON quota_runs(heartbeat_at);
    CREATE INDEX quota_runs_state ON quota_runs(state);
    CREATE INDEX quota_runs_missing ON quota_runs(team) WHERE gpu_known = 0;
    -- GPU-seconds of ended runs per UTC day (running runs are added live, up to now).
    CREATE TABLE quota_daily (
        team         TEXT NOT NULL,
        project      TEXT NOT NULL,
        day          INTEGER NOT NULL,     -- days since 1970-01-01 (UTC)
        gpu_seconds  REAL NOT NULL,
        PRIMARY KEY (team, project, day)
    );
    CREATE TABLE quota_projects (
        team        TEXT NOT NULL,
        project     TEXT NOT NULL,
        updated_at  REAL,                  -- the project's updatedAt when last read
        PRIMARY KEY (team, project)
    );
    CREATE TABLE quota_teams (
        team           TEXT PRIMARY KEY,
        storage_bytes  INTEGER,
        fetched_at     REAL NOT NULL
    );
    CREATE TABLE quota_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE quota_alerts (
        scope      TEXT NOT NULL,          -- team, or team/project
        metric     TEXT NOT NULL,          -- gpu_hours | storage_gb | concurrent_runs
        period     TEXT NOT NULL,          -- the period's key, e.g. 2026-11
        threshold  INTEGER NOT NULL,       -- percent of the hard limit
        basis      TEXT NOT NULL,          -- actual | forecast
        sent_at    REAL NOT NULL,
        delivered  INTEGER NOT NULL,       -- webhooks that took it
        failed     INTEGER NOT NULL,       -- webhooks that did not (no retry next time)
        PRIMARY KEY (scope, metric, period, threshold, basis)
    );
    """,
    # 3: quota_daily summed per team, kept with it: the team gauges and sparklines read
    # 30,000 rows instead of grouping 450,000 (huge org) on every report; fewer indexes
    # on quota_runs.
    """
    CREATE TABLE quota_team_daily (
        team         TEXT NOT NULL,
        day          INTEGER NOT NULL,
        gpu_seconds  REAL NOT NULL,
        PRIMARY KEY (team, day)
    );
    INSERT INTO quota_team_daily
        SELECT team, day, SUM(gpu_seconds) FROM quota_daily GROUP BY team, day;
    -- One index for "running runs silent since" and, covering, for every report's read of
    -- the running runs (35,000 in a huge org); a refresh rewrites thousands of runs, each
    -- once per index.
    DROP INDEX quota_runs_heartbeat;
    DROP INDEX quota_runs_state;
    CREATE INDEX quota_runs_running
        ON quota_runs(state, heartbeat_at, team, project, created_at, gpus);
    """,
    # 4: invite dates read from the audit log incrementally (invite_log.py): the invites it
    # showed, and the one time range of it read in full, so a sync reads only what is new.
    """
    CREATE TABLE invite_events (
        team     TEXT NOT NULL,
        email    TEXT NOT NULL,            -- lower-cased
        sent_at  REAL NOT NULL,
        PRIMARY KEY (team, email, sent_at)
    );
    CREATE TABLE invite_log_read (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        path        TEXT NOT NULL,         -- the audit API path that answered
        read_from   REAL NOT NULL,         -- a UTC day's start: read in full from here...
        read_until  REAL NOT NULL          -- ...up to here
    );
    """,
    # 5: W&B's audit log read incrementally for `wbadmin audit` (audit_store.py): every entry
    # read, deduplicated by its key (entries have no id), and the time range read in full,
    # kept apart for anonymized reads (`variant`), whose entries lack the PII fields.
    """
    CREATE TABLE audit_events (
        variant  TEXT NOT NULL,            -- full | anonymized
        key      TEXT NOT NULL,            -- timestamp, action, actor and assets, hashed
        at       REAL NOT NULL,            -- the entry's timestamp (epoch seconds)
        action   TEXT NOT NULL,
        entry    TEXT NOT NULL,            -- the entry as W&B sent it (JSON)
        PRIMARY KEY (variant, key)
    );
    CREATE INDEX audit_events_at ON audit_events(variant, at);
    CREATE TABLE audit_log_read (
        variant     TEXT PRIMARY KEY,
        path        TEXT NOT NULL,         -- the audit API path that answered
        read_from   REAL NOT NULL,         -- a UTC day's start: read in full from here...
        read_until  REAL NOT NULL          -- ...up to here
    );
    """,
    # 6: service-account facts (access/service_accounts.py): what W&B's user listing and
    # audit log say of each account. Key ids and descriptions only: never a key's value,
    # nor its `name` (see SA_USERS there).
    """
    CREATE TABLE sa_facts (
        username       TEXT PRIMARY KEY,
        gql_id         TEXT,
        name           TEXT,               -- User.name: a service account's description
        teams          TEXT NOT NULL DEFAULT '[]',  -- User.teams, as the user listing says
        last_key_at    REAL,               -- newest user:create_api_key for it, if logged
        last_event_at  REAL,               -- newest audit event it was the actor of
        run_teams      TEXT NOT NULL DEFAULT '[]',  -- teams whose runs its events updated
        fetched_at     REAL NOT NULL
    );
    CREATE TABLE sa_keys (
        username     TEXT NOT NULL,
        key_id       TEXT NOT NULL,
        description  TEXT,
        PRIMARY KEY (username, key_id)
    );
    CREATE TABLE sa_read (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        keys_readable  INTEGER NOT NULL,   -- the user listing answered (org admins)
        log_from       REAL,               -- the audit log was read from here...
        log_until      REAL,               -- ...to here; NULL: not readable
        note           TEXT,               -- why something could not be read
        fetched_at     REAL NOT NULL
    );
    """,
    # 7: what run policies judge, kept with each run by the quota refresh (one reader for
    # both): its tags and top-level config keys (JSON lists; NULL: read before this). The
    # watermark goes so that the next refresh is a full one and fills them.
    """
    ALTER TABLE quota_runs ADD COLUMN tags TEXT;
    ALTER TABLE quota_runs ADD COLUMN config_keys TEXT;
    DELETE FROM quota_state WHERE key = 'watermark';
    -- Run-policy notices posted to webhooks, once per run and rule (the server's cache,
    -- as quota alerts: a key switch never posts one again).
    CREATE TABLE policy_notices (
        team       TEXT NOT NULL,
        project    TEXT NOT NULL,
        run        TEXT NOT NULL,
        rule       TEXT NOT NULL,
        sent_at    REAL NOT NULL,
        delivered  INTEGER NOT NULL,
        failed     INTEGER NOT NULL,
        PRIMARY KEY (team, project, run, rule)
    );
    -- Each stored run's verdict under the run policy (governance/verdict_store.py), so a
    -- check judges only the runs that changed: a run written again loses its verdict (the
    -- triggers), a changed policy all of them.
    CREATE TABLE policy_verdicts (
        team        TEXT NOT NULL,
        project     TEXT NOT NULL,
        name        TEXT NOT NULL,
        username    TEXT,
        created_at  REAL NOT NULL,
        running     INTEGER NOT NULL,
        judged      INTEGER NOT NULL,      -- some rule in force applies to it
        unknown     INTEGER NOT NULL,      -- a rule lacks its facts (and none is broken)
        broken      TEXT,                  -- JSON [[rule id, why], ...]; NULL: complies
        broken_ids  TEXT,                  -- the broken rules' ids, comma-joined (grouping)
        PRIMARY KEY (team, project, name)
    );
    CREATE INDEX policy_verdicts_broken ON policy_verdicts(team) WHERE broken IS NOT NULL;
    CREATE TRIGGER quota_runs_rejudge AFTER UPDATE ON quota_runs BEGIN
        DELETE FROM policy_verdicts WHERE team = OLD.team AND project = OLD.project
            AND name = OLD.name;
    END;
    CREATE TRIGGER quota_runs_gone AFTER DELETE ON quota_runs BEGIN
        DELETE FROM policy_verdicts WHERE team = OLD.team AND project = OLD.project
            AND name = OLD.name;
    END;
    """,
    # 8: people's keys (access/service_accounts.py), from the same user listing as the
    # service accounts' (org admins): one row per person the listing returned. Key ids and
    # descriptions only, as for sa_keys: never a value, nor a `name`.
    """
    CREATE TABLE person_keys (
        username    TEXT PRIMARY KEY,
        keys        TEXT NOT NULL DEFAULT '[]',  -- [{"id", "description"}], by id
        fetched_at  REAL NOT NULL
    );
    """,
    # 9: the runs that produced registry versions (promotions/ownership.py), per artifact id:
    # W&B never changes an artifact's producing run, so a row is read once.
    """
    CREATE TABLE version_runs (
        artifact_id  TEXT PRIMARY KEY,
        run_entity   TEXT,                 -- NULL (all three): W&B names no producing run
        run_project  TEXT,
        run_name     TEXT,
        fetched_at   REAL NOT NULL
    );
    """,
    # 10: run-policy figures kept up to date instead of grouped from every verdict on each
    # check (governance/verdict_store.py). A write of a stored run queues it to be judged
    # again (`policy_unjudged`, only while the kept verdicts are live: `policy_live` in
    # quota_state); the judge then moves the per-place, per-day and per-offender counts by
    # what its verdicts changed. Every verdict is judged again once, with its counts. (Not
    # INSERT OR IGNORE: a trigger's conflict clause gives way to the upsert that fired it.)
    """
    DROP TRIGGER quota_runs_rejudge;
    DROP TRIGGER quota_runs_gone;
    DELETE FROM policy_verdicts;
    CREATE INDEX policy_verdicts_running ON policy_verdicts(team, project, name)
        WHERE running = 1;
    CREATE TABLE policy_unjudged (
        team     TEXT NOT NULL,
        project  TEXT NOT NULL,
        name     TEXT NOT NULL,
        PRIMARY KEY (team, project, name)
    ) WITHOUT ROWID;
    CREATE TABLE policy_place_counts (     -- judged runs per place and broken-rule set
        team        TEXT NOT NULL,
        project     TEXT NOT NULL,
        broken_ids  TEXT NOT NULL,         -- comma-joined rule ids; '' = complies
        n           INTEGER NOT NULL,
        unknown     INTEGER NOT NULL,
        PRIMARY KEY (team, project, broken_ids)
    ) WITHOUT ROWID;
    CREATE TABLE policy_day_counts (       -- judged and violating runs per creation day
        team  TEXT NOT NULL,
        day   INTEGER NOT NULL,
        n     INTEGER NOT NULL,
        bad   INTEGER NOT NULL,
        PRIMARY KEY (team, day)
    ) WITHOUT ROWID;
    CREATE TABLE policy_offender_counts (  -- violating runs per owner
        team      TEXT NOT NULL,
        username  TEXT NOT NULL,
        n         INTEGER NOT NULL,
        PRIMARY KEY (team, username)
    ) WITHOUT ROWID;
    CREATE TRIGGER quota_runs_queue_new AFTER INSERT ON quota_runs
        WHEN EXISTS (SELECT 1 FROM quota_state WHERE key = 'policy_live') BEGIN
        INSERT INTO policy_unjudged SELECT NEW.team, NEW.project, NEW.name WHERE NOT EXISTS
            (SELECT 1 FROM policy_unjudged WHERE team = NEW.team AND project = NEW.project
             AND name = NEW.name);
    END;
    CREATE TRIGGER quota_runs_queue_changed AFTER UPDATE ON quota_runs
        WHEN EXISTS (SELECT 1 FROM quota_state WHERE key = 'policy_live') BEGIN
        INSERT INTO policy_unjudged SELECT NEW.team, NEW.project, NEW.name WHERE NOT EXISTS
            (SELECT 1 FROM policy_unjudged WHERE team = NEW.team AND project = NEW.project
             AND name = NEW.name);
    END;
    CREATE TRIGGER quota_runs_queue_gone AFTER DELETE ON quota_runs
        WHEN EXISTS (SELECT 1 FROM quota_state WHERE key = 'policy_live') BEGIN
        INSERT INTO policy_unjudged SELECT OLD.team, OLD.project, OLD.name WHERE NOT EXISTS
            (SELECT 1 FROM policy_unjudged WHERE team = OLD.team AND project = OLD.project
             AND name = OLD.name);
    END;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
